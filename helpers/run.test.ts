import { describe, expect, it } from 'vitest'
import type { ComposeModel } from './compose.ts'
import {
  newCredentials,
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

describe('the run override', () => {
  it('labels every service, network and volume the run creates, and none it does not', () => {
    const override = runOverride(model, labels, null) as Record<string, Record<string, unknown>>
    expect(Object.keys(override.services ?? {})).toEqual(['postgres', 'rabbitmq', 'migrations', 'legacy'])
    expect(override.networks).toEqual({ backend: { labels } })
    expect(override.volumes).toEqual({ 'postgres-data': { labels } })
  })

  it('shortens the interval of the health checks that exist, only when asked, and keeps the declared grace', () => {
    expect(runOverride(model, labels, '1s')).toMatchObject({
      services: {
        // postgres declares 10 s × 5 retries; rabbitmq 30 s × 5 retries (longer than its 5 s start period).
        postgres: { healthcheck: { interval: '1s', start_period: '50000ms' } },
        rabbitmq: { healthcheck: { interval: '1s', start_period: '150000ms' } },
        migrations: { labels },
        legacy: { labels },
      },
    })
    expect(JSON.stringify(runOverride(model, labels, null))).not.toContain('healthcheck')
    expect(JSON.stringify((runOverride(model, labels, '1s') as { services: object }).services)).not.toMatch(
      /"(migrations|legacy)":\{[^}]*healthcheck/,
    )
  })

  it('budgets start-up by the slowest health check at its worst, plus a minute to create', () => {
    // rabbitmq as declared: 5 s start period + 6 probes × (30 s interval + 10 s timeout).
    expect(startupBudgetMs(model, null)).toBe(5_000 + 6 * 40_000 + 60_000)
    // With 1 s probes it keeps its declared 150 s grace: 150 s + 6 × (1 s + 10 s).
    expect(startupBudgetMs(model, '1s')).toBe(150_000 + 6 * 11_000 + 60_000)
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
      healthInterval: '1s',
    }
    const env = runToEnv(run)
    expect(env.BANYAN_RUN).not.toContain(composeEnv.DATABASE_PASSWORD)
    expect(runFromEnv(env)).toEqual(run)
  })
})
