import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { cpuHog, machineCpu } from './machine.ts'

describe('the machine', () => {
  it('reads busy and total CPU seconds from /proc/stat', () => {
    const stat = 'cpu  100 20 30 800 50 0 0 0 0 0\ncpu0 50 10 15 400 25 0 0 0 0 0\n'
    expect(machineCpu(stat)).toEqual({ busy: 1.5, total: 10 })
  })

  it('is made busy by a hog while it lasts, and idle again when it is disposed of', async () => {
    const before = machineCpu()
    const hog = cpuHog(2, 60_000)
    {
      await using _disposed = hog
      await expect
        .poll(() => machineCpu().busy - before.busy, { timeout: 10_000, message: 'the hog used no CPU' })
        .toBeGreaterThan(0.5)
    }
    const left = spawnSync('pgrep', ['-g', hog.groups.join(',')], { encoding: 'utf8' })
    expect(left.stdout.trim(), 'processes of the hog outlived it').toBe('')
  })
})
