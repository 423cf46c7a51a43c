import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './config.ts'
import { at, loadOffers, unverifiableWithout } from './offers.ts'
import { scratchDir } from './scratch.ts'

const file = (text: string): string => {
  const path = join(scratchDir('offers'), 'offers.json')
  writeFileSync(path, text)
  return path
}

describe("a stack's offers beyond the guide", () => {
  it('none, when the stack has no file: the claims that need an API are not verifiable, saying what is missing', () => {
    const missing = join(tmpdir(), 'nowhere', 'offers.json')
    expect(loadOffers(missing)).toEqual({})
    expect(unverifiableWithout({}, missing)).toEqual([
      {
        claims: ['CF-5'],
        reason: expect.stringMatching(/bearer token \(api.create and api.token\) in .*\(there is none\)/),
      },
      { claims: ['MB-1', 'MB-3'], reason: expect.stringMatching(/as a command \(api.create\)/) },
      { claims: ['MB-2'], reason: expect.stringMatching(/publishes an event \(api.create and api.event\)/) },
      { claims: ['OB-5'], reason: expect.stringMatching(/no Prometheus and Alertmanager evaluating its alerts/) },
    ])
  })

  it("the reference stack's: every claim that needs an API has what it needs", () => {
    const reference = join(ROOT, 'fixtures/stack/offers.json')
    expect(unverifiableWithout(loadOffers(reference), reference)).toEqual([])
  })

  it('bad input is one line naming the file and the key, exit 2', () => {
    const cases = {
      'not json': /offers.json: .*JSON/,
      '{"api": {"create": {"method": "post", "path": "/x", "status": 201, "id": "id"}}}': /api.create.method must be/,
      '{"api": {"create": {"method": "POST", "path": "/x", "status": 201}}}': /api.create.id must be a dotted path/,
      '{"alerting": {"prometheus": {"service": "p", "port": 9090, "rules": "alerts.yml"}, "alertmanager": {"service": "a", "port": 9093}}}':
        /alerting.prometheus.rules must be the rules file as Prometheus sees it/,
      '{"api": {"token": {}}}': /api.token.refused must be/,
      '{"api": {"token": {"refused": 201}}}': /api.token.refused must be the 4xx/,
      '{"api": {"create": {"method": "POST", "path": "/x", "status": 403, "id": "id"}, "token": {"refused": 403}}}':
        /must differ from api.create.status/,
      '{"api": {"events": {}}}': /api.events is not something a stack offers/,
    }
    for (const [text, message] of Object.entries(cases)) {
      expect(() => loadOffers(file(text))).toThrow(
        expect.objectContaining({ exitCode: 2, message: expect.stringMatching(message) }),
      )
    }
  })

  it('reads a dotted path into an answer', () => {
    expect(at({ user: { id: 'u-1' } }, 'user.id')).toBe('u-1')
    expect(at({ user: null }, 'user.id')).toBeUndefined()
  })
})
