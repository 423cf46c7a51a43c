import { describe, expect, it } from 'vitest'
import { outcomesOf, type ReportedSuite } from './outcomes-reporter.ts'

const suite = (name: string, ...errors: string[]): ReportedSuite => ({
  name,
  type: 'suite',
  errors: () => errors.map((message) => ({ message })),
})
const module: ReportedSuite = { name: '', type: 'module', errors: () => [] }

describe('outcomesOf', () => {
  it('fails the tests a failed beforeAll or afterAll blocks, with the hook’s message', () => {
    const broken = suite('backups', 'Error: write 17 was refused\n    at ...')
    expect(
      outcomesOf(
        [
          { name: '[BR-1] a dump restores', suites: [module, broken], result: { state: 'skipped' } },
          {
            name: '[BR-3] a tar restores',
            suites: [module, suite('tars', 'teardown broke')],
            result: { state: 'passed' },
          },
        ],
        [],
      ),
    ).toEqual([
      {
        name: 'backups [BR-1] a dump restores',
        status: 'failed',
        message: 'a hook around this test failed: Error: write 17 was refused',
      },
      {
        name: 'tars [BR-3] a tar restores',
        status: 'failed',
        message: 'a hook around this test failed: teardown broke',
      },
    ])
  })

  it('fails the test an unhandled error was raised in, and the gate for one that belongs to no test', () => {
    expect(
      outcomesOf(
        [{ name: '[LC-3] stop', suites: [module, suite('lifecycle')], result: { state: 'passed' } }],
        [{ message: 'nobody caught me', VITEST_TEST_NAME: '[LC-3] stop' }, { message: 'in a timer' }],
      ),
    ).toEqual([
      { name: 'lifecycle [LC-3] stop', status: 'failed', message: 'unhandled error: nobody caught me' },
      { name: 'unhandled error', status: 'failed', message: 'in a timer' },
    ])
  })

  it('keeps a test’s own verdict and its own skip note, and counts a file that did not load', () => {
    expect(
      outcomesOf(
        [
          { name: '[NI-2] ok', suites: [module], result: { state: 'passed' } },
          {
            name: '[NI-3] no',
            suites: [module],
            result: { state: 'failed', errors: [{ message: 'expected 1\nmore' }] },
          },
          { name: '[OB-1] later', suites: [module], result: { state: 'skipped', note: 'the profile is off' } },
        ],
        [],
        [{ module: 'suites/x.test.ts', message: 'SyntaxError: nope' }],
      ),
    ).toEqual([
      { name: 'test file suites/x.test.ts', status: 'failed', message: 'SyntaxError: nope' },
      { name: '[NI-2] ok', status: 'passed' },
      { name: '[NI-3] no', status: 'failed', message: 'expected 1' },
      { name: '[OB-1] later', status: 'skipped', message: 'the profile is off' },
    ])
  })

  it('keeps every error of a test, and an unhandled one raised in a failed test, as outcomes of their own', () => {
    expect(
      outcomesOf(
        [
          {
            name: '[BR-3] as it prints it',
            suites: [module],
            result: { state: 'failed', errors: [{ message: 'tar exited 1' }, { message: 'the stack did not return' }] },
          },
          { name: '[HC-4] cut short', suites: [module], result: { state: 'pending' } },
        ],
        [{ message: 'late rejection', VITEST_TEST_NAME: '[BR-3] as it prints it' }],
      ),
    ).toEqual([
      { name: '[BR-3] as it prints it', status: 'failed', message: 'tar exited 1' },
      { name: '[BR-3] as it prints it', status: 'failed', message: 'the stack did not return' },
      { name: '[BR-3] as it prints it', status: 'failed', message: 'unhandled error: late rejection' },
      { name: '[HC-4] cut short', status: 'failed', message: 'never ran' },
    ])
  })
})
