import { describe, expect, it } from 'vitest'
import { shortenedRanges } from './alerting.ts'

describe("the run's copy of the alerting rules", () => {
  it('shortens every range longer than 20s to 20s and leaves shorter ones and durations outside ranges alone', () => {
    expect(
      shortenedRanges('sum(rate(x{code=~"5.."}[1m])) / sum(rate(x[5m])) > 0.05 and y[10s] and z[1d] offset 5m'),
    ).toBe('sum(rate(x{code=~"5.."}[20s])) / sum(rate(x[20s])) > 0.05 and y[10s] and z[20s] offset 5m')
  })
})
