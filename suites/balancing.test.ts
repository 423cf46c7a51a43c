// nginx in front of the gateway replicas: how it spreads requests (LB-2) and what it tells the
// gateway about the client (LB-4). Read-only. LB-2 sends what the guide promises, GET /health, and
// counts from outside which replica received each request (helpers/balancing.ts).
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { countRequests, headerLine, REQUEST_LINE } from '../helpers/counting.ts'
import { REQUESTS, SIGNIFICANCE, spreadsOverEveryReplica } from '../helpers/balancing.ts'
import { targetOf } from '../helpers/config.ts'
import { addressOf, containerOf, failIfDown, probeOn, publishedAddress, replicasOf, stack } from '../helpers/stack.ts'

describe('load balancing through nginx', () => {
  let health: string
  beforeAll(async () => {
    if (stack().failure !== null) return
    health = `http://${await publishedAddress('nginx', 80)}/health`
  })
  beforeEach(failIfDown)

  // On Swarm, which replicas nginx has as the stack comes up is a race: LB-2 is taken there once
  // Swarm has replaced every task (suites/disruptive/swarm-update.test.ts), decided before the run.
  if (targetOf(process.env) === 'compose')
    it(`[LB-2] ${REQUESTS} requests reach every gateway replica, spread evenly (chi-square, p ≥ ${SIGNIFICANCE})`, async () => {
      await spreadsOverEveryReplica(health)
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
