import { describe, expect, it } from 'vitest'
import type { ComposeModel } from './compose.ts'
import { stackFileOf } from './swarm.ts'

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
      volumes: [
        { type: 'bind', source: '/certs', target: '/certs', read_only: true, bind: { create_host_path: true } },
      ],
    },
    nginx: {
      image: 'nginx:1.27-alpine',
      ports: [{ mode: 'ingress', target: 80, published: '0', protocol: 'tcp' }],
      networks: { frontend: null },
    },
    migrations: { image: 'banyan-core/migrations:local', restart: 'no', networks: { backend: null } },
  },
  networks: {
    backend: { name: 'banyan-core_backend', driver: 'bridge', internal: true },
    frontend: { name: 'banyan-core_frontend', driver: 'bridge' },
    shared: { name: 'theirs', external: true },
  },
  volumes: { 'postgres-data': { name: 'banyan-core_postgres-data' }, kept: { name: 'theirs', external: true } },
} as unknown as ComposeModel

describe('the Swarm stack file derived from the Compose model', () => {
  const { stack, changes } = stackFileOf(model)
  const services = stack['services'] as Record<string, Record<string, unknown>>

  it('keeps what Swarm reads the same (image, replicas, limits, networks, mounts) and takes out what it refuses', () => {
    expect(services['api-gateway']).toEqual({
      image: 'banyan-core/api-gateway:local',
      depends_on: ['postgres', 'migrations'],
      networks: ['backend', 'frontend'],
      volumes: [{ type: 'bind', source: '/certs', target: '/certs', read_only: true }],
      deploy: {
        replicas: 3,
        endpoint_mode: 'dnsrr',
        resources: { limits: { cpus: '2', memory: '2147483648' }, reservations: { cpus: '1' } },
        restart_policy: { condition: 'any' },
      },
    })
    expect(stack).not.toHaveProperty('name')
  })

  it('publishes in host mode, and runs a one-shot job once', () => {
    expect(services['nginx']?.['ports']).toEqual([{ mode: 'host', target: 80, published: '0', protocol: 'tcp' }])
    expect(services['migrations']?.['deploy']).toEqual({
      endpoint_mode: 'dnsrr',
      restart_policy: { condition: 'none' },
    })
  })

  it('makes its own networks attachable overlays and lets the stack name them and its volumes; external ones stay', () => {
    expect({ networks: stack['networks'], volumes: stack['volumes'] }).toEqual({
      networks: {
        backend: { driver: 'overlay', attachable: true, internal: true },
        frontend: { driver: 'overlay', attachable: true },
        shared: { name: 'theirs', external: true },
      },
      volumes: { 'postgres-data': {}, kept: { name: 'theirs', external: true } },
    })
  })

  it('says every change, for the report', () => {
    expect(changes).toEqual([
      'name removed: the stack is named on `docker stack deploy`',
      'api-gateway: build removed; the run builds banyan-core/api-gateway:local first',
      'api-gateway: depends_on as a list (postgres service_healthy, migrations service_completed_successfully): Swarm starts services in no order and waits for no condition',
      'api-gateway: restart: unless-stopped as deploy.restart_policy.condition: any',
      "api-gateway: volumes without Compose's bind and volume options (create_host_path)",
      'api-gateway: limits.cpus 2 as the string "2" (the stack file\'s schema)',
      'api-gateway: reservations.cpus 1 as the string "1" (the stack file\'s schema)',
      'nginx: ports published in host mode (80): this kernel has no IPVS for the routing mesh',
      'migrations: restart: no as deploy.restart_policy.condition: none',
      'network backend: bridge as an attachable overlay, named by the stack',
      'network frontend: bridge as an attachable overlay, named by the stack',
      'volume postgres-data: named by the stack',
    ])
  })
})
