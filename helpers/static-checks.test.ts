// Negative controls of the static checks: each mutation of the reference stack's resolved
// configuration breaks one promise, and its check must report exactly that, in one line.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { imageVariables } from '../images/kit.ts'
import type { ComposeService } from './compose.ts'
import { loadConfig, ROOT } from './config.ts'
import { newRunEnvironment } from './run.ts'
import { formatFinding, loadStaticInput, STATIC_CHECKS, withExtended, type StaticInput } from './static-checks.ts'

let reference: StaticInput

beforeAll(async () => {
  const env = {
    ...process.env,
    ...imageVariables('offline'),
    ...newRunEnvironment({}),
    COMPOSE_PROFILES: 'observability',
  }
  reference = await loadStaticInput(loadConfig({}), env, policy)
})

/** Every finding of every check, one line each, on a copy of the reference changed by `change`. */
function findingsAfter(change: (input: StaticInput) => void): string[] {
  const input = structuredClone(reference)
  change(input)
  return Object.values(STATIC_CHECKS)
    .flatMap((check) => check(input))
    .map(formatFinding)
}

const service = (input: StaticInput, name: string): ComposeService => {
  const found = input.model.services[name]
  if (found === undefined) throw new Error(`no service ${name} in the reference stack`)
  return found
}
const rewrite = (input: StaticInput, from: string | RegExp, to: string): void => {
  const first = input.raw[0]
  if (first) first.text = first.text.replace(from, to)
}
const nginx = (input: StaticInput, from: string | RegExp, to: string): void => {
  if (input.nginx) input.nginx.text = input.nginx.text.replace(from, to)
}

describe('static checks', () => {
  it('find nothing on the reference stack, observability profile included', () => {
    expect(findingsAfter(() => undefined)).toEqual([])
  })

  const limits = (input: StaticInput, name: string) => service(input, name).deploy?.resources?.limits ?? {}
  const controls: [string, (input: StaticInput) => void, RegExp][] = [
    [
      '[HC-1] a service without a health check',
      (i) => {
        delete service(i, 'redis').healthcheck
      },
      /^\[HC-1\] compose\.yaml:\d+ services\.redis\.healthcheck: expected a health check, found none$/,
    ],
    [
      '[HC-1] an interval other than the guide’s',
      (i) => {
        service(i, 'postgres').healthcheck = { ...service(i, 'postgres').healthcheck, interval: '30s' }
      },
      /^\[HC-1\] compose\.yaml:\d+ services\.postgres\.healthcheck\.interval: expected 10s, found 30s$/,
    ],
    [
      '[HC-1] the gateway checked another way',
      (i) => {
        service(i, 'api-gateway').healthcheck = { ...service(i, 'api-gateway').healthcheck, test: ['CMD', 'true'] }
      },
      /^\[HC-1\] .* services\.api-gateway\.healthcheck\.test: expected a command matching .*, found CMD true$/,
    ],
    [
      '[HC-4] no restart policy',
      (i) => {
        service(i, 'user-service').restart = 'no'
      },
      /^\[HC-4\] .* services\.user-service\.restart: expected always or unless-stopped, found no$/,
    ],
    [
      '[HC-4] a restart policy that gives up',
      (i) => {
        service(i, 'redis').restart = 'on-failure:1'
      },
      /^\[HC-4\] .* services\.redis\.restart: expected always or unless-stopped, found on-failure:1$/,
    ],
    [
      '[RL-4] no memory limit',
      (i) => {
        delete service(i, 'redis').deploy
      },
      /^\[RL-4\] .* services\.redis\.deploy\.resources\.limits\.memory: expected a memory limit, found none$/,
    ],
    [
      '[RL-1] a memory limit other than the guide’s',
      (i) => {
        limits(i, 'api-gateway').memory = '1073741824'
      },
      /^\[RL-1\] .* services\.api-gateway\.deploy\.resources\.limits\.memory: expected 2G, found 1G$/,
    ],
    [
      '[RL-1] another heap for Elasticsearch',
      (i) => {
        service(i, 'elasticsearch').environment = { ...service(i, 'elasticsearch').environment, ES_JAVA_OPTS: '-Xmx4g' }
      },
      /^\[RL-1\] .* services\.elasticsearch\.environment\.ES_JAVA_OPTS: expected -Xms2g -Xmx2g, found -Xmx4g$/,
    ],
    [
      '[NI-1] a backend network with a way out',
      (i) => {
        i.model.networks = { ...i.model.networks, backend: { driver: 'bridge' } }
      },
      /^\[NI-1\] compose\.yaml networks\.backend\.internal: expected true, found false$/,
    ],
    [
      '[NI-2] postgres also on frontend',
      (i) => {
        service(i, 'postgres').networks = { backend: null, frontend: null }
      },
      /^\[NI-2\] .* services\.postgres\.networks: expected backend only, found backend, frontend$/,
    ],
    [
      '[NI-4] the gateway published on the host',
      (i) => {
        service(i, 'api-gateway').ports = [{ target: 3003, published: '3003' }]
      },
      /^\[NI-4\] .* services\.api-gateway\.ports: expected no published port, found 3003:3003$/,
    ],
    [
      '[NI-4] the gateway off the backend network',
      (i) => {
        service(i, 'api-gateway').networks = { frontend: null }
      },
      /^\[NI-4\] .* services\.api-gateway\.networks: expected frontend and backend, found frontend$/,
    ],
    [
      '[NI-5] a backend port published',
      (i) => {
        service(i, 'redis').ports = [{ target: 6379, published: '6379' }]
      },
      /^\[NI-5\] .* services\.redis\.ports: expected no published port, found 6379:6379$/,
    ],
    [
      '[LC-7] an image on latest',
      (i) => {
        service(i, 'redis').image = 'redis:latest'
      },
      /^\[LC-7\] .* services\.redis\.image: expected an image pinned to a tag other than latest, found redis:latest$/,
    ],
    [
      '[LC-7] an untagged image',
      (i) => {
        service(i, 'nginx').image = 'registry.example.test:5000/nginx'
      },
      /^\[LC-7\] .* services\.nginx\.image: expected .*, found registry\.example\.test:5000\/nginx$/,
    ],
    [
      '[LC-7] postgres data in a bind mount',
      (i) => {
        service(i, 'postgres').volumes = [{ type: 'bind', source: '/srv/pg', target: '/var/lib/postgresql/data' }]
      },
      /^\[LC-7\] .* services\.postgres\.volumes: expected a named volume at \/var\/lib\/postgresql\/data, found bind \/srv\/pg$/,
    ],
    [
      '[CF-1] a password written in the compose file',
      (i) => {
        rewrite(
          i,
          'POSTGRES_PASSWORD: ${DATABASE_PASSWORD:?set DATABASE_PASSWORD (see .env.example)}',
          'POSTGRES_PASSWORD: hunter2',
        )
      },
      /^\[CF-1\] compose\.yaml:\d+ POSTGRES_PASSWORD: expected a value from a variable \(\$\{\.\.\.\}\), found a literal value$/,
    ],
    [
      '[CF-1] a password inside a URL',
      (i) => {
        rewrite(i, 'amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@rabbitmq:5672', 'amqp://banyan:hunter2@rabbitmq:5672')
      },
      /^\[CF-1\] compose\.yaml:\d+ RABBITMQ_URL: expected a password from a variable in the URL, found a literal password$/,
    ],
    [
      '[CF-1] a literal --requirepass',
      (i) => {
        rewrite(i, /--requirepass \$\{REDIS_PASSWORD[^}]*\}/, '--requirepass hunter2')
      },
      /^\[CF-1\] compose\.yaml:\d+ command: expected --requirepass from a variable, found a literal password$/,
    ],
    [
      '[NI-3] redis on a network of its own as well',
      (i) => {
        service(i, 'redis').networks = { backend: null, egress: null }
      },
      /^\[NI-3\] .* services\.redis\.networks: expected backend only, found backend, egress$/,
    ],
    [
      '[CF-1] a password with a fallback in the file',
      (i) => {
        rewrite(
          i,
          'POSTGRES_PASSWORD: ${DATABASE_PASSWORD:?set DATABASE_PASSWORD (see .env.example)}',
          'POSTGRES_PASSWORD: ${DATABASE_PASSWORD:-postgres}',
        )
      },
      /^\[CF-1\] compose\.yaml:\d+ POSTGRES_PASSWORD: expected a variable with no fallback \(\$\{VAR:\?\.\.\.\}\), found \$\{DATABASE_PASSWORD:-postgres\}$/,
    ],
    [
      '[CF-1] redis falling back to a known password',
      (i) => {
        rewrite(i, /--requirepass \$\{REDIS_PASSWORD[^}]*\}/, '--requirepass ${REDIS_PASSWORD:-changeme}')
      },
      /^\[CF-1\] compose\.yaml:\d+ command: expected --requirepass with no fallback, found \$\{REDIS_PASSWORD:-changeme\}$/,
    ],
    [
      '[CF-1] a variable .env.example does not list',
      (i) => {
        rewrite(i, 'JWT_EXPIRATION: ${JWT_EXPIRATION:-300}', 'JWT_EXPIRATION: ${JWT_TTL:-300}')
      },
      /^\[CF-1\] \.env\.example variables: expected every variable the compose files use, found no JWT_TTL$/,
    ],
    [
      '[NI-1] a network of another driver than the guide’s bridge',
      (i) => {
        const frontend = i.model.networks?.['frontend']
        if (frontend) frontend.driver = 'macvlan'
      },
      /^\[NI-1\] compose\.yaml networks\.frontend\.driver: expected bridge, found macvlan$/,
    ],
    [
      '[LB-2] round robin instead of least_conn',
      (i) => {
        nginx(i, 'least_conn;', '')
      },
      /^\[LB-2\] nginx\.conf:\d+ upstream api_gateway: expected least_conn, found round robin \(no balancing method\)$/,
    ],
    [
      '[LB-4] no X-Real-IP',
      (i) => {
        nginx(i, /proxy_set_header X-Real-IP .*\n/, '')
      },
      /^\[LB-4\] nginx\.conf:\d+ proxy_set_header X-Real-IP: expected \$remote_addr, found none$/,
    ],
    [
      '[OB-2] no Grafana at all',
      (i) => {
        delete i.model.services.grafana
      },
      /^\[OB-2\] .* services\.grafana\.image: expected a grafana service \(the guide’s Grafana, on 5005\), found none$/,
    ],
    [
      '[OB-2] Grafana without its provisioning',
      (i) => {
        const grafana = service(i, 'grafana')
        grafana.volumes = (grafana.volumes ?? []).filter((mount) => mount.target !== policy.grafana.provisioning)
      },
      /^\[OB-2\] .* services\.grafana\.volumes: expected a provisioning folder mounted at \/etc\/grafana\/provisioning, found none$/,
    ],
    [
      '[OB-2] a dashboards folder without the guide’s dashboards',
      (i) => {
        const dashboards = (service(i, 'grafana').volumes ?? []).find(
          (mount) => mount.target === '/var/lib/grafana/dashboards',
        )
        if (dashboards === undefined) throw new Error('the reference mounts no dashboards folder')
        dashboards.source = join(ROOT, 'fixtures', 'mutants', 'files')
      },
      /^\[OB-2\] .* services\.grafana\.volumes: expected the guide's dashboards "Service health and performance", .*"Business metrics", found none$/,
    ],
  ]

  it.for(controls)('reject %s', ([, change, expected]) => {
    expect(findingsAfter(change)).toEqual([expect.stringMatching(expected)])
  })

  it('[LB-2] refute the guide’s nginx.conf as written: Compose v2 does not resolve api-gateway-1..3', () => {
    const guide = join(ROOT, 'fixtures/guide/nginx.conf')
    const lines = findingsAfter((input) => {
      input.nginx = { file: guide, text: readFileSync(guide, 'utf8') }
    })
    expect(lines).toEqual(
      [1, 2, 3].map((n): unknown =>
        expect.stringMatching(
          new RegExp(
            `^\\[LB-2\\] nginx\\.conf:\\d+ upstream api_gateway server api-gateway-${n}: expected a name Compose v2 resolves to the replicas \\(api-gateway\\), found api-gateway-${n}$`,
          ),
        ),
      ),
    )
  })
})

describe('the compose files as written', () => {
  it('include the files their services extend: a literal secret there is the deployment’s too', () => {
    const minimal = join(ROOT, 'fixtures/minimal/compose.yaml')
    expect(withExtended([minimal])).toEqual([minimal, join(ROOT, 'fixtures/stack/compose.yaml')])
  })
})
