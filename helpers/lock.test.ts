import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { withLock } from './lock.ts'

describe('a lock between runs', () => {
  it('lets one holder work at a time', async () => {
    const name = `test-${process.pid}-${Date.now()}`
    const events: string[] = []
    const work = (who: string) =>
      withLock(name, async () => {
        events.push(`${who} in`)
        await new Promise((resolve) => setImmediate(resolve))
        events.push(`${who} out`)
      })
    await Promise.all([work('a'), work('b')])
    expect(events).toEqual(['a in', 'a out', 'b in', 'b out'])
  })

  it('takes over a lock whose holder is gone', async () => {
    const name = `test-stale-${process.pid}-${Date.now()}`
    const dir = join(tmpdir(), `banyan-verify-${name}.lock`)
    mkdirSync(dir)
    // No process has this pid on Linux (pid_max is at most 2^22).
    writeFileSync(join(dir, 'pid'), String(2 ** 22 + 1))
    expect(await withLock(name, () => Promise.resolve('taken'), 5_000)).toBe('taken')
  })
})
