import { describe, expect, it } from 'vitest'
import { shortenedRanges } from './alerting.ts'

describe("the run's copy of the alerting rules", () => {
  it('shortens every range longer than 20s to 20s and leaves shorter ones and durations outside ranges alone', () => {
    expect(
      shortenedRanges('sum(rate(x{code=~"5.."}[1m])) / sum(rate(x[5m])) > 0.05 and y[10s] and z[1d] offset 5m'),
    ).toBe('sum(rate(x{code=~"5.."}[20s])) / sum(rate(x[20s])) > 0.05 and y[10s] and z[20s] offset 5m')
  })

  it('shortens compound ranges and subquery ranges, keeping the step, and leaves short ones alone', () => {
    expect(shortenedRanges('rate(x[1m30s]) and max_over_time(rate(y[1m])[5m:30s]) and z[15s:5s] and w[10s500ms]')).toBe(
      'rate(x[20s]) and max_over_time(rate(y[20s])[20s:30s]) and z[15s:5s] and w[10s500ms]',
    )
  })
})
