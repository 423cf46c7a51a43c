import { describe, expect, it } from 'vitest'
import { quotaVerdict } from './cgroup.ts'

// Two seconds of busy work under 0.1 CPU in 100 ms periods: 20 periods of 10 ms each.
const limit = { cpus: 0.1, periodUs: 100_000, busySeconds: 2 }
const start = { usageNs: 5e9, periods: 100, throttledPeriods: 3 }
const after = (usedMs: number, periods: number, throttled: number) => ({
  usageNs: start.usageNs + usedMs * 1e6,
  periods: start.periods + periods,
  throttledPeriods: start.throttledPeriods + throttled,
})

describe('quotaVerdict', () => {
  it('accepts busy work held to its quota in most of its periods', () => {
    expect(quotaVerdict(start, after(241, 24, 24), limit, 230e6).verdict).toEqual({
      heldBack: true,
      reachedQuota: true,
      withinQuota: true,
    })
  })

  it('rejects work that ran past the quota: a limit that is not enforced', () => {
    expect(quotaVerdict(start, after(3_000, 25, 0), limit, 2_900e6).verdict).toMatchObject({
      heldBack: false,
      withinQuota: false,
    })
  })

  it('rejects a throttle or two with little work behind it: the busy work ran outside the limit', () => {
    expect(quotaVerdict(start, after(30, 20, 2), limit, 25e6).verdict).toMatchObject({
      heldBack: false,
      reachedQuota: false,
    })
  })

  it('rejects a quota the service’s own work reached while the busy work did little: it proves nothing of the limit', () => {
    expect(quotaVerdict(start, after(240, 24, 24), limit, 10e6).verdict).toMatchObject({
      heldBack: true,
      reachedQuota: false,
    })
  })
})
