import { describe, expect, it } from 'vitest'
import type { ComposeModel } from './compose.ts'
import {
  newCredentials,
  healthBudgetsMs,
  healthTiming,
  runFromEnv,
  runOverride,
  runToEnv,
  secretsOf,
  startupBudgetMs,
  type RunContext,
} from './run.ts'

const model: ComposeModel = {
  name: 'banyan-core',
  services: {
    postgres: { healthcheck: { interval: '10s', timeout: '5s', retries: 5 } },
    rabbitmq: { healthcheck: { interval: '30s', timeout: '10s', retries: 5, start_period: '5s' } },
    migrations: {},
    legacy: { healthcheck: { disable: true } },
  },
  networks: { backend: { internal: true }, shared: { external: true } },
  volumes: { 'postgres-data': {} },
}
const labels = { 'io.banyan-verify.run': 'bv-1' }
const declared = { interval: null, startInterval: null }
const everySecond = { interval: '1s', startInterval: null }
const startFast = { interval: null, startInterval: '1s' }

describe('the run override', () => {
  it('labels every service, network and volume the run creates, and none it does not', () => {
    const override = runOverride(model, labels, declared) as Record<string, Record<string, unknown>>
    expect(Object.keys(override.services ?? {})).toEqual(['postgres', 'rabbitmq', 'migrations', 'legacy'])
    expect(override.networks).toEqual({ backend: { labels } })
    expect(override.volumes).toEqual({ 'postgres-data': { labels } })
  })

  it('shortens the interval of the health checks that exist, only when asked, and keeps the declared grace', () => {
    expect(runOverride(model, labels, everySecond)).toMatchObject({
      services: {
        // postgres declares 10 s × 5 retries; rabbitmq 30 s × 5 retries (longer than its 5 s start period).
        postgres: { healthcheck: { interval: '1s', start_period: '50000ms' } },
        rabbitmq: { healthcheck: { interval: '1s', start_period: '150000ms' } },
        migrations: { labels },
        legacy: { labels },
      },
    })
    expect(JSON.stringify(runOverride(model, labels, declared))).not.toContain('healthcheck')
    expect(JSON.stringify((runOverride(model, labels, everySecond) as { services: object }).services)).not.toMatch(
      /"(migrations|legacy)":\{[^}]*healthcheck/,
    )
  })

  it('keeps the declared timings where the engine has start_interval, probing fast only until first healthy', () => {
    expect(runOverride(model, labels, startFast)).toMatchObject({
      services: {
        postgres: { healthcheck: { start_period: '50000ms', start_interval: '1s' } },
        rabbitmq: { healthcheck: { start_period: '150000ms', start_interval: '1s' } },
      },
    })
    expect(JSON.stringify(runOverride(model, labels, startFast))).not.toMatch(/"interval"/)
  })

  it.for([
    ['auto', '26.1.5+dfsg1', startFast],
    ['auto', '20.10.24+dfsg1', everySecond],
    ['declared', '20.10.24', declared],
    ['500ms', '26.1.5', { interval: '500ms', startInterval: null }],
  ] as const)('BANYAN_HEALTH_INTERVAL=%s on Engine %s runs %o', ([setting, engine, timing]) => {
    expect(healthTiming(setting, engine)).toEqual(timing)
  })

  it('budgets each service’s time to healthy by the timings it declares', () => {
    expect(healthBudgetsMs(model)).toEqual({
      postgres: 50_000,
      rabbitmq: 5_000 + 150_000,
      migrations: null,
      legacy: null,
    })
  })

  it('budgets start-up by the slowest health check at its worst, plus a minute to create', () => {
    // rabbitmq as declared: 5 s start period + 6 probes × (30 s interval + 10 s timeout).
    expect(startupBudgetMs(model, declared)).toBe(5_000 + 6 * 40_000 + 60_000)
    // With 1 s probes it keeps its declared 150 s grace: 150 s + 6 × (1 s + 10 s).
    expect(startupBudgetMs(model, everySecond)).toBe(150_000 + 6 * 11_000 + 60_000)
  })
})

describe('run credentials', () => {
  it('are fresh for every run and URL-safe', () => {
    const [first, second] = [newCredentials(), newCredentials()]
    expect(first.DATABASE_PASSWORD).not.toBe(second.DATABASE_PASSWORD)
    expect(Object.values(first).join('')).toMatch(/^[a-z0-9_]+$/)
  })

  it('mark every password and secret, and no user name, as a secret', () => {
    const credentials = newCredentials()
    const secrets = ['DATABASE_PASSWORD', 'RABBITMQ_PASSWORD', 'REDIS_PASSWORD', 'JWT_SECRET', 'GRAFANA_ADMIN_PASSWORD']
    expect(secretsOf(credentials).sort()).toEqual(secrets.map((name) => credentials[name]).sort())
    expect(secretsOf(credentials)).not.toContain(credentials.DATABASE_USER)
  })

  it('travel to the test workers as Compose variables, not inside the run description', () => {
    const composeEnv = newCredentials()
    const run: RunContext = {
      runId: 'bv-1',
      owner: 'host:1',
      composeFiles: ['a.yaml'],
      projectDirectory: '/',
      services: ['postgres'],
      runDir: '/tmp',
      composeEnv,
      startupBudgetMs: 1,
      keep: false,
      health: { interval: '1s', startInterval: null },
      healthBudgetsMs: { postgres: 50_000 },
      offers: { api: { token: { refused: 401 } } },
      unverifiable: ['TS-1'],
      declaredRules: null,
      target: 'compose',
    }
    const env = runToEnv(run)
    expect(env.BANYAN_RUN).not.toContain(composeEnv.DATABASE_PASSWORD)
    expect(runFromEnv(env)).toEqual(run)
  })
})
