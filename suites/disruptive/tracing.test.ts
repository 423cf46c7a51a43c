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
  networks?: Record<string, { aliases?: string[] } | null>
  container_name?: string
}

describe('traces to JAEGER_ENDPOINT', () => {
  it('[OB-1] every service given JAEGER_ENDPOINT points it at Jaeger’s OTLP over HTTP receiver (4318, /v1/traces) and sends its spans there as it serves', async ({
    skip,
  }) => {
    failIfDown()
    // Every profile's services: the stack's Jaeger is in one that may be off.
    const model = JSON.parse(await compose(['--profile', '*', 'config', '--format', 'json'])) as {
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
    // The receiver stands where the stack's Jaeger would: on its networks only, so a service that
    // shares none with it (and could never reach it) is refuted, not served by the stand-in.
    const jaeger = model.services[host]
    expect(jaeger, `the stack declares no ${host} service, the Jaeger JAEGER_ENDPOINT names`).toBeDefined()
    const jaegerNetworks = Object.keys(jaeger?.networks ?? {})
    expect(
      traced
        .filter(({ networks: on }) => !on.some((network) => jaegerNetworks.includes(network)))
        .map(({ service }) => service),
      `services given JAEGER_ENDPOINT that share no network with ${host} (on ${jaegerNetworks.join(', ') || 'none'})`,
    ).toEqual([])
    // Nothing else may answer to the name there: the spans would go to it as well.
    expect(
      Object.entries(model.services)
        .filter(([name]) => name !== host)
        .filter(
          ([, { networks: on, container_name }]) =>
            container_name === host || Object.values(on ?? {}).some((network) => network?.aliases?.includes(host)),
        )
        .map(([name]) => name),
      `services that also answer to the name ${host}`,
    ).toEqual([])
    // A Jaeger of the stack's own answers to the name: it is its live check's to judge, not a stand-in's.
    if ((await replicasOf(host)).length > 0) skip(`${host} runs in this stack: the receiver does not stand in for it`)

    const [first = '', ...others] = await Promise.all(jaegerNetworks.map(async (name) => (await networkOf(name)).name))
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

    // Each traced container, by every address it has on the networks it shares with the receiver.
    const senders = await Promise.all(
      traced.flatMap(({ service, networks: on }) =>
        (stack().containers[service] ?? []).map(async (container) => ({
          service,
          container,
          addresses: await Promise.all(
            on.filter((network) => jaegerNetworks.includes(network)).map((network) => addressOf(container, network)),
          ),
        })),
      ),
    )
    // Requests for them to trace: the guide's GET /health through nginx, each one's own health
    // check, and, where the stack offers one, a create through its API (a service that traces
    // only its business, not its health, still has something to send).
    const nginx = `http://${await publishedAddress('nginx', 80)}`
    for (let i = 0; i < senders.length * 2; i++) await (await request(`${nginx}/health`)).body.dump()
    await Promise.all(senders.map(({ container }) => healthCheckPasses(container)))
    const offered = offers().api?.create
    if (offered !== undefined) await create(nginx, offered, await apiAuthorization())
    // A POST to the guide's path holding a span (the receiver reads spans only from a body that
    // parses as OTLP, in either encoding).
    const otlp = (received: Received) =>
      received.method === 'POST' &&
      received.path === GUIDE_ENDPOINT.path &&
      received.problem === undefined &&
      received.spans.length > 0
    const silentIn = (received: readonly Received[]) => {
      const sent = received.filter(otlp)
      return senders
        .filter(({ addresses }) => !sent.some(({ from }) => addresses.includes(from)))
        .map(({ service, container }) => `${service} (${container.slice(0, 12)})`)
    }
    let received: Received[] = []
    await vi
      .waitFor(
        async () => {
          received = await seen()
          if (silentIn(received).length > 0) throw new Error('not yet')
        },
        { timeout: SENT_WITHIN_MS, interval: 1_000 },
      )
      .catch(() => undefined)
    expect(
      silentIn(received),
      `containers that sent no OTLP spans to ${host}:${GUIDE_ENDPOINT.port}${GUIDE_ENDPOINT.path} within ${SENT_WITHIN_MS / 1000} s of serving requests; the receiver saw: ${JSON.stringify(received.map(({ from, method, path, encoding, services, spans }) => ({ from, method, path, encoding, services, spans: spans.length })))}`,
    ).toEqual([])
    // Jaeger shows traces by service name: each service sends under one name of its own, not the
    // SDK's unknown_service fallback, and no two services under the same one.
    const namesOf = (service: string) => [
      ...new Set(
        received
          .filter(otlp)
          .filter(({ from }) => senders.some((sender) => sender.service === service && sender.addresses.includes(from)))
          .flatMap(({ services }) => services),
      ),
    ]
    const names = Object.fromEntries(traced.map(({ service }) => [service, namesOf(service)]))
    expect(
      Object.entries(names)
        .filter(
          ([, given]) => given.length !== 1 || given.some((name) => name === '' || name.startsWith('unknown_service')),
        )
        .map(([service, given]) => `${service}: ${JSON.stringify(given)}`),
      'services whose spans do not carry one service.name of their own',
    ).toEqual([])
    const shared = Object.values(names).flat()
    expect(
      shared.filter((name, index) => shared.indexOf(name) !== index),
      `service names more than one service sends under: ${JSON.stringify(names)}`,
    ).toEqual([])
  })
})
