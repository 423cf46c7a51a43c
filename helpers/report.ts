import { existsSync, readFileSync } from 'node:fs'

export type ClaimStatus = 'verified' | 'refuted' | 'waived' | 'not verifiable here'

/**
 * A failure a stack knowingly has, committed beside it with the reason. `test` narrows it to the
 * tests whose name contains it, so a waiver never hides a different failure of the same claim.
 */
export interface Waiver {
  claim: string
  test?: string
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
}

// What the summary reads from vitest's JSON reporter.
interface VitestJson {
  testResults: {
    message?: string
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[]
  }[]
}

export const claimIds = (name: string): string[] =>
  [...name.matchAll(/\[([A-Z]{2}-\d+)\]/g)].map((match) => match[1] ?? '')

/** Outcomes of every test vitest ran; a file that failed to load counts as one failed test. */
export function readOutcomes(file: string): TestOutcome[] {
  if (!existsSync(file)) return []
  const results = (JSON.parse(readFileSync(file, 'utf8')) as VitestJson).testResults
  return results.flatMap(({ assertionResults, message }) => {
    const loadFailure: TestOutcome[] =
      assertionResults.length === 0 && message ? [{ name: 'test file', status: 'failed', message }] : []
    return [
      ...loadFailure,
      ...assertionResults.map(({ fullName, status, failureMessages }): TestOutcome => {
        const outcome = status === 'passed' ? 'passed' : status === 'failed' ? 'failed' : 'skipped'
        return failureMessages.length > 0
          ? { name: fullName, status: outcome, message: failureMessages.join('\n').split('\n')[0] ?? '' }
          : { name: fullName, status: outcome }
      }),
    ]
  })
}

const waiverFor = (outcome: TestOutcome, claim: string, waivers: readonly Waiver[]): Waiver | undefined =>
  waivers.find((waiver) => waiver.claim === claim && (waiver.test === undefined || outcome.name.includes(waiver.test)))

/**
 * A claim is refuted by any failed test no waiver covers, waived when a waiver covers every failed
 * test, verified when every test passed, and not verifiable otherwise.
 */
export function summariseClaims(outcomes: readonly TestOutcome[], waivers: readonly Waiver[] = []): ClaimResult[] {
  const byClaim = new Map<string, TestOutcome[]>()
  for (const outcome of outcomes) {
    for (const id of claimIds(outcome.name)) byClaim.set(id, [...(byClaim.get(id) ?? []), outcome])
  }
  return [...byClaim.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([id, tests]): ClaimResult => {
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

/** The gate: every failed test is covered by a waiver of a claim it names. A failure that names no claim is never waived. */
export function gatePasses(outcomes: readonly TestOutcome[], waivers: readonly Waiver[]): boolean {
  return outcomes.every(
    (outcome) =>
      outcome.status !== 'failed' || claimIds(outcome.name).some((id) => waiverFor(outcome, id, waivers) !== undefined),
  )
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
    return {
      claim: waiver.claim,
      reason: waiver.reason,
      ...(typeof waiver.test === 'string' ? { test: waiver.test } : {}),
    }
  })
}

export function describeClaims(claims: readonly ClaimResult[]): string {
  const count = (status: ClaimStatus): number => claims.filter((claim) => claim.status === status).length
  const refuted = claims.filter((claim) => claim.status === 'refuted').map((claim) => claim.id)
  const waived = claims.filter((claim) => claim.status === 'waived').map((claim) => claim.id)
  return `${count('verified')} claims verified, ${count('refuted')} refuted${refuted.length > 0 ? ` (${refuted.join(', ')})` : ''}, ${count('waived')} waived${waived.length > 0 ? ` (${waived.join(', ')})` : ''}, ${count('not verifiable here')} not verifiable here`
}
