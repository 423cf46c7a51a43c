// TS-1 from outside: while load goes through nginx to every gateway replica (the guide's /health,
// and the stack's create request where it offers one, for user-service's pool), PostgreSQL's own
// view of its clients (pg_stat_activity, by client address) is sampled, each address matched to
// the container it belongs to. Each container's peak must stay within the DATABASE_POOL_MAX it
// runs with (its environment, as Docker holds it), and the pools of all running containers must
// add up to less than the server's max_connections: at the guide's three replicas and after
// scaling to five.
import { setInterval as every } from 'node:timers/promises'
import { describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { call } from '../../helpers/api.ts'
import { projectResources } from '../../helpers/compose.ts'
import { docker } from '../../helpers/docker.ts'
import { recordFigures } from '../../helpers/figures.ts'
import {
  apiAuthorization,
  failIfDown,
  offers,
  publishedAddress,
  reloadNginx,
  scale,
  stack,
  stackDatabase,
  verifiable,
  wholeAgain,
} from '../../helpers/stack.ts'
import { it } from '../../helpers/stack-test.ts'
import { burst, clients } from '../../helpers/traffic.ts'

const GATEWAY = 'api-gateway'
/** Clients at once through nginx: more than one pool's worth per replica, so a bound is reached. */
const CONCURRENCY = 60
const REQUESTS = 3000
/** How often PostgreSQL is asked who is connected while the load runs: a sampling clock, not a wait. */
const SAMPLE_MS = 50

interface Container {
  id: string
  service: string
  /** DATABASE_POOL_MAX as the container runs with it; null when it is not given one. */
  bound: number | null
}

/** The stack's running containers by every address they have, each with the pool bound it runs with. */
async function containersByAddress(): Promise<Map<string, Container>> {
  const byAddress = new Map<string, Container>()
  const format = `{{json .Config.Env}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}`
  for (const [id, service] of await projectResources(stack().project, 'containers')) {
    const { stdout } = await docker(['inspect', '--format', format, id])
    const [env = '[]', ...addresses] = stdout.trim().split(' ')
    const setting = (JSON.parse(env) as string[]).find((entry) => entry.startsWith(`${policy.poolVariable}=`))
    const container = { id, service, bound: setting === undefined ? null : Number(setting.split('=')[1]) }
    // A container that is not running has no address.
    for (const address of addresses.filter(Boolean)) byAddress.set(address, container)
  }
  return byAddress
}

/** What one load of every replica showed: each container's peak beside its bound, and the server's limit. */
async function underLoad(replicas: number) {
  const containers = await containersByAddress()
  await using db = await stackDatabase()
  const maxConnections = Number(
    (await db.query<{ max_connections: string }>('SHOW max_connections')).rows[0]?.max_connections ?? 0,
  )
  // A peak counts when two samples in a row show it: a pool replacing a connection that timed out
  // opens the new one while the server still lists the old for a moment.
  const peaks = new Map<string, number>()
  let last = new Map<string, number>()
  let totalPeak = 0
  let samples = 0
  const nginx = `http://${await publishedAddress('nginx', 80)}`
  const { create } = offers().api ?? {}
  const token = await apiAuthorization()
  const authorization = token === undefined ? {} : { authorization: token }
  const loading = { done: false }
  const load = Promise.all([
    burst(`${nginx}/health`, REQUESTS, CONCURRENCY),
    create === undefined
      ? []
      : clients(
          CONCURRENCY / 2,
          // A request that fails is load all the same; it must not end the sampling as an error.
          () => call(nginx, create, authorization).catch(() => null),
          REQUESTS / 10,
        ).done,
  ]).finally(() => {
    loading.done = true
  })
  for await (const _ of every(SAMPLE_MS)) {
    const { rows } = await db.query<{ address: string; connections: string }>(
      `SELECT host(client_addr) AS address, count(*) AS connections FROM pg_stat_activity
       WHERE backend_type = 'client backend' AND client_addr IS NOT NULL GROUP BY 1`,
    )
    samples += 1
    // By container: one with an address on two networks is one pool.
    const now = new Map<string, number>()
    for (const { address, connections } of rows) {
      const container = containers.get(address)
      if (container === undefined) continue // this machine's own clients, the sampler among them
      now.set(container.id, (now.get(container.id) ?? 0) + Number(connections))
    }
    for (const [id, connections] of now)
      peaks.set(id, Math.max(peaks.get(id) ?? 0, Math.min(connections, last.get(id) ?? 0)))
    totalPeak = Math.max(
      totalPeak,
      [...now.values()].reduce((sum, count) => sum + count, 0),
    )
    last = now
    if (loading.done) break
  }
  const [health] = await load
  const seen = [...new Map([...containers.values()].map((container) => [container.id, container])).values()].map(
    (container) => ({ ...container, peak: peaks.get(container.id) ?? 0 }),
  )
  return {
    replicas,
    samples,
    maxConnections,
    totalPeak,
    healthFailed: health.filter(({ status }) => status !== 200).length,
    seen,
    // What the pools may hold, and what the clients without one (policy.unpooledClients) did hold.
    boundSum: seen.reduce(
      (sum, { service, bound, peak }) => sum + (policy.unpooledClients.includes(service) ? peak : (bound ?? 0)),
      0,
    ),
    over: seen.filter(({ bound, peak }) => bound !== null && peak > bound),
    unbounded: seen.filter(
      ({ service, bound, peak }) => bound === null && peak > 0 && !policy.unpooledClients.includes(service),
    ),
  }
}

describe('database connections under load', { timeout: 600_000 }, () => {
  it.runIf(verifiable('TS-1'))(
    `[TS-1] under load through every gateway replica no container holds more connections than its ${policy.poolVariable}, and the pools stay under max_connections, at three replicas and at five`,
    async ({ afterwards }) => {
      failIfDown()
      const guide = policy.replicas[GATEWAY] ?? 3
      afterwards(() => scale(GATEWAY, guide), reloadNginx, wholeAgain)
      await scale(GATEWAY, guide)
      const found = [await underLoad(guide)]
      await scale(GATEWAY, 5)
      await reloadNginx()
      found.push(await underLoad(5))
      const peakOf = (service: string, at: (typeof found)[number]) =>
        Math.max(0, ...at.seen.filter((container) => container.service === service).map(({ peak }) => peak))
      for (const at of found)
        recordFigures('TS-1', {
          [`gatewayPeakAt${at.replicas}`]: peakOf(GATEWAY, at),
          [`userServicePeakAt${at.replicas}`]: peakOf('user-service', at),
          [`totalPeakAt${at.replicas}`]: at.totalPeak,
          [`poolsSumAt${at.replicas}`]: at.boundSum,
          maxConnections: at.maxConnections,
          [`samplesAt${at.replicas}`]: at.samples,
        })
      const describe = ({
        service,
        id,
        peak,
        bound,
      }: {
        service: string
        id: string
        peak: number
        bound: number | null
      }) => `${service} ${id.slice(0, 12)} held ${peak} (${policy.poolVariable} ${bound ?? 'not given'})`
      for (const at of found) {
        expect(
          at.seen.some(({ peak }) => peak > 0),
          `at ${at.replicas} replicas the load opened no database connection in any container: nothing to bound`,
        ).toBe(true)
        expect(
          [...at.over, ...at.unbounded].map(describe),
          `at ${at.replicas} replicas, containers past their pool bound`,
        ).toEqual([])
        expect(
          at.boundSum,
          `at ${at.replicas} replicas the pools add up to ${at.boundSum} connections, against max_connections ${at.maxConnections}`,
        ).toBeLessThan(at.maxConnections)
      }
    },
  )
})
