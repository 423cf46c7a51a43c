import { describe, expect, it } from 'vitest'
import type { ComposeModel } from './compose.ts'
import { RUN_LABEL } from './labels.ts'
import { reservedCpus, stackFileOf } from './swarm.ts'

// A resolved model as `docker compose config --format json` gives it for the reference stack's
// shapes: a built service with waits, a published proxy, a one-shot job, named networks and volumes.
const model = {
  name: 'banyan-core',
  services: {
    'api-gateway': {
      build: { context: '/x', dockerfile: 'Dockerfile' },
      image: 'banyan-core/api-gateway:local',
      depends_on: {
        postgres: { condition: 'service_healthy' },
        migrations: { condition: 'service_completed_successfully' },
      },
      deploy: { replicas: 3, resources: { limits: { cpus: 2, memory: '2147483648' }, reservations: { cpus: 1 } } },
      networks: { backend: null, frontend: null },
      restart: 'unless-stopped',
      labels: { [RUN_LABEL]: 'bv-1', other: 'kept' },
      volumes: [
        { type: 'bind', source: '/certs', target: '/certs', read_only: true, bind: { create_host_path: true } },
      ],
    },
    nginx: {
      image: 'nginx:1.27-alpine',
      ports: [{ mode: 'ingress', target: 80, published: '0', protocol: 'tcp' }],
      networks: { frontend: null },
    },
    migrations: {
      image: 'banyan-core/migrations:local',
      restart: 'no',
      networks: { backend: null },
      depends_on: { postgres: { condition: 'service_healthy' } },
    },
    postgres: { image: 'postgres:15', deploy: { resources: { reservations: { cpus: 1 } } } },
  },
  networks: {
    backend: { name: 'banyan-core_backend', driver: 'bridge', internal: true },
    frontend: { name: 'banyan-core_frontend', driver: 'bridge' },
    shared: { name: 'theirs', external: true },
  },
  volumes: { 'postgres-data': { name: 'banyan-core_postgres-data' }, kept: { name: 'theirs', external: true } },
} as unknown as ComposeModel

describe('the Swarm stack file derived from the Compose model', () => {
  // A 4-CPU node: the 3 × 1 + 1 CPUs reserved fit no more than 3 of them (FIT_SHARE).
  const { stack, changes } = stackFileOf(model, { project: 'bv-1', nodeCpus: 4 })
  const services = stack['services'] as Record<string, Record<string, unknown>>

  it('keeps what Swarm reads the same (image, replicas, limits, networks, mounts) and takes out what it refuses', () => {
    expect(services['api-gateway']).toEqual({
      image: 'banyan-core/api-gateway:local',
      depends_on: ['postgres', 'migrations'],
      networks: ['backend', 'frontend'],
      labels: {
        [RUN_LABEL]: 'bv-1',
        other: 'kept',
        'com.docker.compose.project': 'bv-1',
        'com.docker.compose.service': 'api-gateway',
      },
      volumes: [{ type: 'bind', source: '/certs', target: '/certs', read_only: true }],
      deploy: {
        replicas: 3,
        labels: { [RUN_LABEL]: 'bv-1' },
        endpoint_mode: 'dnsrr',
        resources: { limits: { cpus: '2', memory: '2147483648' }, reservations: { cpus: '0.75' } },
        restart_policy: { condition: 'any' },
      },
    })
    expect(stack).not.toHaveProperty('name')
  })

  it('publishes in host mode, and runs a one-shot job until it succeeds, since Swarm waits for nothing it depends on', () => {
    expect(services['nginx']?.['ports']).toEqual([{ mode: 'host', target: 80, protocol: 'tcp' }])
    expect(services['migrations']?.['deploy']).toEqual({
      endpoint_mode: 'dnsrr',
      restart_policy: { condition: 'on-failure' },
    })
  })

  it('scales CPU reservations that the node cannot give together, in proportion, and leaves ones that fit', () => {
    expect(reservedCpus(model)).toBe(4)
    expect((services['postgres']?.['deploy'] as { resources: object }).resources).toEqual({
      reservations: { cpus: '0.75' },
    })
    const roomy = stackFileOf(model, { project: 'bv-1', nodeCpus: 8 }).stack['services'] as Record<
      string,
      { deploy: { resources: object } }
    >
    expect(roomy['postgres']?.deploy.resources).toEqual({ reservations: { cpus: '1' } })
  })

  it('makes its own networks attachable overlays and lets the stack name them and its volumes; external ones stay', () => {
    expect({ networks: stack['networks'], volumes: stack['volumes'] }).toEqual({
      networks: {
        backend: {
          driver: 'overlay',
          attachable: true,
          internal: true,
          labels: { 'com.docker.compose.project': 'bv-1', 'com.docker.compose.network': 'backend' },
        },
        frontend: {
          driver: 'overlay',
          attachable: true,
          labels: { 'com.docker.compose.project': 'bv-1', 'com.docker.compose.network': 'frontend' },
        },
        shared: { name: 'theirs', external: true },
      },
      volumes: {
        'postgres-data': {
          labels: { 'com.docker.compose.project': 'bv-1', 'com.docker.compose.volume': 'postgres-data' },
        },
        kept: { name: 'theirs', external: true },
      },
    })
  })

  it('says every change, for the report', () => {
    expect(changes).toEqual([
      'name removed: the stack is named on `docker stack deploy`',
      "labels com.docker.compose.project, com.docker.compose.service, com.docker.compose.network, com.docker.compose.volume on the services' containers, networks and volumes: the suite finds a stack's parts by Compose's labels, on either target",
      'CPU reservations scaled by 0.75: the stack reserves 4 CPUs in all and this node has 4, so Swarm would leave tasks pending',
      'api-gateway: build removed; the run builds banyan-core/api-gateway:local first',
      'api-gateway: depends_on as a list (postgres service_healthy, migrations service_completed_successfully): Swarm starts services in no order and waits for no condition',
      'api-gateway: restart: unless-stopped as deploy.restart_policy.condition: any',
      "api-gateway: volumes without Compose's bind and volume options (create_host_path)",
      'api-gateway: limits.cpus 2 as the string "2" (the stack file\'s schema)',
      'api-gateway: reservations.cpus 1 as the string "1" (the stack file\'s schema)',
      'api-gateway: reservations.cpus 1 as "0.75", to fit the node (see above)',
      'nginx: ports published in host mode (80): this kernel has no IPVS for the routing mesh',
      'migrations: depends_on as a list (postgres service_healthy): Swarm starts services in no order and waits for no condition',
      'migrations: restart: no as deploy.restart_policy.condition: on-failure: a one-shot job Swarm starts before what it depends on is ready runs again',
      'postgres: reservations.cpus 1 as the string "1" (the stack file\'s schema)',
      'postgres: reservations.cpus 1 as "0.75", to fit the node (see above)',
      'network backend: bridge as an attachable overlay, named by the stack',
      'network frontend: bridge as an attachable overlay, named by the stack',
      'volume postgres-data: named by the stack',
    ])
  })
})
