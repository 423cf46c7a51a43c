import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './config.ts'
import { asTheClientSends, GUIDE_REQUESTS, guideRequestOutcomes } from './elasticsearch.ts'
import { GUIDE_COMMANDS } from './guide-commands.ts'

// The guide the claims come from, beside the project as its README says (../shared).
const guide = readFileSync(join(ROOT, '..', 'shared', 'seed', 'deployment-guide.md'), 'utf8')

/** The JSON a command of the guide sends with -d'...', the lines after it up to the closing quote. */
function guideBody(command: string): unknown {
  const after = guide.slice(guide.indexOf(command) + command.length)
  const quoted = /^[^\n]*-d'\n([\s\S]*?)\n'/.exec(after)?.[1]
  return quoted === undefined ? undefined : JSON.parse(quoted)
}

describe("the guide's Elasticsearch commands beside Elasticsearch's API", () => {
  it('are the guide’s, word for word: method, path and body as it prints them', () => {
    for (const { claim, command, method, path, body } of GUIDE_REQUESTS) {
      expect(GUIDE_COMMANDS.find((entry) => entry.command === command)?.claims, command).toContain(claim)
      const url = /http:\/\/localhost:9200(\/[^"?\s]*)/.exec(command)?.[1]
      expect({ method: /-X (\w+)/.exec(command)?.[1] ?? 'GET', path: url, body: guideBody(command) }, command).toEqual({
        method,
        path,
        body,
      })
    }
  })

  it('judged as the official client sends them: the guide’s DELETE for _delete_by_query refuted, the others taken', async () => {
    const outcomes = await guideRequestOutcomes()
    expect(outcomes.map(({ status, message }) => [status, message ?? ''])).toEqual([
      ['passed', ''],
      ['passed', ''],
      [
        'failed',
        "the guide sends DELETE /logs-*/_delete_by_query with a body of query; Elasticsearch's API takes POST /logs-*/_delete_by_query with a body of query",
      ],
      ['passed', ''],
    ])
  })

  it('can fail: a body key the API does not take in the body, and a wrong path, are refuted', async () => {
    const [, search, deletion] = GUIDE_REQUESTS
    if (search === undefined || deletion === undefined) throw new Error('the guide has fewer Elasticsearch commands')
    const outcomes = await guideRequestOutcomes([
      { ...deletion, method: 'POST', body: { filter: { term: { level: 'debug' } } } },
      { ...search, path: '/logs-*/_query' },
    ])
    expect(outcomes.map(({ message }) => message)).toEqual([
      "the guide sends POST /logs-*/_delete_by_query with a body of filter; Elasticsearch's API takes POST /logs-*/_delete_by_query",
      "the guide sends GET /logs-*/_query; Elasticsearch's API takes GET /logs-*/_search",
    ])
  })

  it('records what the client would send, and sends nothing', async () => {
    expect(await asTheClientSends((client) => client.indices.delete({ index: 'logs-old' }))).toEqual({
      method: 'DELETE',
      path: '/logs-old',
      bodyKeys: [],
    })
  })
})
