// This machine's CPU: how busy it was (from /proc/stat, the kernel's own count for every core),
// and a bounded way to make it busy, for checks that must give the same verdict on a shared,
// loaded machine as on an idle one.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** CPU time the whole machine spent busy and in all, in seconds, since boot (/proc/stat's first line). */
export function machineCpu(stat: string = readFileSync('/proc/stat', 'utf8')): { busy: number; total: number } {
  // user nice system idle iowait irq softirq steal, in clock ticks (100 a second on Linux).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = (
    stat.split('\n')[0] ?? ''
  )
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  const busy = user + nice + system + irq + softirq + steal
  return { busy: busy / 100, total: (busy + idle + iowait) / 100 }
}

/**
 * `processes` busy loops on this machine, each ending by itself after `maxMs` (coreutils' timeout)
 * should nothing stop it first, even when the process that started it is gone; disposing of the
 * hog stops them at once. `groups` are their process groups.
 */
export function cpuHog(processes: number, maxMs: number): AsyncDisposable & { groups: number[] } {
  const loops = Array.from({ length: processes }, () =>
    // timeout leads a process group of its own with its loop in it.
    spawn('timeout', [String(Math.ceil(maxMs / 1000)), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }),
  )
  return {
    groups: loops.map((loop) => loop.pid ?? 0),
    [Symbol.asyncDispose]: async () => {
      await Promise.all(
        loops.map(
          (loop) =>
            new Promise<void>((resolve) => {
              if (loop.exitCode !== null || loop.signalCode !== null) {
                resolve()
                return
              }
              loop.on('exit', () => resolve())
              // The whole group: timeout and its loop alike.
              process.kill(-(loop.pid ?? 0), 'SIGTERM')
            }),
        ),
      )
    },
  }
}
