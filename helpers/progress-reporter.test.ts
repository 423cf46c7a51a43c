import { describe, expect, it } from 'vitest'
import { progressLine, settled } from './progress-reporter.ts'

describe('progress while a run goes', () => {
  it('settles a claim failing when any of its tests failed, holding when every one that ran passed', () => {
    const claims = settled([
      { name: '[LB-2] spread', state: 'passed' },
      { name: '[LB-3] slow replica', state: 'failed' },
      { name: '[LB-3] another', state: 'passed' },
      { name: '[NI-3] [NI-1] both', state: 'passed' },
      { name: '[MB-1] not run', state: 'skipped' },
    ])
    expect(claims).toEqual({ holding: ['LB-2', 'NI-1', 'NI-3'], failing: ['LB-3'] })
  })

  it('says in one line which suite ended, how far the run is, and what fails', () => {
    expect(progressLine('suites/balancing.test.ts', 4, 19, { holding: ['LB-2'], failing: ['LB-3'] })).toBe(
      'progress: suites/balancing.test.ts done (4 of 19); claims so far: 1 holding, 1 failing (LB-3)',
    )
  })
})
