import { describe, expect, it } from 'vitest'
import { clients, evenSpread, longestGapMs, outcomes, timelineOf, unanswered } from './traffic.ts'

describe('evenSpread', () => {
  it("gives Pearson's statistic and its p-value against an even split", () => {
    // (10² + 10² + 0²) / 100 = 2 with 2 degrees of freedom: p = e^-1.
    const spread = evenSpread([110, 90, 100])
    expect(spread.statistic).toBeCloseTo(2, 10)
    expect(spread.degreesOfFreedom).toBe(2)
    expect(spread.pValue).toBeCloseTo(Math.exp(-1), 6)
  })

  it('counts a replica that served nothing', () => {
    const spread = evenSpread([150, 150], 3)
    expect(spread.degreesOfFreedom).toBe(2)
    expect(spread.pValue).toBeLessThan(1e-6)
  })
})

describe('unanswered', () => {
  it('keeps every reply that is not a 2xx, and every request that got none', () => {
    const replies = [
      { at: 0, status: 200, ms: 1 },
      { at: 1, status: 204, ms: 1 },
      { at: 3, status: 502, ms: 1 },
      { at: 4, status: 0, ms: 1, error: 'ECONNRESET' },
      { at: 5, status: 301, ms: 1 },
      { at: 6, status: 404, ms: 1 },
    ]
    expect(unanswered(replies).map(({ at }) => at)).toEqual([3, 4, 5, 6])
  })
})

describe('longestGapMs', () => {
  it('is the longest time between two 2xx answers in the order they came, from the start and to the end, failures counting as none', () => {
    expect(
      longestGapMs([
        { at: 0, ms: 10, status: 200 },
        { at: 5, ms: 1_000, status: 502 },
        { at: 20, ms: 5, status: 200 },
        { at: 30, ms: 2_000, status: 200 },
        { at: 40, ms: 10, status: 0, error: 'other side closed' },
      ]),
    ).toBe(2_005)
    expect(longestGapMs([{ at: 0, ms: 1, status: 200 }])).toBe(1)
    // No answer at all: the whole traffic is one gap.
    expect(longestGapMs([{ at: 0, ms: 700, status: 502 }])).toBe(700)
    // Failing to the end: the gap runs on from the last answer.
    expect(
      longestGapMs([
        { at: 0, ms: 10, status: 200 },
        { at: 20, ms: 5, status: 502 },
        { at: 3_000, ms: 10, status: 502 },
      ]),
    ).toBe(3_000)
    expect(longestGapMs([])).toBe(0)
  })
})

describe('timelineOf', () => {
  it('counts replies by when they were sent, answered apart from failed, and keeps the events', () => {
    expect(
      timelineOf(
        [
          { at: 10, ms: 5, status: 200 },
          { at: 120, ms: 5, status: 502 },
          { at: 130, ms: 900, status: 0, error: 'reset' },
          { at: 250, ms: 5, status: 200 },
        ],
        [{ label: 'replica stopped', atMs: 100.4 }],
      ),
    ).toEqual({ bucketMs: 100, ok: [1, 0, 1], failed: [0, 2, 0], events: [{ label: 'replica stopped', atMs: 100 }] })
  })
})

describe('outcomes', () => {
  it('counts each kind of reply once, an error by its message', () => {
    expect(
      outcomes([
        { at: 0, ms: 1, status: 502 },
        { at: 0, ms: 1, status: 0, error: 'other side closed' },
        { at: 0, ms: 1, status: 502 },
      ]),
    ).toBe('HTTP 502 ×2, other side closed ×1')
  })
})

describe('clients', () => {
  it('sends each numbered request once, never more than `concurrency` at a time, up to `total`', async () => {
    let inFlight = 0
    let most = 0
    const results = await clients(
      3,
      async (index) => {
        most = Math.max(most, (inFlight += 1))
        await new Promise((resolve) => setTimeout(resolve, 1))
        inFlight -= 1
        return index
      },
      10,
    ).done
    expect({ sent: [...results].sort((a, b) => a - b), most }).toEqual({
      sent: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      most: 3,
    })
  })

  it('keeps sending until stopped, then waits for what is in flight', async () => {
    const load = clients(2, (index) => new Promise<number>((resolve) => setTimeout(() => resolve(index), 1)))
    await expect.poll(() => load.results.length, { message: 'the clients sent nothing' }).toBeGreaterThan(2)
    const results = await load.stop()
    expect(results.length).toBeGreaterThan(2)
    expect(load.results).toBe(results)
  })
  it('go on for a span of time after stopAfter, and stop by themselves at its end', async () => {
    const load = clients(2, () => new Promise<number>((resolve) => setTimeout(() => resolve(performance.now()), 5)))
    const from = performance.now()
    const results = await load.stopAfter(100)
    expect(Math.max(...results) - from).toBeGreaterThanOrEqual(100)
    expect(Math.max(...results) - from).toBeLessThan(1_000)
  })
})
