// The guide's Elasticsearch commands (OB-3, OB-4) held to Elasticsearch's published REST API, as
// its official client carries it: each command's method and path beside what the client sends
// for the same call, and its body's keys beside where the client puts them (a key the API does
// not take in the body goes to the query string). The client sends nothing anywhere: a recording
// connection takes each request and answers it. This needs no Elasticsearch, so it runs in every
// run, whether or not the observability profile can start one.
import { BaseConnection, Client } from '@elastic/elasticsearch'
import type { TestOutcome } from './report.ts'

/** A request as it would go on the wire. */
export interface Sent {
  readonly method: string
  readonly path: string
  /** The body's top-level keys; none without a body. */
  readonly bodyKeys: readonly string[]
}

/** The guide's command, as its shell block prints it, and the same call made through the client. */
export interface GuideRequest {
  readonly claim: string
  /** Its first line, as guide-commands.ts has it. */
  readonly command: string
  readonly method: string
  readonly path: string
  /** The JSON it sends with -d, as the guide prints it. */
  readonly body?: Record<string, unknown>
  /** The same request made through the client, with the guide's body as the call's parameters. */
  readonly call: (client: Client, body: Record<string, unknown>) => Promise<unknown>
}

const bodyKeys = (body: unknown): string[] => {
  if (typeof body !== 'string' || body === '') return []
  return Object.keys(JSON.parse(body) as Record<string, unknown>)
}

/** What the official client sends for one call, recorded, never sent. */
export async function asTheClientSends(call: (client: Client) => Promise<unknown>): Promise<Sent> {
  const seen: Sent[] = []
  class Recording extends BaseConnection {
    // The transport's connection contract: one request in, one answer out.
    override request(params: { method: string; path: string; body?: unknown }): Promise<never> {
      seen.push({ method: params.method, path: params.path, bodyKeys: bodyKeys(params.body) })
      // The client checks that it talks to Elasticsearch by this header; nothing else is read.
      const answer = {
        body: '{}',
        statusCode: 200,
        headers: { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' },
      }
      return Promise.resolve(answer as never)
    }

    // Nothing was opened, so nothing to close.
    override close(): Promise<void> {
      return Promise.resolve()
    }
  }
  // An address on this machine that is never dialled: the recording connection answers instead.
  const client = new Client({ node: 'http://127.0.0.1:9200', Connection: Recording })
  await call(client)
  await client.close()
  const [first] = seen
  if (first === undefined) throw new Error('the client sent nothing')
  return first
}

/** The guide's four Elasticsearch commands (Elasticsearch Storage, Log Rotation), parsed by hand here and held to the guide by its unit test. */
export const GUIDE_REQUESTS: readonly GuideRequest[] = [
  {
    claim: 'OB-3',
    command: 'curl http://localhost:9200/_cat/indices?v',
    method: 'GET',
    path: '/_cat/indices',
    call: (client) => client.cat.indices({ v: true }),
  },
  {
    claim: 'OB-3',
    command: 'curl http://localhost:9200/logs-*/_search?q=level:error',
    method: 'GET',
    path: '/logs-*/_search',
    call: (client) => client.search({ index: 'logs-*', q: 'level:error' }),
  },
  {
    claim: 'OB-4',
    command: 'curl -X DELETE "http://localhost:9200/logs-*/_delete_by_query"',
    method: 'DELETE',
    path: '/logs-*/_delete_by_query',
    body: { query: { range: { timestamp: { lt: 'now-30d' } } } },
    call: (client, body) => client.deleteByQuery({ index: 'logs-*', ...body }),
  },
  {
    claim: 'OB-4',
    command: 'curl -X PUT "http://localhost:9200/_ilm/policy/logs-policy"',
    method: 'PUT',
    path: '/_ilm/policy/logs-policy',
    body: {
      policy: {
        phases: {
          hot: { actions: { rollover: { max_size: '50GB', max_age: '7d' } } },
          delete: { min_age: '30d', actions: { delete: {} } },
        },
      },
    },
    call: (client, body) => client.ilm.putLifecycle({ name: 'logs-policy', ...body }),
  },
]

const describeSent = ({ method, path, bodyKeys: keys }: Sent): string =>
  `${method} ${path}${keys.length > 0 ? ` with a body of ${keys.join(', ')}` : ''}`

/** One outcome per guide command: passed where it sends what the API takes, failed naming both where it does not. */
export async function guideRequestOutcomes(requests: readonly GuideRequest[] = GUIDE_REQUESTS): Promise<TestOutcome[]> {
  return Promise.all(
    requests.map(async ({ claim, command, method, path, body = {}, call }): Promise<TestOutcome> => {
      const name = `guide [${claim}] \`${command}\` sends the method, path and body Elasticsearch's REST API takes (its official client, 8.15)`
      const sent = { method, path, bodyKeys: Object.keys(body) }
      const api = await asTheClientSends((client) => call(client, body))
      return describeSent(api) === describeSent(sent)
        ? { name, status: 'passed' }
        : {
            name,
            status: 'failed',
            message: `the guide sends ${describeSent(sent)}; Elasticsearch's API takes ${describeSent(api)}`,
          }
    }),
  )
}
