import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './config.ts'
import { PreflightError } from './errors.ts'
import { targetOf } from './config.ts'
import { NOT_ON_SWARM, SWARM_SUITES, swarmArgs } from './swarm-target.ts'

/** Each stack suite, by its path from the root, with the claims its test titles name. */
function suiteClaims(): Record<string, string[]> {
  const suites = readdirSync(join(ROOT, 'suites'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => join(ROOT, 'suites', file))
  return Object.fromEntries(
    suites.map((file) => [
      relative(ROOT, file),
      [...new Set([...readFileSync(file, 'utf8').matchAll(/\[([A-Z]{2}-\d+)\]/g)].map(([, id]) => id ?? ''))],
    ]),
  )
}

describe('the Swarm target', () => {
  it('is chosen by BANYAN_TARGET, Compose unless told; anything else stops the run as bad input', () => {
    expect(targetOf({})).toBe('compose')
    expect(targetOf({ BANYAN_TARGET: 'swarm' })).toBe('swarm')
    expect(() => targetOf({ BANYAN_TARGET: 'kubernetes' })).toThrow(
      new PreflightError("BANYAN_TARGET must be compose or swarm, not 'kubernetes'", 2),
    )
  })

  it('leaves no claim unsaid: each one that only the suites it skips check is answered as not verifiable on Swarm, with why', () => {
    const claims = suiteClaims()
    for (const suite of SWARM_SUITES) expect(existsSync(join(ROOT, suite)), suite).toBe(true)
    const onSwarm = new Set(SWARM_SUITES.flatMap((suite) => claims[suite] ?? []))
    const skipped = new Set(
      Object.entries(claims)
        .filter(([suite]) => !SWARM_SUITES.includes(suite))
        .flatMap(([, ids]) => ids)
        .filter((id) => !onSwarm.has(id)),
    )
    const said = NOT_ON_SWARM.flatMap(({ claims: ids }) => ids)
    expect({ unsaid: [...skipped].filter((id) => !said.includes(id)).sort() }).toEqual({ unsaid: [] })
    // A claim said to be left out whose checks do run on Swarm would be answered twice, and skipped.
    expect({ checkedAnyway: said.filter((id) => onSwarm.has(id)) }).toEqual({ checkedAnyway: [] })
    for (const { reason } of NOT_ON_SWARM) expect(reason).toMatch(/^on Swarm, /)
  })
})

describe("a Swarm run's vitest arguments", () => {
  it('run the suites that apply there, or those of the files named that are such a suite; a file that is none is bad input', () => {
    expect(swarmArgs(['-t', 'limits'])).toEqual(['-t', 'limits', ...SWARM_SUITES])
    expect(swarmArgs(['isolation', '-t', 'NI-2'])).toEqual(['-t', 'NI-2', 'suites/isolation.test.ts'])
    // Every disruptive suite by name, but only those that run on Swarm.
    expect(swarmArgs(['disruptive'])).toEqual([
      'suites/disruptive/slow-replica.test.ts',
      'suites/disruptive/limits-enforced.test.ts',
      'suites/disruptive/swarm-update.test.ts',
    ])
    expect(() => swarmArgs(['backup'])).toThrow(/^backup: on Swarm only lifecycle.test.ts, /)
  })
})
