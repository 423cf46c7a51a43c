import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'
import { preflight, withoutLiveCheck } from './preflight.ts'
import { policy } from '../fixtures/policy.ts'
import { newRunEnvironment } from './run.ts'

// On this kind of machine no registry is reached and the kit builds no observability images.
const offline = { ...newRunEnvironment({}), BANYAN_IMAGES: 'offline' }
const observability = ['LC-2', 'OB-1', 'OB-2', 'OB-3', 'OB-4']

describe('optional profiles', () => {
  it('asked for, but their images cannot be had: left out of the run, their claims not verifiable, saying which images', async () => {
    const checked = await preflight(loadConfig({}), { ...offline, COMPOSE_PROFILES: 'observability' })
    expect({
      profiles: checked.profiles,
      jaeger: 'jaeger' in checked.model.services,
      unverifiable: checked.unverifiable,
    }).toEqual({
      profiles: '',
      jaeger: false,
      unverifiable: [
        {
          claims: observability,
          reason: expect.stringMatching(
            /^the observability images are not on this machine and no registry is used: .*jaegertracing\/all-in-one:1\.62\.0/,
          ),
        },
        { claims: ['OB-5'], reason: 'the alerting profile is off (COMPOSE_PROFILES=alerting turns it on)' },
      ],
    })
  })

  it('not asked for: their claims not verifiable, saying how to turn the profile on; the alerting profile on unless asked otherwise', async () => {
    const checked = await preflight(loadConfig({}), offline)
    expect({ profiles: checked.profiles, unverifiable: checked.unverifiable }).toEqual({
      profiles: 'alerting',
      unverifiable: [
        {
          claims: observability,
          reason: 'the observability profile is off (COMPOSE_PROFILES=observability turns it on)',
        },
      ],
    })
  })
})

describe('claims without a live check', () => {
  it('read not verifiable wherever nothing else made them so: never verified by their partial checks alone', () => {
    expect(withoutLiveCheck([])).toEqual([{ claims: observability.slice(1), reason: policy.withoutLiveCheck.reason }])
    expect(withoutLiveCheck([{ claims: ['OB-2', 'OB-3'], reason: 'the profile is off' }])).toEqual([
      { claims: ['OB-1', 'OB-4'], reason: policy.withoutLiveCheck.reason },
    ])
    expect(withoutLiveCheck([{ claims: observability, reason: 'the profile is off' }])).toEqual([])
  })
})
