import { describe, expect, it } from 'vitest'
import { claimIds, summariseClaims } from './report.ts'

describe('claim summary', () => {
  it('reads every claim ID a test names', () => {
    expect(claimIds('isolation [NI-2] [NI-5] nginx cannot reach postgres')).toEqual(['NI-2', 'NI-5'])
  })

  it('refutes a claim on any failed test, verifies it only when every test passed', () => {
    const claims = summariseClaims([
      { name: '[LC-1] up', status: 'passed' },
      { name: '[LC-1] serves', status: 'failed', message: 'ECONNREFUSED' },
      { name: '[NI-2] isolated', status: 'passed' },
      { name: '[HC-3] recovers', status: 'skipped' },
      { name: '[HC-10] later', status: 'passed' },
      { name: 'no claim', status: 'failed' },
    ])
    expect(claims.map(({ id, status }) => `${id} ${status}`)).toEqual([
      'HC-3 not verifiable here',
      'HC-10 verified',
      'LC-1 refuted',
      'NI-2 verified',
    ])
  })
})
