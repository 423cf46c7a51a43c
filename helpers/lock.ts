// A lock between processes of this machine, for work that two runs side by side must not do at
// once: bundling the services and building their images writes the same files and tags (the
// negative controls run two main jobs at a time). A folder, made atomically, holding its owner's
// pid; a lock whose owner is gone is stale, and taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/** Runs `work` holding the lock `name`, waiting up to `timeoutMs` for another holder to let go. */
export async function withLock<T>(name: string, work: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const dir = join(tmpdir(), `banyan-verify-${name}.lock`)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      mkdirSync(dir)
      writeFileSync(join(dir, 'pid'), String(process.pid))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      let owner: number
      try {
        owner = Number(readFileSync(join(dir, 'pid'), 'utf8'))
      } catch {
        // Made a moment ago, its pid not written yet: the holder is alive.
        owner = process.pid
      }
      if (owner > 0 && owner !== process.pid && !alive(owner)) rmSync(dir, { recursive: true, force: true })
      else if (Date.now() > deadline)
        throw new Error(`waited ${timeoutMs / 1000} s for the ${name} lock (${dir})`, { cause: error })
      // Another run holds it for a build of some seconds: look again shortly.
      else await delay(200)
    }
  }
  try {
    return await work()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
