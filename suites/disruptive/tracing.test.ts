// OB-1 as far as this machine can check it: Jaeger cannot run here, so what stands at the address
// the services send their traces to is the suite's own OTLP receiver (helpers/otlp-receiver.ts),
// in a container of the kit's Node image that takes the endpoint's host name on the services'
// networks. Every service the stack gives JAEGER_ENDPOINT must point it at the guide's Jaeger
// (OTLP over HTTP, 4318, /v1/traces) and send spans there when it serves requests: GET /health
// through nginx, and each service's own health check run in its container. Who sent what is read
// from the receiver's side (the sender's address on the network), not from the services.
// Disruptive in that, while it runs, the receiver answers to the Jaeger name on the stack's
// networks; it is gone at the end of the test.
import { join } from 'node:path'
import { request } from 'undici'
import { describe, expect, vi } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { create } from '../../helpers/api.ts'
import { ROOT } from '../../helpers/config.ts'
import { docker, startHelper } from '../../helpers/docker.ts'
import type { Received } from '../../helpers/otlp-receiver.ts'
import { it } from '../../helpers/stack-test.ts'
import {
  addressOf,
  apiAuthorization,
  compose,
  credential,
  failIfDown,
  healthCheckPasses,
  networkOf,
  offers,
  publishedAddress,
  replicasOf,
  stack,
} from '../../helpers/stack.ts'

/** The guide's JAEGER_ENDPOINT (its .env): Jaeger's OTLP over HTTP receiver. */
const GUIDE_ENDPOINT = { port: '4318', path: '/v1/traces' }
/** How long a service may take to send what it traced: six of the OpenTelemetry SDK's default 5 s batches. */
const SENT_WITHIN_MS = 30_000

interface ServiceModel {
  environment?: Record<string, string | null>
  networks?: Record<string, unknown>
}

describe('traces to JAEGER_ENDPOINT', () => {
  it('[OB-1] every service given JAEGER_ENDPOINT points it at Jaeger’s OTLP over HTTP receiver (4318, /v1/traces) and sends its spans there as it serves', async ({
    skip,
  }) => {
    failIfDown()
    const model = JSON.parse(await compose(['config', '--format', 'json'])) as {
      services: Record<string, ServiceModel>
    }
    const traced = Object.entries(model.services).flatMap(([service, { environment, networks }]) => {
      const endpoint = environment?.JAEGER_ENDPOINT
      return typeof endpoint === 'string' && endpoint !== ''
        ? [{ service, endpoint: new URL(endpoint), networks: Object.keys(networks ?? {}) }]
        : []
    })
    expect(
      traced.map(({ service }) => service),
      'the services the stack gives JAEGER_ENDPOINT (the guide’s .env gives it to the services)',
    ).toEqual(expect.arrayContaining([...policy.tracing.services]))
    const hosts = [...new Set(traced.map(({ endpoint }) => endpoint.hostname))]
    expect(
      traced.map(
        ({ service, endpoint }) =>
          `${service}: ${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}${endpoint.pathname}`,
      ),
      'JAEGER_ENDPOINT as each service is given it',
    ).toEqual(
      traced.map(
        ({ service }) => `${service}: http://${policy.tracing.jaeger}:${GUIDE_ENDPOINT.port}${GUIDE_ENDPOINT.path}`,
      ),
    )
    const [host = policy.tracing.jaeger] = hosts
    // A Jaeger of the stack's own answers to the name: it is its live check's to judge, not a stand-in's.
    if ((await replicasOf(host)).length > 0) skip(`${host} runs in this stack: the receiver does not stand in for it`)

    const networks = [...new Set(traced.flatMap(({ networks: on }) => on))]
    const [first = '', ...others] = await Promise.all(networks.map(async (name) => (await networkOf(name)).name))
    const file = join(ROOT, 'helpers', 'otlp-receiver.ts')
    await using receiver = await startHelper(
      credential('NODE_IMAGE'),
      ['node', '/receiver/otlp-receiver.ts', GUIDE_ENDPOINT.port],
      { network: first, flags: ['--network-alias', host, '--volume', `${file}:/receiver/otlp-receiver.ts:ro`] },
    )
    for (const network of others) await docker(['network', 'connect', '--alias', host, network, receiver.id])
    const seen = async (): Promise<Received[]> => {
      const { stdout } = await docker(['logs', receiver.id])
      return stdout
        .split('\n')
        .filter((line) => line.startsWith('{"from"'))
        .map((line) => JSON.parse(line) as Received)
    }
    await vi.waitFor(
      async () => {
        const { stdout } = await docker(['logs', receiver.id])
        if (!stdout.includes('"listening"')) throw new Error(`the receiver did not start: ${stdout}`)
      },
      { timeout: 30_000, interval: 200 },
    )

    // Each traced container, by every address it has on the receiver's networks.
    const senders = await Promise.all(
      traced.flatMap(({ service, networks: on }) =>
        (stack().containers[service] ?? []).map(async (container) => ({
          service,
          container,
          addresses: await Promise.all(on.map((network) => addressOf(container, network))),
        })),
      ),
    )
    // Requests for them to trace: the guide's GET /health through nginx, each one's own health
    // check, and, where the stack offers one, a create through its API (a service that traces
    // only its business, not its health, still has something to send).
    const serve = async () => {
      const nginx = `http://${await publishedAddress('nginx', 80)}`
      for (let i = 0; i < senders.length * 2; i++) await (await request(`${nginx}/health`)).body.dump()
      await Promise.all(senders.map(({ container }) => healthCheckPasses(container)))
      const offered = offers().api?.create
      if (offered !== undefined) await create(nginx, offered, await apiAuthorization())
    }
    await serve()
    const otlp = (received: Received) =>
      received.method === 'POST' &&
      received.path === GUIDE_ENDPOINT.path &&
      received.encoding !== 'other' &&
      received.bytes > 0 &&
      received.problem === undefined &&
      received.spans.length > 0
    const silent = async () => {
      const sent = (await seen()).filter(otlp)
      return senders
        .filter(({ addresses }) => !sent.some(({ from }) => addresses.includes(from)))
        .map(({ service, container }) => `${service} (${container.slice(0, 12)})`)
    }
    await vi
      .waitFor(
        async () => {
          if ((await silent()).length > 0) throw new Error('not yet')
        },
        { timeout: SENT_WITHIN_MS, interval: 1_000 },
      )
      .catch(async () => undefined)
    const received = await seen()
    expect(
      await silent(),
      `containers that sent no OTLP spans to ${host}:${GUIDE_ENDPOINT.port}${GUIDE_ENDPOINT.path} within ${SENT_WITHIN_MS / 1000} s of serving requests; the receiver saw: ${JSON.stringify(received.map(({ from, method, path, encoding, services, spans }) => ({ from, method, path, encoding, services, spans: spans.length })))}`,
    ).toEqual([])
  })
})
