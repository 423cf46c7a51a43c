// nginx in front of the gateway replicas: how it spreads requests (LB-2) and what it tells the
// gateway about the client (LB-4). Read-only. LB-2 sends what the guide promises, GET /health, and
// counts from outside which replica received each request (helpers/counting.ts).
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { countRequests, headerLine, REQUEST_LINE } from '../helpers/counting.ts'
import { docker } from '../helpers/docker.ts'
import { recordFigures } from '../helpers/figures.ts'
import { addressOf, containerOf, failIfDown, probeOn, publishedAddress, replicasOf, stack } from '../helpers/stack.ts'
import { burst, evenSpread, unanswered } from '../helpers/traffic.ts'

/**
 * The significance of the spread test: an even spread is refuted only when p falls below it.
 * 0.001, so a gate that runs every day does not fail once a year by chance; a replica left out
 * (p < 1e-60 at 300 requests) or one taking twice the others' share (p < 1e-8) still fails.
 */
const SIGNIFICANCE = 0.001
const REQUESTS = 300

/**
 * Each container's replica number, as Compose numbers them (1, 2, 3), or a Swarm task its slot
 * (`<stack>_<service>.<slot>.<task id>`): Swarm's containers carry no Compose number, and without
 * one every replica's count would land under the same name.
 */
async function replicaNumber(container: string): Promise<string> {
  const format =
    '{{index .Config.Labels "com.docker.compose.container-number"}} {{index .Config.Labels "com.docker.swarm.task.name"}}'
  // Not trimmed first: with no Compose number the line starts with the space between the two.
  const [number = '', task = ''] = (await docker(['inspect', '--format', format, container])).stdout
    .replace(/\n$/, '')
    .split(' ')
  const found = number || (/\.(\d+)\.[^.]+$/.exec(task)?.[1] ?? '')
  if (found === '') throw new Error(`container ${container} carries neither a Compose replica number nor a Swarm slot`)
  return found
}

describe('load balancing through nginx', () => {
  let health: string
  beforeAll(async () => {
    if (stack().failure !== null) return
    health = `http://${await publishedAddress('nginx', 80)}/health`
  })
  beforeEach(failIfDown)

  it(`[LB-2] ${REQUESTS} requests reach every gateway replica, spread evenly (chi-square, p ≥ ${SIGNIFICANCE})`, async () => {
    const replicas = await replicasOf('api-gateway')
    expect(replicas.length, 'the stack runs no api-gateway replica to balance over').toBeGreaterThan(0)
    await using counters = await countRequests(
      replicas,
      policy.gatewayPort,
      await addressOf(containerOf('nginx'), 'frontend'),
    )
    // One request at a time: every replica is then equally idle, and least_conn falls back to
    // round robin among them, so the split must be even. Under concurrent load it must not be:
    // least_conn sends more to whichever replica answers faster (measured here, 130, 90 and 80 of
    // 300 with three clients on two cores), which is LB-3's promise, checked there.
    const replies = await burst(health, REQUESTS, 1)
    const counts = await counters.read()
    const perReplica: Record<string, number> = Object.fromEntries(
      await Promise.all(
        replicas.map(
          async (replica) => [`replica${await replicaNumber(replica)}Requests`, counts[replica] ?? 0] as const,
        ),
      ),
    )
    const spread = evenSpread(Object.values(perReplica))
    const failed = unanswered(replies)
    recordFigures('LB-2', {
      requests: REQUESTS,
      failed: failed.length,
      ...perReplica,
      chiSquare: Number(spread.statistic.toFixed(3)),
      pValue: Number(spread.pValue.toFixed(4)),
    })
    expect(
      failed.map(({ status, error }) => error ?? `HTTP ${status}`),
      'requests failed',
    ).toEqual([])
    // Every request the client sent reached one replica: none was answered by nginx alone.
    const received = Object.values(counts).reduce((sum, count) => sum + count, 0)
    expect(received, 'requests the replicas received, of those sent').toBe(REQUESTS)
    expect(
      spread.pValue,
      `spread ${JSON.stringify(perReplica)} is uneven: chi-square ${spread.statistic.toFixed(2)}`,
    ).toBeGreaterThanOrEqual(SIGNIFICANCE)
  })

  it('[LB-4] nginx passes Host, X-Real-IP and X-Forwarded-For to the gateway', async () => {
    // A client on the frontend network, so its address as nginx sees it is known.
    await using client = await probeOn('frontend')
    const clientAddress = (await client.exec(['sh', '-c', "hostname -i | cut -d' ' -f1"])).output.trim()
    const nginx = await addressOf(containerOf('nginx'), 'frontend')
    // Each header line as nginx should send it, counted where the replicas receive it from nginx
    // (helpers/counting.ts): the gateway needs to echo nothing. A forwarded-for from a proxy
    // before nginx is a documentation address, never contacted.
    const expected = {
      request: REQUEST_LINE,
      host: headerLine('Host', 'api.banyan.test'),
      realIp: headerLine('X-Real-IP', clientAddress),
      forwardedFor: headerLine('X-Forwarded-For', `198.51.100.7, ${clientAddress}`),
    }
    const replicas = await replicasOf('api-gateway')
    const counters = await Promise.all(
      Object.values(expected).map((match) => countRequests(replicas, policy.gatewayPort, nginx, match)),
    )
    await using _counters = {
      [Symbol.asyncDispose]: async () => {
        await Promise.all(counters.map((counter) => counter[Symbol.asyncDispose]()))
      },
    }
    const { output, exitCode } = await client.exec([
      'curl',
      '-fsS',
      '-o',
      '/dev/null',
      '-H',
      'Host: api.banyan.test',
      '-H',
      'X-Forwarded-For: 198.51.100.7',
      `http://${nginx}/health`,
    ])
    expect(exitCode, output).toBe(0)
    const received = await Promise.all(
      counters.map(async (counter) => Object.values(await counter.read()).reduce((sum, count) => sum + count, 0)),
    )
    // The one request, received once, with each header line as nginx should have set it.
    const found = Object.fromEntries(Object.keys(expected).map((name, index) => [name, received[index] ?? 0]))
    const wrong = Object.entries(found).filter(([, count]) => count !== 1)
    expect(
      found,
      `received by the replicas, of the one request: ${wrong.map(([name, count]) => `${name} ${count} times`).join(', ')}`,
    ).toEqual({
      request: 1,
      host: 1,
      realIp: 1,
      forwardedFor: 1,
    })
  })
})
