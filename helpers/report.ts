import { existsSync, readFileSync } from 'node:fs'
import type { Timeline } from './figures.ts'
import { CLAIMS } from './claims.ts'
import type { Cost } from './costs-reporter.ts'
import { compareVersions } from './versions.ts'

export type ClaimStatus = 'verified' | 'refuted' | 'waived' | 'not verifiable here' | 'not checked'

/**
 * A failure a stack knowingly has, committed beside it with the reason. It covers that failure and
 * nothing more: `test` narrows it to the test of that title (whole, not a part of it), `message`
 * (a regular expression the whole message must match, from its first character to its last) to
 * failures that say what it describes, `engine` and `compose` (version ranges such as
 * ">=20.10 <27") to the versions it was seen on, and `target` (compose or swarm) to one target.
 */
export interface Waiver {
  claim: string
  test?: string
  message?: string
  engine?: string
  compose?: string
  target?: string
  reason: string
}

export interface TestOutcome {
  name: string
  status: 'passed' | 'failed' | 'skipped'
  message?: string
  /** Where the stack's logs and state were kept when it failed. */
  evidence?: string
}

export interface ClaimResult {
  id: string
  status: ClaimStatus
  tests: TestOutcome[]
  /** Why its failures are accepted, when it is waived. */
  waivers?: string[]
  /** What its tests measured: times in ms, counts. */
  figures?: Record<string, number>
  /** Request outcomes over time its tests recorded, by name. */
  timelines?: Record<string, Timeline>
}

export interface Summary {
  run: string
  /** The gate's verdict; an interrupted run has none. */
  outcome: 'passed' | 'failed' | 'interrupted'
  startedAt: string
  wallMs: number
  setup: Record<string, string | number | null | undefined>
  claims: ClaimResult[]
  /** Waivers whose tests now pass: the claim holds, and the waiver can go. */
  staleWaivers?: Waiver[]
  /** Wall time and the machine's CPU seconds of the stack's start-up and of each suite. */
  costs?: Cost[]
}

export const claimIds = (name: string): string[] =>
  [...name.matchAll(/\[([A-Z]{2}-\d+)\]/g)].map((match) => match[1] ?? '')

/** The outcomes a vitest run wrote (helpers/outcomes-reporter.ts); none when it never got that far. */
export function readOutcomes(file: string): TestOutcome[] {
  if (!existsSync(file)) return []
  return JSON.parse(readFileSync(file, 'utf8')) as TestOutcome[]
}

const waiverFor = (outcome: TestOutcome, claim: string, waivers: readonly Waiver[]): Waiver | undefined =>
  waivers.find(
    (waiver) =>
      waiver.claim === claim &&
      (waiver.test === undefined || outcome.name === waiver.test || outcome.name.endsWith(` ${waiver.test}`)) &&
      (waiver.message === undefined || new RegExp(`^(?:${waiver.message})$`, 's').test(outcome.message ?? '')),
  )

/** Does a version satisfy a range of space-separated comparisons (">=20.10 <27", "=2.26")? */
export function inRange(version: string, range: string): boolean {
  return range
    .trim()
    .split(/\s+/)
    .every((part) => {
      const [, operator = '=', bound = ''] = /^(>=|<=|>|<|=)?(.+)$/.exec(part) ?? []
      const order = compareVersions(version, bound)
      return { '>=': order >= 0, '<=': order <= 0, '>': order > 0, '<': order < 0, '=': order === 0 }[operator]
    })
}

/** The waivers that apply to this engine, Compose and target; the others cover nothing in this run. */
export function applicableWaivers(
  waivers: readonly Waiver[],
  versions: { engine: string; compose: string },
  target = 'compose',
): Waiver[] {
  return waivers.filter(
    (waiver) =>
      (waiver.engine === undefined || inRange(versions.engine, waiver.engine)) &&
      (waiver.compose === undefined || inRange(versions.compose, waiver.compose)) &&
      (waiver.target === undefined || waiver.target === target),
  )
}

/**
 * Every claim of the list, in its order, answered: refuted by any failed test no waiver covers,
 * waived when a waiver covers every failed test, verified when every test passed, not verifiable
 * here when its tests were skipped for a reason decided before the run, and not checked when no
 * test of this run names it. A test that names a claim the list lacks still shows, after them.
 */
export function summariseClaims(
  outcomes: readonly TestOutcome[],
  waivers: readonly Waiver[] = [],
  claims: readonly string[] = CLAIMS.map(({ id }) => id),
): ClaimResult[] {
  const byClaim = new Map<string, TestOutcome[]>(claims.map((id) => [id, []]))
  for (const outcome of outcomes) {
    for (const id of claimIds(outcome.name)) byClaim.set(id, [...(byClaim.get(id) ?? []), outcome])
  }
  return [...byClaim.entries()].map(([id, tests]): ClaimResult => {
    if (tests.length === 0) return { id, status: 'not checked', tests }
    const failed = tests.filter((test) => test.status === 'failed')
    const covering = failed.map((test) => waiverFor(test, id, waivers))
    if (failed.length > 0 && covering.every((waiver) => waiver !== undefined)) {
      return { id, status: 'waived', tests, waivers: [...new Set(covering.map((waiver) => waiver.reason))] }
    }
    const status: ClaimStatus =
      failed.length > 0
        ? 'refuted'
        : tests.every((test) => test.status === 'passed')
          ? 'verified'
          : 'not verifiable here'
    return { id, status, tests }
  })
}

/** Waivers whose tests ran and passed: what they excused no longer happens. */
export function staleWaivers(outcomes: readonly TestOutcome[], waivers: readonly Waiver[]): Waiver[] {
  return waivers.filter((waiver) => {
    const covered = outcomes.filter(
      (outcome) =>
        waiverFor(outcome, waiver.claim, [waiver]) !== undefined && claimIds(outcome.name).includes(waiver.claim),
    )
    return covered.length > 0 && covered.every((outcome) => outcome.status === 'passed')
  })
}

/**
 * The gate: every failed test is covered, for every claim it names, by a waiver of that claim. A
 * test of two claims with one waived still refutes the other; a failure that names no claim is
 * never waived.
 */
export function gatePasses(outcomes: readonly TestOutcome[], waivers: readonly Waiver[]): boolean {
  return outcomes.every((outcome) => {
    if (outcome.status !== 'failed') return true
    const ids = claimIds(outcome.name)
    return ids.length > 0 && ids.every((id) => waiverFor(outcome, id, waivers) !== undefined)
  })
}

/** The committed waivers of a stack, each with its reason; a waiver without one is bad input. */
export function parseWaivers(text: string, file: string): Waiver[] {
  const parsed: unknown = JSON.parse(text)
  if (!Array.isArray(parsed)) throw new Error(`${file} must hold a list of waivers`)
  return parsed.map((entry: unknown, index) => {
    const waiver = entry as Partial<Waiver>
    if (typeof waiver.claim !== 'string' || !/^[A-Z]{2}-\d+$/.test(waiver.claim))
      throw new Error(`${file}: waiver ${index + 1} names no claim`)
    if (typeof waiver.reason !== 'string' || waiver.reason.trim() === '')
      throw new Error(`${file}: waiver ${index + 1} (${waiver.claim}) gives no reason`)
    const optional = (['test', 'message', 'engine', 'compose', 'target'] as const).filter(
      (key) => waiver[key] !== undefined,
    )
    for (const key of optional) {
      if (typeof waiver[key] !== 'string')
        throw new Error(`${file}: waiver ${index + 1} (${waiver.claim}): ${key} must be text`)
    }
    if (waiver.target !== undefined && !['compose', 'swarm'].includes(waiver.target))
      throw new Error(`${file}: waiver ${index + 1} (${waiver.claim}): target must be compose or swarm`)
    if (waiver.message !== undefined) {
      try {
        new RegExp(waiver.message)
      } catch {
        throw new Error(`${file}: waiver ${index + 1} (${waiver.claim}): message is not a regular expression`)
      }
    }
    return {
      claim: waiver.claim,
      reason: waiver.reason,
      ...Object.fromEntries(optional.map((key) => [key, waiver[key]])),
    }
  })
}

const STATUSES: readonly ClaimStatus[] = ['verified', 'refuted', 'waived', 'not verifiable here', 'not checked']

export function describeClaims(claims: readonly ClaimResult[]): string {
  return STATUSES.map((status) => {
    const ids = claims.filter((claim) => claim.status === status).map((claim) => claim.id)
    const named = status !== 'verified' && ids.length > 0 && ids.length <= 12 ? ` (${ids.join(', ')})` : ''
    return `${ids.length} ${status === 'waived' ? 'refuted but waived' : status}${named}`
  }).join(', ')
}

/** What did pass of a claim that is not verifiable here: the part this run could check, named. */
function checkedInstead(tests: readonly TestOutcome[]): string {
  const passed = tests.filter((test) => test.status === 'passed').map((test) => test.name)
  return passed.length === 0 ? '' : `; checked instead, and passed: ${passed.join('; ')}`
}

/** Why a waived claim's skipped tests did not run: a waiver must not hide what was not checked. */
function notCheckedToo(tests: readonly TestOutcome[]): string {
  const reasons = [
    ...new Set(tests.filter((test) => test.status === 'skipped' && test.message).map((test) => test.message)),
  ]
  return reasons.length === 0 ? '' : `; not checked here: ${reasons.join('; ')}`
}

/**
 * The closing table: one line a claim, in the guide's order, with why where it is not verified. A
 * waived claim reads "refuted, waived: <reason>", so nobody takes it for verified.
 */
export function claimTable(claims: readonly ClaimResult[]): string[] {
  return claims.map(({ id, status, tests, waivers }) => {
    const first = (wanted: TestOutcome['status']): string => {
      const test = tests.find((outcome) => outcome.status === wanted)
      return test === undefined ? '' : `: ${test.message ?? test.name}`
    }
    const why =
      status === 'refuted'
        ? first('failed')
        : status === 'waived'
          ? `: ${(waivers ?? []).join('; ')}${notCheckedToo(tests)}`
          : status === 'not verifiable here'
            ? `${first('skipped')}${checkedInstead(tests)}`
            : ''
    return `${id.padEnd(6)}${status === 'waived' ? 'refuted, waived' : status}${why}`
  })
}
