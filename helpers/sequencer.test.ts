import { describe, expect, it } from 'vitest'
import { splitByCost } from './sequencer.ts'

// The areas' control files as they are weighed (controls of each, one unit a control), the
// busy-machine control and a dozen quick files.
const items = [
  ...[3, 8, 6, 7, 4, 3, 4, 3, 4, 2, 3].map((controls, at) => ({ key: `controls:${at}`, cost: 27 * controls })),
  { key: 'runs:busy', cost: 500 },
  ...Array.from({ length: 12 }, (_, at) => ({ key: `unit:${at}`, cost: 5 })),
]

describe('splitting files across shards by cost', () => {
  const loadsOf = (shards: number[], count: number, headStart: number): number[] =>
    Array.from({ length: count }, (_, index) =>
      items
        .filter((_, at) => shards[at] === index + 1)
        .reduce((sum, { cost }) => sum + cost, index === 0 ? headStart : 0),
    )
  const largest = Math.max(...items.map(({ cost }) => cost))

  it.for([1, 2, 3, 4])(
    '%i shards: every file in exactly one, no shard more than the largest file over another',
    (count) => {
      const shards = splitByCost(items, count)
      const loads = loadsOf(shards, count, 0)
      expect({
        everyFileOnce: shards.every((shard) => Number.isInteger(shard) && shard >= 1 && shard <= count),
        spread: Math.max(...loads) - Math.min(...loads) <= largest,
      }).toEqual({ everyFileOnce: true, spread: true })
    },
  )

  it('the first shard, which runs the main job after its tests, takes that much less of the rest', () => {
    const [first = 0, ...others] = loadsOf(splitByCost(items, 2, 1000), 2, 1000)
    expect(others.map((load) => Math.abs(first - load) <= largest)).toEqual([true])
  })

  it('is the same split whatever order the files come in', () => {
    const reversed = [...items].reverse()
    const byKey = (split: number[], list: typeof items): Record<string, number> =>
      Object.fromEntries(list.map(({ key }, at) => [key, split[at] ?? 0]))
    expect(byKey(splitByCost(reversed, 3, 1000), reversed)).toEqual(byKey(splitByCost(items, 3, 1000), items))
  })
})
