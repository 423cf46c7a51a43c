import { describe, expect, it } from 'vitest'
import {
  applicableWaivers,
  claimIds,
  claimTable,
  gatePasses,
  inRange,
  parseWaivers,
  staleWaivers,
  summariseClaims,
} from './report.ts'

describe('claim summary', () => {
  it('reads every claim ID a test names', () => {
    expect(claimIds('isolation [NI-2] [NI-5] nginx cannot reach postgres')).toEqual(['NI-2', 'NI-5'])
  })

  it('refutes a claim on any failed test, verifies it only when every test passed', () => {
    const claims = summariseClaims(
      [
        { name: '[LC-1] up', status: 'passed' },
        { name: '[LC-1] serves', status: 'failed', message: 'ECONNREFUSED' },
        { name: '[NI-2] isolated', status: 'passed' },
        { name: '[HC-3] recovers', status: 'skipped', message: 'the profile is off' },
        { name: 'guide [HC-3] its command is right', status: 'passed' },
        { name: '[HC-10] later', status: 'passed' },
        { name: 'no claim', status: 'failed' },
      ],
      [],
      ['LC-1', 'LC-2', 'NI-2', 'HC-3'],
    )
    expect(claims.map(({ id, status }) => `${id} ${status}`)).toEqual([
      'LC-1 refuted',
      'LC-2 not checked',
      'NI-2 verified',
      'HC-3 not verifiable here',
      'HC-10 verified',
    ])
    expect(claimTable(claims)).toEqual([
      'LC-1  refuted: ECONNREFUSED',
      'LC-2  not checked',
      'NI-2  verified',
      'HC-3  not verifiable here: the profile is off; checked instead, and passed: guide [HC-3] its command is right',
      'HC-10 verified',
    ])
  })

  it('answers every claim of the list when no test ran at all', () => {
    expect(summariseClaims([]).map(({ status }) => status)).toEqual(Array(47).fill('not checked'))
  })
})

describe('waivers', () => {
  const waiver = {
    claim: 'NI-3',
    test: '[NI-3] reaches no listener on this machine',
    reason: 'the engine lets internal networks reach the host',
  }
  const waivers = [waiver]

  it('waive a claim only when every failed test of it is covered', () => {
    const host = { name: '[NI-3] reaches no listener on this machine', status: 'failed' as const }
    const frontend = { name: '[NI-3] reaches no listener on the frontend network', status: 'failed' as const }
    expect(
      summariseClaims([host, { ...frontend, status: 'passed' }], waivers, ['NI-3']).map((claim) => claim.status),
    ).toEqual(['waived'])
    expect(summariseClaims([host, frontend], waivers, ['NI-3']).map((claim) => claim.status)).toEqual(['refuted'])
    expect(summariseClaims([host], waivers, ['NI-3'])[0]?.waivers).toEqual([
      'the engine lets internal networks reach the host',
    ])
  })

  it('show, beside a waiver, why the claim’s skipped tests did not run', () => {
    const host = { name: '[NI-3] reaches no listener on this machine', status: 'failed' as const }
    const skipped = { name: '[NI-3] over IPv6', status: 'skipped' as const, message: 'the engine has no IPv6' }
    expect(claimTable(summariseClaims([host, skipped], waivers, ['NI-3']))).toEqual([
      'NI-3  refuted, waived: the engine lets internal networks reach the host; not checked here: the engine has no IPv6',
    ])
  })

  it('let the gate pass on waived failures only; a failure that names no claim always fails it', () => {
    const host = { name: '[NI-3] reaches no listener on this machine', status: 'failed' as const }
    expect(gatePasses([host], waivers)).toBe(true)
    expect(gatePasses([host, { name: '[NI-2] nginx cannot open postgres', status: 'failed' }], waivers)).toBe(false)
    expect(gatePasses([{ name: 'test file', status: 'failed' }], waivers)).toBe(false)
  })

  it('waive a test of two claims for the waived one only: the other is refuted, and the gate fails', () => {
    const both = { name: '[NI-3] [NI-2] on this machine, and to postgres', status: 'failed' as const }
    const waivers = [{ ...waiver, test: both.name }]
    expect(summariseClaims([both], waivers, ['NI-2', 'NI-3']).map(({ status }) => status)).toEqual([
      'refuted',
      'waived',
    ])
    expect(gatePasses([both], waivers)).toBe(false)
  })

  it('report a waiver as stale once its tests pass', () => {
    expect(staleWaivers([{ name: '[NI-3] reaches no listener on this machine', status: 'passed' }], waivers)).toEqual(
      waivers,
    )
    expect(staleWaivers([{ name: '[NI-3] reaches no listener on this machine', status: 'failed' }], waivers)).toEqual(
      [],
    )
    expect(staleWaivers([], waivers), 'a claim not checked at all is not stale').toEqual([])
  })

  it('cover only a failure that says what the waiver describes, all of it, in a test of that whole title', () => {
    const described = [{ ...waiver, message: 'a backend-only container opened a listener on this machine at \\S+' }]
    const said = { name: 'isolation [NI-3] reaches no listener on this machine', status: 'failed' as const }
    expect(
      gatePasses([{ ...said, message: 'a backend-only container opened a listener on this machine at x' }], described),
    ).toBe(true)
    expect(gatePasses([{ ...said, message: 'timed out after 30000 ms' }], described)).toBe(false)
    expect(
      gatePasses(
        [{ ...said, message: 'nc exited 2: a backend-only container opened a listener on this machine at x' }],
        described,
      ),
      'the pattern must match from the first character',
    ).toBe(false)
    expect(
      gatePasses([{ ...said, name: 'isolation [NI-3] reaches no listener on this machine, nor elsewhere' }], waivers),
      'a test whose title only contains the waiver’s',
    ).toBe(false)
  })

  it('apply only on the engine and Compose versions they name', () => {
    const onOld = [{ ...waiver, engine: '>=20.10 <21' }]
    expect(applicableWaivers(onOld, { engine: '20.10.24+dfsg1', compose: '2.26.1' })).toEqual(onOld)
    expect(applicableWaivers(onOld, { engine: '26.1.5+dfsg1', compose: '2.26.1' })).toEqual([])
    expect(inRange('2.26.1-4', '=2.26.1')).toBe(true)
  })

  it('apply only on the target they name, Compose unless told', () => {
    const onCompose = [{ ...waiver, target: 'compose' }]
    const versions = { engine: '26.1.5', compose: '2.26.1' }
    expect(applicableWaivers(onCompose, versions)).toEqual(onCompose)
    expect(applicableWaivers(onCompose, versions, 'swarm')).toEqual([])
    expect(applicableWaivers([waiver], versions, 'swarm')).toEqual([waiver])
    expect(() => parseWaivers('[{"claim":"RL-2","target":"k8s","reason":"r"}]', 'w.json')).toThrow(
      'w.json: waiver 1 (RL-2): target must be compose or swarm',
    )
  })

  it('refuse a waiver without a claim or a reason', () => {
    expect(() => parseWaivers('[{"claim":"NI-3","reason":" "}]', 'waivers.json')).toThrow(
      'waivers.json: waiver 1 (NI-3) gives no reason',
    )
    expect(() => parseWaivers('[{"reason":"because"}]', 'waivers.json')).toThrow(
      'waivers.json: waiver 1 names no claim',
    )
    expect(parseWaivers('[{"claim":"RL-2","test":"CPU","reason":"swarm only"}]', 'w.json')).toEqual([
      { claim: 'RL-2', test: 'CPU', reason: 'swarm only' },
    ])
    expect(() => parseWaivers('[{"claim":"RL-2","message":"(","reason":"r"}]', 'w.json')).toThrow(
      'w.json: waiver 1 (RL-2): message is not a regular expression',
    )
  })
})
