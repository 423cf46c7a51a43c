// What a stack offers beyond the guide, for the checks that need more than it promises. All the
// guide promises of the gateway is GET /health on its port behind nginx; a deployment whose API
// has a route that creates something, a token it checks, an event it publishes, says so in
// `offers.json` beside its compose file (or the file BANYAN_OFFERS names), and the checks that
// need them use them. A stack that describes none gets those claims "not verifiable here", with
// what is missing, decided before the run: never refuted for what the guide never promised.
import { existsSync, readFileSync } from 'node:fs'
import { PreflightError } from './errors.ts'
import type { Unverifiable } from './claims.ts'

/** An HTTP route of the stack's API, reached through nginx. */
export interface Route {
  /** GET, POST, ... */
  readonly method: string
  /** The path; `{id}` stands for what an earlier answer named. */
  readonly path: string
  /** A JSON body to send, if any; `{unique}` in its text is new for every request. */
  readonly body?: unknown
  /** The status of a successful answer. */
  readonly status: number
}

export interface Offers {
  readonly api?: {
    /** A route that creates something: a request any client may make once authorised. */
    readonly create?: Route & {
      /** Where its answer names what it created: a dotted path into the JSON body. */
      readonly id: string
    }
    /** A route that reads back what `create` made (`{id}` in its path). */
    readonly read?: Route & {
      /** A dotted path into the answer that must equal the same path into `create`'s body. */
      readonly field: string
    }
    /**
     * The API checks a bearer token (an HS256 JWT signed with JWT_SECRET, the guide's variable)
     * on `create`, and answers `refused` to one it does not accept.
     */
    readonly token?: { readonly refused: number }
    /** What `create` publishes: on which exchange, with which routing key, naming the id at `id`. */
    readonly event?: { readonly exchange: string; readonly routingKey: string; readonly id: string }
  }
  /**
   * Where the stack evaluates and receives the guide's alerts (OB-5): a Prometheus and the file of
   * its alerting rules (its path inside the container, a bind mount of the stack's), an
   * Alertmanager, and the names the stack gives the guide's three alerts.
   */
  readonly alerting?: {
    readonly prometheus: { readonly service: string; readonly port: number; readonly rules: string }
    readonly alertmanager: { readonly service: string; readonly port: number }
    readonly alerts: { readonly errorRate: string; readonly databaseConnections: string; readonly queueDepth: string }
  }
}

/** Which claims need what of the offers, and how the reason reads when it is missing. */
const NEEDS: readonly {
  claims: readonly string[]
  needs: readonly (keyof NonNullable<Offers['api']>)[]
  what: string
}[] = [
  {
    claims: ['CF-5'],
    needs: ['create', 'token'],
    what: 'API route that checks a bearer token (api.create and api.token)',
  },
  {
    claims: ['MB-1', 'MB-3'],
    needs: ['create'],
    what: 'API route whose request goes to user-service as a command (api.create)',
  },
  {
    claims: ['MB-2'],
    needs: ['create', 'event'],
    what: 'API route whose request publishes an event (api.create and api.event)',
  },
]

/** The claims the stack's offers leave without a check, each with what the offers lack. */
export function unverifiableWithout(offers: Offers, file: string): Unverifiable[] {
  const where = existsSync(file) ? file : `${file} (there is none)`
  return [
    ...NEEDS.filter(({ needs }) => needs.some((need) => offers.api?.[need] === undefined)).map(({ claims, what }) => ({
      claims,
      reason: `the stack describes no ${what} in ${where}; the guide promises only GET /health`,
    })),
    ...(offers.alerting === undefined
      ? [
          {
            claims: ['OB-5'],
            reason: `the stack describes no Prometheus and Alertmanager evaluating its alerts (alerting) in ${where}; the guide names its alerts, not what evaluates them`,
          },
        ]
      : []),
  ]
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function route(value: unknown, where: string, extra: readonly string[]): void {
  if (!isRecord(value)) throw new Error(`${where} must be an object`)
  if (typeof value.method !== 'string' || !/^[A-Z]+$/.test(value.method))
    throw new Error(`${where}.method must be an HTTP method such as POST`)
  if (typeof value.path !== 'string' || !value.path.startsWith('/')) throw new Error(`${where}.path must start with /`)
  if (typeof value.status !== 'number') throw new Error(`${where}.status must be a number`)
  for (const key of extra)
    if (typeof value[key] !== 'string') throw new Error(`${where}.${key} must be a dotted path such as user.id`)
}

function alerting(value: unknown): void {
  if (!isRecord(value)) throw new Error('alerting must be an object')
  for (const part of ['prometheus', 'alertmanager']) {
    const service = value[part]
    if (!isRecord(service) || typeof service.service !== 'string' || typeof service.port !== 'number')
      throw new Error(`alerting.${part} needs the service's name and port`)
  }
  if (
    !isRecord(value.prometheus) ||
    typeof value.prometheus.rules !== 'string' ||
    !value.prometheus.rules.startsWith('/')
  )
    throw new Error(
      'alerting.prometheus.rules must be the rules file as Prometheus sees it, such as /etc/prometheus/alerts.yml',
    )
  const alerts = value.alerts
  for (const name of ['errorRate', 'databaseConnections', 'queueDepth'])
    if (!isRecord(alerts) || typeof alerts[name] !== 'string')
      throw new Error(`alerting.alerts.${name} must name the stack's alert for it`)
}

/** The offers a stack describes; none when it has no file. Bad input is one line, exit 2. */
export function loadOffers(file: string): Offers {
  if (!existsSync(file)) return {}
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
    if (!isRecord(parsed)) throw new Error('must hold an object')
    if (parsed.alerting !== undefined) alerting(parsed.alerting)
    const api = parsed.api
    if (api === undefined) return parsed
    if (!isRecord(api)) throw new Error('api must be an object')
    if (api.create !== undefined) route(api.create, 'api.create', ['id'])
    if (api.read !== undefined) route(api.read, 'api.read', ['field'])
    if (api.token !== undefined) {
      const refused = isRecord(api.token) ? api.token.refused : undefined
      // A refusal that reads like the success would let a gateway that checks nothing pass.
      if (typeof refused !== 'number' || refused < 400 || refused > 499)
        throw new Error('api.token.refused must be the 4xx status a refused token gets')
      if (isRecord(api.create) && refused === api.create.status)
        throw new Error('api.token.refused must differ from api.create.status')
    }
    if (
      api.event !== undefined &&
      !(
        isRecord(api.event) &&
        typeof api.event.exchange === 'string' &&
        typeof api.event.routingKey === 'string' &&
        typeof api.event.id === 'string'
      )
    )
      throw new Error('api.event needs exchange, routingKey and id')
    for (const key of Object.keys(api))
      if (!['create', 'read', 'token', 'event'].includes(key))
        throw new Error(`api.${key} is not something a stack offers here`)
    return parsed
  } catch (error) {
    throw new PreflightError(`${file}: ${error instanceof Error ? error.message : String(error)}`, 2)
  }
}

/** The value at a dotted path of a JSON answer (`user.id`), or undefined. */
export function at(body: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (isRecord(value) ? value[key] : undefined), body)
}
