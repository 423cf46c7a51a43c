import { randomBytes, randomInt } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { policy } from '../fixtures/policy.ts'
import { bundleServices } from '../fixtures/stack/services/bundle.ts'
import { declaredRulesFile, runRules } from './alerting.ts'
import { composeBuild, type ComposeHealthcheck, type ComposeModel } from './compose.ts'
import type { Config } from './config.ts'
import { ownerOf, runLabels } from './labels.ts'
import { withLock } from './lock.ts'
import type { Offers } from './offers.ts'
import type { Preflight } from './preflight.ts'
import { durationMs } from './units.ts'
import { atLeast } from './versions.ts'

/** One run of the suite against one throwaway stack: what the CLI hands the test workers. */
export interface RunContext {
  readonly runId: string
  readonly owner: string
  /** The stack's compose files, then this run's generated override. */
  readonly composeFiles: readonly string[]
  readonly projectDirectory: string
  /** The services the stack declares (active profiles only), as Compose resolved them. */
  readonly services: readonly string[]
  /** Where this run keeps its override, evidence and reports. */
  readonly runDir: string
  /** What Compose reads: this run's credentials and the image variables. */
  readonly composeEnv: Readonly<Record<string, string>>
  readonly startupBudgetMs: number
  readonly keep: boolean
  readonly health: HealthTiming
  /** HC-1: how long each service may take to turn healthy under the timings it declares (null: no check). */
  readonly healthBudgetsMs: Readonly<Record<string, number | null>>
  /** What the stack offers beyond the guide (helpers/offers.ts). */
  readonly offers: Offers
  /** The claims preflight found nothing to check in (helpers/claims.ts's Unverifiable): their tests do not run. */
  readonly unverifiable: readonly string[]
  /** The stack's alerting rules on this machine, as it declares them (the run's Prometheus loads a copy); null without alerting. */
  readonly declaredRules: string | null
  /** Where the stack is deployed: a Compose project, or a Swarm stack of the run's name. */
  readonly target: Config['target']
}

const SECRET_VARIABLES = [
  'DATABASE_PASSWORD',
  'RABBITMQ_PASSWORD',
  'REDIS_PASSWORD',
  'JWT_SECRET',
  'GRAFANA_ADMIN_PASSWORD',
] as const

/**
 * CF-2: the variables a deployment must be given, with no default: the guide's `.env` has a
 * placeholder for each secret (<SECURE_PASSWORD>, <SECURE_RANDOM_SECRET>), and a user name is a
 * credential as much as its password. A stack that starts without one runs with a value nobody
 * chose.
 */
export const REQUIRED_VARIABLES = ['DATABASE_USER', 'RABBITMQ_USER', ...SECRET_VARIABLES] as const

/** The reference stack's published ports; a throwaway run takes any free one for each. */
const PUBLISHED_PORTS = ['NGINX_HTTP_PORT', 'GRAFANA_PORT', 'JAEGER_UI_PORT'] as const

export const newRunId = (): string => `bv-${randomBytes(4).toString('hex')}`

/**
 * Fresh credentials for every run: nothing a run leaves behind, in a log or a kept volume, opens
 * the next one. Hex only, so they can stand in a URL (amqp://user:password@host) unescaped.
 */
export function newCredentials(): Record<string, string> {
  const secret = (bytes: number): string => randomBytes(bytes).toString('hex')
  return {
    DATABASE_USER: `banyan_${secret(3)}`,
    DATABASE_NAME: 'eventstore',
    RABBITMQ_USER: `banyan_${secret(3)}`,
    ...Object.fromEntries(SECRET_VARIABLES.map((name) => [name, secret(16)])),
  }
}

/**
 * What a throwaway run gives Compose: fresh credentials, the guide's token lifetime, and every
 * published port on any free one (unless set), so two runs side by side do not both want port 80.
 */
export function newRunEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    ...Object.fromEntries(PUBLISHED_PORTS.filter((name) => !env[name]).map((name) => [name, '0'])),
    // The token lifetime the operator asks for; CF-5 holds the gateway to this value, not to its own.
    JWT_EXPIRATION:
      env.JWT_EXPIRATION ?? String(randomInt(policy.jwtExpirationSeconds.min, policy.jwtExpirationSeconds.max + 1)),
    ...newCredentials(),
  }
}

/** The values that must never reach a log or a report, by the variable that holds each. */
export function namedSecretsOf(env: Readonly<Record<string, string | undefined>>): [string, string][] {
  return SECRET_VARIABLES.flatMap((name) => {
    const value = env[name]
    return value === undefined || value === '' ? [] : [[name, value] as [string, string]]
  })
}

/** The values that must never reach a log or a report. */
export function secretsOf(env: Readonly<Record<string, string | undefined>>): string[] {
  return namedSecretsOf(env).map(([, value]) => value)
}

/**
 * How the live stack runs its health checks. `interval` null keeps each check's declared interval;
 * `startInterval` probes that often until the first success (Engine 25+'s start_interval).
 */
export interface HealthTiming {
  readonly interval: string | null
  readonly startInterval: string | null
}

/** Engines from 25 on run start_interval; older ones run the first probe one full interval after start. */
export const START_INTERVAL_ENGINE = '25.0'

/**
 * The timings a run uses, from BANYAN_HEALTH_INTERVAL and the engine. `auto` runs the declared
 * timings where the engine has start_interval (fast to start, and an idle stack costs the machine
 * what the guide's timings cost), and 1 s probes where it has not: the guide's 30 s interval would
 * make every start wait 30 s there. Every probe is a `docker exec`; a second's worth of them across
 * the stack kept a 2-core machine 44 to 82 % busy.
 */
export function healthTiming(setting: string, engine: string): HealthTiming {
  if (setting === 'declared') return { interval: null, startInterval: null }
  if (setting !== 'auto') return { interval: setting, startInterval: null }
  return atLeast(engine, START_INTERVAL_ENGINE)
    ? { interval: null, startInterval: '1s' }
    : { interval: '1s', startInterval: null }
}

/** How a run's health timing reads in its report. */
export function describeTiming(timing: HealthTiming): string {
  if (timing.interval !== null) return `every ${timing.interval}, the declared grace kept as start period`
  if (timing.startInterval !== null) return `as declared, probing every ${timing.startInterval} until first healthy`
  return 'as declared'
}

/**
 * The start-up grace a health check declares: its start period, or its interval times its
 * retries if that is longer, the time its failures take to make a container unhealthy.
 */
function declaredGraceMs(check: ComposeHealthcheck): number {
  const interval = durationMs(check.interval ?? '30s')
  return Math.max(durationMs(check.start_period ?? '0s'), interval * (check.retries ?? 3))
}

/** What the run's override changes in one health check (see healthTiming). */
function runHealthcheck(check: ComposeHealthcheck | undefined, timing: HealthTiming): object {
  if (check === undefined || check.disable === true) return {}
  // The declared grace becomes the start period, so a slow start (initdb on a busy machine) is not
  // called unhealthy sooner than declared; a success still counts at once, and ends it.
  const start_period = `${declaredGraceMs(check)}ms`
  if (timing.interval !== null) return { healthcheck: { interval: timing.interval, start_period } }
  if (timing.startInterval !== null) return { healthcheck: { start_period, start_interval: timing.startInterval } }
  return {}
}

/**
 * The override this run adds on top of the stack's own files: the run's labels on every service,
 * network and volume (so the sweep finds them), and the run's health timing (healthTiming). The
 * declared timings are checked from the configuration whichever the live stack runs.
 */
export function runOverride(model: ComposeModel, labels: Record<string, string>, timing: HealthTiming): object {
  const labelled = (entries: Record<string, { external?: boolean }> | undefined): Record<string, object> =>
    Object.fromEntries(
      Object.entries(entries ?? {})
        .filter(([, entry]) => entry.external !== true)
        .map(([name]) => [name, { labels }]),
    )
  const services = Object.fromEntries(
    Object.entries(model.services).map(([name, service]) => [
      name,
      { labels, ...runHealthcheck(service.healthcheck, timing) },
    ]),
  )
  return { services, networks: labelled(model.networks), volumes: labelled(model.volumes) }
}

/**
 * HC-1's budget for each service, from the health check its compose file declares, not the one
 * the run's override makes it run: its start period plus as many failed probes as make it
 * unhealthy. Healthy later than that, Docker running the declared timings would have called it
 * unhealthy first.
 */
export function healthBudgetsMs(model: ComposeModel): Record<string, number | null> {
  return Object.fromEntries(
    Object.entries(model.services).map(([name, { healthcheck: check }]) => [
      name,
      check === undefined || check.disable === true
        ? null
        : durationMs(check.start_period ?? '0s') + durationMs(check.interval ?? '30s') * (check.retries ?? 3),
    ]),
  )
}

/** How long the stack may take to turn healthy: the slowest health check's worst case, plus room to create. */
export function startupBudgetMs(model: ComposeModel, timing: HealthTiming): number {
  const worst = Object.values(model.services).map(({ healthcheck: check }) => {
    if (check === undefined || check.disable === true) return 0
    const interval = durationMs(timing.interval ?? check.interval ?? '30s')
    const timeout = durationMs(check.timeout ?? '30s')
    const asDeclared = timing.interval === null && timing.startInterval === null
    const grace = asDeclared ? durationMs(check.start_period ?? '0s') : declaredGraceMs(check)
    return grace + ((check.retries ?? 3) + 1) * (interval + timeout)
  })
  return Math.max(0, ...worst) + 60_000
}

export function prepareRun(config: Config, checked: Preflight, composeEnv: Record<string, string>): RunContext {
  const runId = newRunId()
  const owner = ownerOf()
  const dir = join(config.reportsDir, 'runs', runId)
  mkdirSync(dir, { recursive: true })
  const overrideFile = join(dir, 'compose.run.json')
  const health = healthTiming(config.healthInterval, checked.engine)
  const override = runOverride(checked.model, runLabels(runId, owner), health) as { services: Record<string, object> }
  // The alerting rules with their `for` shortened (helpers/alerting.ts), where the run has them.
  const alerting = checked.offers.alerting
  const alertingOn = alerting !== undefined && checked.model.services[alerting.prometheus.service] !== undefined
  if (alertingOn) {
    for (const [service, part] of Object.entries(runRules(checked.model, alerting, dir)))
      override.services[service] = { ...override.services[service], ...part }
  }
  // JSON is YAML, and Compose reads it as an override like any other file.
  writeFileSync(overrideFile, JSON.stringify(override, null, 2))
  return {
    runId,
    owner,
    composeFiles: [...config.composeFiles, overrideFile],
    projectDirectory: config.projectDirectory,
    services: Object.keys(checked.model.services),
    runDir: dir,
    composeEnv,
    startupBudgetMs: startupBudgetMs(checked.model, health),
    keep: config.keep,
    health,
    healthBudgetsMs: healthBudgetsMs(checked.model),
    offers: checked.offers,
    unverifiable: checked.unverifiable.flatMap(({ claims }) => claims),
    declaredRules: alertingOn ? declaredRulesFile(checked.model, alerting) : null,
    target: config.target,
  }
}

const RUN_VARIABLE = 'BANYAN_RUN'

/** The run travels to the test workers in one variable; the credentials travel as themselves, for Compose. */
export function runToEnv(run: RunContext): Record<string, string> {
  return {
    ...run.composeEnv,
    // What the tests create outside Compose (probe containers) is labelled with this run, too.
    BANYAN_RUN_ID: run.runId,
    BANYAN_OWNER: run.owner,
    [RUN_VARIABLE]: JSON.stringify({ ...run, composeEnv: Object.keys(run.composeEnv) }),
  }
}

export function runFromEnv(env: NodeJS.ProcessEnv = process.env): RunContext {
  const text = env[RUN_VARIABLE]
  if (text === undefined) {
    throw new Error('the stack suites run inside a run of the main job: start them with `pnpm test:stack`')
  }
  const run = JSON.parse(text) as Omit<RunContext, 'composeEnv'> & { composeEnv: string[] }
  return { ...run, composeEnv: Object.fromEntries(run.composeEnv.map((name) => [name, env[name] ?? ''])) }
}

const BUILD_PROJECT = 'banyan-verify-build'

/** A run ready to start: its override written, the services bundled and their images built. */
export async function readyRun(
  config: Config,
  checked: Preflight,
  runEnv: Record<string, string>,
): Promise<RunContext> {
  const run = prepareRun(config, checked, { ...checked.images, COMPOSE_PROFILES: checked.profiles, ...runEnv })
  // Two runs side by side (the negative controls) must not write the same bundles and tags at once.
  await withLock('build', async () => {
    await bundleServices()
    // One project name for every build: Compose labels an image with the project it built it for,
    // so a name per run made a new image each run and left the last one dangling (663 in a day).
    await composeBuild(run, BUILD_PROJECT, checked.model, { ...process.env, ...run.composeEnv })
  })
  return run
}
