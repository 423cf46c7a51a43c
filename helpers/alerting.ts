// The guide's alerts (OB-5) on a live stack: the rules its Prometheus runs, with their `for`
// durations shortened for the run the way health intervals are (the declared ones are held to the
// guide by promtool, on the guide's real durations), the guide's database alert as it writes it
// loaded beside them, and what Alertmanager holds, read from its API.
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { parse, stringify } from 'yaml'
import { ROOT } from './config.ts'
import type { ComposeModel } from './compose.ts'
import type { Offers } from './offers.ts'
import { durationMs } from './units.ts'

/** Every alert's `for` in the run: long enough to need several evaluations, short enough to wait out. */
export const RUN_FOR = '10s'

/**
 * The longest range a rule of the run's copy looks back over (`rate(x[5m])` becomes `[20s]`): an
 * alert clears once its condition's window has emptied, and the stack's minutes would be waited
 * out twice. Four scrapes at the reference's 5 s, enough for a rate.
 */
export const RUN_RANGE = '20s'

/**
 * An expression with every range longer than RUN_RANGE shortened to it: a range vector's
 * (`x[5m]`), in PromQL's compound form too (`[1m30s]`), and a subquery's range (`[5m:30s]`, its
 * step kept).
 */
export function shortenedRanges(expr: string): string {
  return expr.replace(/\[((?:\d+(?:ms|s|m|h|d|w|y))+)(:[^\]]*)?\]/g, (whole, range: string, step?: string) => {
    const ms = [...range.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)].reduce(
      (sum, [, amount = '0', unit = 's']) => sum + Number(amount) * (RANGE_UNITS_MS[unit] ?? 0),
      0,
    )
    return ms > durationMs(RUN_RANGE) ? `[${RUN_RANGE}${step ?? ''}]` : whole
  })
}

/** PromQL's duration units (a range's), in milliseconds. */
const RANGE_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
}

/** The guide's database alert as it writes it, loaded beside the stack's under this name. */
export const AS_WRITTEN = 'DatabaseConnectionIssuesAsTheGuideWritesIt'

export const GUIDE_AS_WRITTEN = join(ROOT, 'fixtures', 'guide', 'alerts-as-written.yml')

/** The guide's alerts on synthetic series (promtool's rule tests), under these names. */
export const GUIDE_RULE_TEST = join(ROOT, 'fixtures', 'guide', 'alerts.test.yml')
export const GUIDE_NAMES = {
  errorRate: 'HighErrorRate',
  databaseConnections: 'DatabaseConnectionIssues',
  queueDepth: 'QueueDepthWarning',
} as const

type Alerts = NonNullable<Offers['alerting']>['alerts']

interface RuleFile {
  groups: { name: string; rules: { alert?: string; for?: string; expr?: string; [key: string]: unknown }[] }[]
}

/** The stack's rules file on this machine: the bind mount of the Prometheus service that Prometheus reads them from. */
export function declaredRulesFile(model: ComposeModel, alerting: NonNullable<Offers['alerting']>): string {
  const { service, rules } = alerting.prometheus
  const mount = model.services[service]?.volumes?.find((volume) => volume.target === rules)
  if (mount?.type !== 'bind' || mount.source === undefined)
    throw new Error(
      `the ${service} service mounts no file of the stack's at ${rules} (offers.json alerting.prometheus.rules)`,
    )
  return mount.source
}

/**
 * The rules the run's Prometheus loads, written into the run's folder: the stack's own with every
 * `for` at RUN_FOR, and the guide's database alert as written, renamed. Returns the run override's
 * part for the Prometheus service, which mounts this file where the stack's was.
 */
export function runRules(
  model: ComposeModel,
  alerting: NonNullable<Offers['alerting']>,
  dir: string,
): Record<string, object> {
  const declared = parse(readFileSync(declaredRulesFile(model, alerting), 'utf8')) as RuleFile
  const guide = parse(readFileSync(GUIDE_AS_WRITTEN, 'utf8')) as RuleFile
  const groups = [
    ...declared.groups,
    ...guide.groups.map((group) => ({
      ...group,
      rules: group.rules.map((rule) => ({ ...rule, alert: AS_WRITTEN })),
    })),
  ].map((group) => ({
    ...group,
    // Recording rules' ranges too: an alert that reads one would otherwise lag by its minutes.
    rules: group.rules.map((rule) =>
      rule.alert === undefined
        ? { ...rule, ...(rule.expr === undefined ? {} : { expr: shortenedRanges(rule.expr) }) }
        : { ...rule, for: RUN_FOR, expr: shortenedRanges(rule.expr ?? '') },
    ),
  }))
  const file = join(dir, 'alerts.run.yml')
  writeFileSync(file, stringify({ groups }))
  return {
    [alerting.prometheus.service]: {
      volumes: [{ type: 'bind', source: file, target: alerting.prometheus.rules, read_only: true }],
    },
  }
}

/**
 * A folder for `promtool test rules`: the guide's tests (GUIDE_RULE_TEST), and the stack's rules
 * with its three alerts under the tests' names and without their labels and annotations (which
 * are the stack's own choice; the tests expect only a queue's name). Its other rules stay, for a
 * recording rule an alert may read. Readable by anyone: promtool may run as nobody in an image.
 */
export function guideRuleTest(rulesFile: string, names: Alerts, dir: string): string {
  const declared = parse(readFileSync(rulesFile, 'utf8')) as RuleFile
  const canonical = new Map(Object.entries(names).map(([key, name]) => [name, GUIDE_NAMES[key as keyof Alerts]]))
  const groups = declared.groups.map((group) => ({
    ...group,
    rules: group.rules.map((rule) => {
      const renamed = rule.alert === undefined ? undefined : canonical.get(rule.alert)
      if (renamed === undefined) return rule
      const { labels: _labels, annotations: _annotations, ...kept } = rule
      return { ...kept, alert: renamed }
    }),
  }))
  writeFileSync(join(dir, 'rules.yml'), stringify({ groups }))
  copyFileSync(GUIDE_RULE_TEST, join(dir, 'alerts.test.yml'))
  chmodSync(dir, 0o755)
  for (const file of ['rules.yml', 'alerts.test.yml']) chmodSync(join(dir, file), 0o644)
  return join(dir, 'alerts.test.yml')
}

/** A JSON answer of Prometheus's or Alertmanager's HTTP API, or an error naming what answered. */
async function getJson<T>(address: string, path: string): Promise<T> {
  const response = await request(`http://${address}${path}`, { headersTimeout: 5_000, bodyTimeout: 5_000 })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`${address} answered ${response.statusCode} to GET ${path}`)
  }
  return (await response.body.json()) as T
}

const prometheusApi = async <T>(address: string, path: string): Promise<T> =>
  (await getJson<{ data: T }>(address, path)).data

export interface HeldAlert {
  readonly labels: Record<string, string>
  readonly status: { readonly state: string }
}

/** The alerts Alertmanager holds now (API v2), active or not. */
export const heldAlerts = (address: string): Promise<HeldAlert[]> => getJson(address, '/api/v2/alerts')

/** Whether the named alert is active in Alertmanager (received from Prometheus as firing, not silenced). */
export async function firing(address: string, alertname: string): Promise<boolean> {
  return (await heldAlerts(address)).some(
    (alert) => alert.labels.alertname === alertname && alert.status.state === 'active',
  )
}

/** Whether Alertmanager holds the named alert in any state but resolved: active, silenced, inhibited or not yet processed. */
export async function held(address: string, alertname: string): Promise<boolean> {
  return (await heldAlerts(address)).some((alert) => alert.labels.alertname === alertname)
}

export interface LoadedRule {
  readonly name: string
  readonly file: string
  /** Its `for`, in seconds. */
  readonly duration: number
  readonly health: string
  /** inactive, pending or firing. */
  readonly state: string
  /** How often Prometheus evaluates the rule's group, in milliseconds. */
  readonly intervalMs: number
  /** When it last evaluated the group, in milliseconds since the epoch (Prometheus's clock). */
  readonly lastEvaluationMs: number
}

/** The alerting rules Prometheus has loaded, with the file each came from, its state now and its group's evaluations. */
export async function loadedRules(address: string): Promise<LoadedRule[]> {
  const { groups } = await prometheusApi<{
    groups: {
      file: string
      interval: number
      lastEvaluation: string
      rules: { name: string; duration: number; health: string; state: string }[]
    }[]
  }>(address, '/api/v1/rules?type=alert')
  return groups.flatMap(({ file, interval, lastEvaluation, rules }) =>
    rules.map(({ name, duration, health, state }) => ({
      name,
      file,
      duration,
      health,
      state,
      intervalMs: interval * 1000,
      lastEvaluationMs: Date.parse(lastEvaluation),
    })),
  )
}

/** When Prometheus last scraped each of its targets (ms since the epoch; never scraped reads as long ago), and whether that scrape worked. */
export async function lastScrapes(address: string): Promise<{ at: number; up: boolean }[]> {
  const { activeTargets } = await prometheusApi<{ activeTargets: { lastScrape: string; health: string }[] }>(
    address,
    '/api/v1/targets?state=active',
  )
  return activeTargets.map(({ lastScrape, health }) => ({ at: Date.parse(lastScrape), up: health === 'up' }))
}

/** The Alertmanagers Prometheus sends its alerts to, by URL. */
export async function alertmanagersOf(address: string): Promise<string[]> {
  const { activeAlertmanagers } = await prometheusApi<{ activeAlertmanagers: { url: string }[] }>(
    address,
    '/api/v1/alertmanagers',
  )
  return activeAlertmanagers.map(({ url }) => url)
}
