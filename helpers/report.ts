import { existsSync, readFileSync } from 'node:fs'

export type ClaimStatus = 'verified' | 'refuted' | 'not verifiable here'

export interface TestOutcome {
  name: string
  status: 'passed' | 'failed' | 'skipped'
  message?: string
}

export interface ClaimResult {
  id: string
  status: ClaimStatus
  tests: TestOutcome[]
}

export interface Summary {
  run: string
  /** The gate's verdict; an interrupted run has none. */
  outcome: 'passed' | 'failed' | 'interrupted'
  startedAt: string
  wallMs: number
  setup: Record<string, string | number | null | undefined>
  claims: ClaimResult[]
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

/** A claim is refuted by any failed test, verified when every test passed, and not verifiable otherwise. */
export function summariseClaims(outcomes: readonly TestOutcome[]): ClaimResult[] {
  const byClaim = new Map<string, TestOutcome[]>()
  for (const outcome of outcomes) {
    for (const id of claimIds(outcome.name)) byClaim.set(id, [...(byClaim.get(id) ?? []), outcome])
  }
  return [...byClaim.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([id, tests]) => ({
      id,
      status: tests.some((test) => test.status === 'failed')
        ? 'refuted'
        : tests.every((test) => test.status === 'passed')
          ? 'verified'
          : 'not verifiable here',
      tests,
    }))
}

export function describeClaims(claims: readonly ClaimResult[]): string {
  const count = (status: ClaimStatus): number => claims.filter((claim) => claim.status === status).length
  const refuted = claims.filter((claim) => claim.status === 'refuted').map((claim) => claim.id)
  return `${count('verified')} claims verified, ${count('refuted')} refuted${refuted.length > 0 ? ` (${refuted.join(', ')})` : ''}, ${count('not verifiable here')} not verifiable here`
}
