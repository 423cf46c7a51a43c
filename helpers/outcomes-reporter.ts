// A vitest reporter that writes every test's outcome as the gate must judge it, to the file
// BANYAN_OUTCOMES names. Vitest's JSON reporter loses what happens outside a test body: a
// beforeAll that throws leaves its tests "skipped", an afterAll that throws leaves them "passed",
// and an unhandled rejection belongs to no test. Here each of those fails the tests it blocks, so
// their claims are refuted, never "not verifiable here".
import { writeFileSync } from 'node:fs'
import type { Reporter, TestModule } from 'vitest/node'
import type { TestOutcome } from './report.ts'

/** The parts of vitest's reported tasks this reads, so the rules can be tested on plain data. */
export interface ReportedSuite {
  /** A describe block's name; a module has none that counts. */
  readonly name: string
  readonly type: 'suite' | 'module'
  errors(): readonly { message: string }[]
}

export type ReportedResult =
  | { state: 'passed' }
  | { state: 'pending' }
  | { state: 'failed'; errors: readonly { message: string }[] }
  | { state: 'skipped'; note?: string }

export interface UnhandledError {
  message: string
  VITEST_TEST_NAME?: string
}

const firstLine = (message: string): string => message.split('\n')[0] ?? ''

/**
 * One outcome a test, named as the summary knows it (its describe path and title, joined by
 * spaces). A test is failed when it failed, when a hook of a suite around it failed (before it
 * ran: it never checked anything; after it: its clean-up did not hold), or when an error nobody
 * handled was raised while it ran. It is skipped only when it skipped itself or was never run.
 */
export function outcomesOf(
  tests: readonly { name: string; suites: readonly ReportedSuite[]; result: ReportedResult }[],
  unhandled: readonly UnhandledError[],
  loadFailures: readonly { module: string; message: string }[] = [],
): TestOutcome[] {
  const outcomes = tests.flatMap(({ name, suites, result }): TestOutcome[] => {
    const fullName = [...suites.filter((suite) => suite.type === 'suite').map((suite) => suite.name), name].join(' ')
    const failed = (message: string): TestOutcome => ({ name: fullName, status: 'failed', message })
    // Every error a test raised, each an outcome of its own: a waiver that covers the first (what
    // the test checks) must not cover the second (its repair that failed, say).
    const own = result.state === 'failed' ? result.errors.map((error) => failed(firstLine(error.message))) : []
    const hooks = suites
      .flatMap((suite) => suite.errors())
      .map((error) => failed(`a hook around this test failed: ${firstLine(error.message)}`))
    const strays = unhandled
      .filter((error) => error.VITEST_TEST_NAME === name)
      .map((error) => failed(`unhandled error: ${firstLine(error.message)}`))
    const failures = [...own, ...hooks, ...strays]
    if (failures.length > 0) return failures
    if (result.state === 'passed') return [{ name: fullName, status: 'passed' }]
    // A test that was to run and never did (a run cut short) checked nothing it promised.
    if (result.state === 'pending') return [failed('never ran')]
    // A failed test with no error to show still failed.
    if (result.state === 'failed') return [failed('failed')]
    return result.note === undefined
      ? [{ name: fullName, status: 'skipped' }]
      : [{ name: fullName, status: 'skipped', message: result.note }]
  })
  // An error that belongs to no test, or a file that did not load, names no claim: it fails the gate.
  const strays = unhandled
    .filter(
      (error) => error.VITEST_TEST_NAME === undefined || !tests.some(({ name }) => name === error.VITEST_TEST_NAME),
    )
    .map((error): TestOutcome => ({ name: 'unhandled error', status: 'failed', message: firstLine(error.message) }))
  const unloaded = loadFailures.map(({ module, message }): TestOutcome => ({
    name: `test file ${module}`,
    status: 'failed',
    message: firstLine(message),
  }))
  return [...unloaded, ...outcomes, ...strays]
}

export default class OutcomesReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[], unhandled: readonly UnhandledError[]): void {
    const file = process.env.BANYAN_OUTCOMES
    if (file === undefined) return
    const tests = modules.flatMap((module) =>
      [...module.children.allTests()]
        // A test a filter (-t) left out was never meant to run: its claim is not checked by it,
        // which is not the same as a test that ran and skipped itself for a reason it gives.
        .filter((test) => test.options.mode === 'run' || test.options.mode === 'only')
        .map((test) => {
          const suites: ReportedSuite[] = []
          for (let at: TestModule | (typeof test)['parent'] = test.parent; ; at = at.parent) {
            if (at.type === 'module') {
              const module = at
              suites.unshift({ name: '', type: 'module', errors: () => module.errors() })
              break
            }
            suites.unshift(at)
          }
          return { name: test.name, suites, result: test.result() as ReportedResult }
        }),
    )
    // A file, or a suite, that failed with no test under it to carry the failure (it did not
    // load, or found no test to run) fails the gate by itself.
    const loadFailures = modules.flatMap((module) =>
      [module, ...module.children.allSuites()]
        .filter((suite) => suite.state() === 'failed' && suite.children.allTests().next().done === true)
        .map((suite) => ({
          module: suite.type === 'module' ? module.relativeModuleId : `${module.relativeModuleId} > ${suite.name}`,
          message: suite.errors()[0]?.message ?? 'failed with no test in it',
        })),
    )
    writeFileSync(file, JSON.stringify(outcomesOf(tests, unhandled, loadFailures), null, 2))
  }
}
