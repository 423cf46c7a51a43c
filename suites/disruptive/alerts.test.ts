// OB-5. The stack's rules as it declares them, on the guide's synthetic series with promtool (the
// one in the stack's own Prometheus image): each fires just past the guide's threshold after the
// guide's duration, not at the threshold, not a minute sooner, and clears. Then live, one alert at
// a time (so no alert can pass on another's condition): each condition made true for real and the
// alert seen firing in the stack's Alertmanager (API v2), alone, then made false and the alert
// seen clearing. A queue filled past 1000 with no consumer, then purged; connections opened to
// PostgreSQL toward its limit, then closed; requests through nginx failing because a store the
// guide's GET /health needs is frozen, then thawed. Nothing is asked of the services: conditions
// are made from outside, alerts read where the stack sends them. The run's Prometheus waits out
// `for` durations the run shortened (helpers/alerting.ts); the declared ones are promtool's to
// judge. Beside them, the guide's database alert as it writes it, loaded by the run.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { describe, expect, vi } from 'vitest'
import {
  alertmanagersOf,
  AS_WRITTEN,
  firing,
  guideRuleTest,
  held,
  lastScrapes,
  loadedRules,
  RUN_FOR,
  RUN_RANGE,
  type LoadedRule,
} from '../../helpers/alerting.ts'
import { docker, runHelper } from '../../helpers/docker.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { pgClient } from '../../helpers/probes.ts'
import { runFromEnv } from '../../helpers/run.ts'
import {
  addressOf,
  failIfDown,
  freeze,
  offers,
  publishedAddress,
  runningContainerOf,
  stackBroker,
  stackDatabase,
  stackDatabaseConnection,
  thaw,
  verifiable,
  wholeAgain,
} from '../../helpers/stack.ts'
import { it } from '../../helpers/stack-test.ts'
import { durationMs } from '../../helpers/units.ts'
import { clients } from '../../helpers/traffic.ts'

/** The guide's queue depth threshold, and the messages put in a queue to pass it. */
const QUEUE_THRESHOLD = 1000
const QUEUED = QUEUE_THRESHOLD + 100
/** The store whose freezing makes the guide's GET /health fail: the cache, which nothing else waits on. */
const FROZEN = 'redis'

const alerting = () => {
  const found = offers().alerting
  if (found === undefined) throw new Error('the stack describes no alerting (offers.json)')
  return found
}

const backendAddress = async ({ service, port }: { service: string; port: number }): Promise<string> =>
  `${await addressOf(await runningContainerOf(service), 'backend')}:${port}`
const alertmanager = () => backendAddress(alerting().alertmanager)
const prometheus = () => backendAddress(alerting().prometheus)

/**
 * How long Prometheus may go without scraping or evaluating before a check gives up on it: a bound
 * on Prometheus staying alive, not on the stack's timing, which is read from Prometheus's own
 * scrape and evaluation timestamps (below).
 */
const STALLED_MS = 120_000

/** Polls `step` until it returns a value; fails with `why()` once STALLED_MS have passed. */
async function progress<T>(step: () => Promise<T | undefined>, why: () => string): Promise<T> {
  return vi
    .waitFor(
      async () => {
        const value = await step()
        if (value === undefined) throw new Error('not yet')
        return value
      },
      { timeout: STALLED_MS, interval: 1_000 },
    )
    .catch((error: unknown) => {
      throw new Error(why(), { cause: error })
    })
}

/** The alert's rule as the Prometheus at `address` has it now (the address looked up once, not on every poll). */
async function ruleOf(alertname: string, address: string): Promise<LoadedRule> {
  const rule = (await loadedRules(address)).find(({ name }) => name === alertname)
  if (rule === undefined) throw new Error(`the run's Prometheus has no rule ${alertname} loaded`)
  return rule
}

/**
 * Whether an alert shows a change made at `since()` (read again on each poll, for a change that
 * goes on happening), judged by Prometheus's own progress, not by a clock of ours: it answers
 * early once the rule is in the `wanted` state; otherwise once every target has been scraped
 * after the change and the rule's group evaluated past that scrape for the run's longest window
 * (RUN_RANGE), `extraMs` and two evaluations more, so that no rule that would reach it can still
 * be on its way. A busy machine makes this wait longer, never the verdict different. Returns the
 * rule's state then; `meanwhile` runs on each poll (what keeps a condition true).
 */
async function stateAfter(
  alertname: string,
  wanted: 'firing' | 'inactive',
  since: () => number,
  extraMs: number,
  why: () => string,
  meanwhile: () => Promise<unknown> = async () => undefined,
): Promise<string> {
  const address = await prometheus()
  let rule = await ruleOf(alertname, address)
  let scrapedBy = Infinity
  // A pending alert that fell back to inactive (a failed scrape leaves its series stale for an
  // evaluation, and `for` starts again) is judged afresh from then.
  let restartedAt = -Infinity
  const from = () => Math.max(since(), restartedAt)
  return progress(
    async () => {
      await meanwhile()
      const previous = rule.state
      rule = await ruleOf(alertname, address)
      if (rule.state === wanted) return rule.state
      if (wanted === 'firing' && previous === 'pending' && rule.state === 'inactive') {
        restartedAt = Date.now()
        scrapedBy = Infinity
      }
      // The first round of successful scrapes after the change, kept: a later one would put the
      // due time off for ever. Taken again if the change went on (since() moved past it).
      if (scrapedBy === Infinity || scrapedBy < from()) {
        const scrapes = await lastScrapes(address)
        scrapedBy =
          scrapes.length > 0 && scrapes.every(({ at, up }) => up && at >= from())
            ? Math.max(...scrapes.map(({ at }) => at))
            : Infinity
      }
      const due = scrapedBy + durationMs(RUN_RANGE) + extraMs + 2 * rule.intervalMs
      return rule.lastEvaluationMs >= due ? rule.state : undefined
    },
    () =>
      `${alertname} had no verdict ${why()} within ${STALLED_MS / 1000} s: Prometheus ${scrapedBy === Infinity ? 'did not scrape all its targets after the change' : 'did not evaluate it long enough after'} (its state: ${rule.state}, last evaluated ${new Date(rule.lastEvaluationMs).toISOString()})`,
  )
}

/**
 * Whether Alertmanager comes to show the alert as Prometheus does: active once it fires, held in
 * no state once it clears (a silenced alert is not a cleared one). Prometheus sends in the
 * background and, after a failed send, again only a minute later (its resend delay): polled for
 * as long as Prometheus may stall, since waiting cannot make a wrong alert right.
 */
async function alertmanagerAgrees(alertname: string, wanted: 'firing' | 'inactive'): Promise<boolean> {
  const address = await alertmanager()
  const shows = async () => (wanted === 'firing' ? firing(address, alertname) : !(await held(address, alertname)))
  return progress(
    async () => ((await shows()) ? true : undefined),
    () => `Alertmanager did not come to show ${alertname} ${wanted} within ${STALLED_MS / 1000} s`,
  ).catch(() => false)
}

/** Where the alert is in Alertmanager, for a failure's message. */
async function inAlertmanager(alertname: string): Promise<string> {
  const address = await alertmanager()
  if (await firing(address, alertname)) return 'active'
  return (await held(address, alertname)) ? 'held, not active' : 'none'
}

/**
 * The alert fires, in Prometheus and then in Alertmanager, once its condition has held since
 * `since` for the run's `for`. Fails saying where it stayed and for how long Prometheus judged it.
 * Returns the milliseconds from `since` to Alertmanager holding it active.
 */
async function fires(
  alertname: string,
  since: number,
  why: () => string,
  meanwhile?: () => Promise<unknown>,
): Promise<number> {
  const state = await stateAfter(alertname, 'firing', () => since, durationMs(RUN_FOR), why, meanwhile)
  if (state !== 'firing')
    throw new Error(
      `${alertname} never fired ${why()}: Prometheus judged it ${state} after ${Math.round((Date.now() - since) / 1000)} s, past its ${RUN_FOR} \`for\` (Alertmanager: ${await inAlertmanager(alertname)})`,
    )
  if (!(await alertmanagerAgrees(alertname, 'firing')))
    throw new Error(
      `${alertname} fired in Prometheus ${why()} but Alertmanager does not hold it active (${await inAlertmanager(alertname)})`,
    )
  return Date.now() - since
}

/** The alert is quiet (inactive in Prometheus, held by Alertmanager in no state) once its condition has been false since `since()`. */
async function clears(alertname: string, since: () => number, why: () => string): Promise<number> {
  const started = since()
  const state = await stateAfter(alertname, 'inactive', since, 0, why)
  if (state !== 'inactive')
    throw new Error(
      `${alertname} did not clear ${why()}: Prometheus judged it ${state} after ${Math.round((Date.now() - started) / 1000)} s (Alertmanager: ${await inAlertmanager(alertname)})`,
    )
  if (!(await alertmanagerAgrees(alertname, 'inactive')))
    throw new Error(
      `${alertname} cleared in Prometheus ${why()} but Alertmanager still holds it (${await inAlertmanager(alertname)})`,
    )
  return Date.now() - started
}

/** Before a test makes its condition true, the alert is quiet (a test before it may have left it firing). */
async function quietFirst(alertname: string, when: string): Promise<void> {
  const now = Date.now()
  await clears(
    alertname,
    () => now,
    () => when,
  )
}

/**
 * At the moment one alert fires, the guide's other two must not, nor be on their way to it
 * (pending in Prometheus: their condition holds too): each is judged by its own condition.
 */
async function othersQuiet(alertname: string): Promise<string[]> {
  const [address, evaluator] = await Promise.all([alertmanager(), prometheus()])
  const others = Object.values(alerting().alerts).filter((name) => name !== alertname)
  const firingToo = await Promise.all(
    others.map(async (name) => {
      const { state } = await ruleOf(name, evaluator)
      return state !== 'inactive' || (await firing(address, name)) ? [`${name} (${state})`] : []
    }),
  )
  return firingToo.flat()
}

/** Connections to the event store as postgres_exporter counts them: every backend of a database. */
async function connectionsNow(): Promise<{ used: number; max: number; reserved: number }> {
  await using db = await stackDatabase()
  const { rows } = await db.query<{ used: string; max: string; reserved: string }>(
    `SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname IS NOT NULL) AS used,
            current_setting('max_connections') AS max,
            current_setting('superuser_reserved_connections') AS reserved`,
  )
  const [row] = rows
  return { used: Number(row?.used ?? 0), max: Number(row?.max ?? 0), reserved: Number(row?.reserved ?? 0) }
}

describe.runIf(verifiable('OB-5'))("the guide's alerts", { timeout: 900_000 }, () => {
  it("[OB-5] the stack's alerts as it declares them, on the guide's series, fire just past its thresholds after its durations, not at the thresholds nor sooner, and clear", async () => {
    const declared = runFromEnv().declaredRules
    if (declared === null) throw new Error('the run has no alerting rules of the stack')
    const dir = join(runFromEnv().runDir, 'alerts-on-the-guide-series')
    mkdirSync(dir, { recursive: true })
    guideRuleTest(declared, alerting().alerts, dir)
    // promtool from the stack's own Prometheus image: the rule language of the version it runs.
    const { stdout: image } = await docker([
      'inspect',
      '--format',
      '{{.Config.Image}}',
      await runningContainerOf(alerting().prometheus.service),
    ])
    const { exitCode, stdout, stderr } = await runHelper(image.trim(), ['test', 'rules', '/guide/alerts.test.yml'], {
      flags: ['--entrypoint', 'promtool', '--volume', `${dir}:/guide:ro`, '--workdir', '/guide'],
      timeoutMs: 120_000,
    })
    const output = `${stdout}${stderr}`.trim()
    // Which alerts failed, and at which minute, on the message's first line (the summary keeps one).
    const failed = [...output.matchAll(/alertname: (\S+), time: (\S+),/g)].map(([, name, time]) => `${name} at ${time}`)
    expect(
      exitCode,
      `promtool test rules on ${declared} with the guide's series: ${failed.length > 0 ? `failed for ${failed.join(', ')}` : 'did not pass'}\n${output}`,
    ).toBe(0)
  })

  it("[OB-5] the run's Prometheus has loaded the stack's three alerts once each, from the stack's rules file, and sends to the stack's Alertmanager", async () => {
    failIfDown()
    const { prometheus: where, alerts } = alerting()
    const rules = await loadedRules(await prometheus())
    const loaded = Object.fromEntries(
      [...Object.values(alerts), AS_WRITTEN].map((name) => {
        const found = rules.filter((rule) => rule.name === name)
        return [name, found.map(({ file, duration, health }) => `${file} for ${duration}s ${health}`)]
      }),
    )
    const expected = `${where.rules} for ${durationMs(RUN_FOR) / 1000}s ok`
    expect(loaded).toEqual(Object.fromEntries([...Object.values(alerts), AS_WRITTEN].map((name) => [name, [expected]])))
    // By the Alertmanager's address or its service's name, as Docker's DNS resolves it on the network.
    const { service, port } = alerting().alertmanager
    const ours = [await alertmanager(), `${service}:${port}`].map((host) => `http://${host}/api/v2/alerts`)
    const sentTo = await alertmanagersOf(await prometheus())
    expect(
      sentTo.filter((url) => ours.includes(url)),
      `Prometheus sends to ${sentTo.join(', ') || 'no Alertmanager'}`,
    ).not.toEqual([])
  })

  it('[OB-5] requests through nginx failing while a store /health needs is frozen fire the error rate alert, alone, which clears once they succeed again', async ({
    afterwards,
  }) => {
    failIfDown()
    const name = alerting().alerts.errorRate
    await quietFirst(name, 'before any request was made to fail')
    const frozen = await runningContainerOf(FROZEN)
    afterwards(() => thaw(frozen), wholeAgain)
    const health = `http://${await publishedAddress('nginx', 80)}/health`
    const statuses = new Map<number, number>()
    // When the first and the latest failure came back: the condition holds from the one, and the
    // error rate's window starts emptying only after the other.
    let firstFailureAt = Infinity
    let lastFailureAt = -Infinity
    const count = (status: number) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      if (status !== 0 && status < 500) return
      firstFailureAt = Math.min(firstFailureAt, Date.now())
      lastFailureAt = Date.now()
    }
    // A few clients through nginx for as long as the test runs: failing while the store is frozen,
    // succeeding after, so the rate's window fills with errors and then empties of them.
    const traffic = clients(4, async () => {
      try {
        const { statusCode, body } = await request(health, { headersTimeout: 30_000, bodyTimeout: 30_000 })
        await body.dump()
        count(statusCode)
      } catch {
        count(0)
      }
    })
    // Registered last, so it runs first: the load stops before the store is thawed and the stack put back.
    afterwards(() => traffic.stop())
    const answers = () => `answers through nginx: ${JSON.stringify(Object.fromEntries(statuses))}`
    await freeze(frozen)
    const failing = await progress(
      async () => (firstFailureAt === Infinity ? undefined : firstFailureAt),
      () => `no request through nginx failed within ${STALLED_MS / 1000} s of ${FROZEN} being frozen (${answers()})`,
    )
    const fired = await fires(name, failing, () => `while ${FROZEN} was frozen (${answers()})`)
    expect(await othersQuiet(name), `fired together with ${name}`).toEqual([])
    await thaw(frozen)
    const thawedAt = Date.now()
    const okBefore = statuses.get(200) ?? 0
    const cleared = await clears(
      name,
      () => Math.max(thawedAt, lastFailureAt),
      () => `after ${FROZEN} was thawed (${answers()})`,
    )
    // Cleared because requests succeed again, not because they stopped (no requests, no rate).
    expect((statuses.get(200) ?? 0) - okBefore, `requests answered 200 while ${name} cleared`).toBeGreaterThan(0)
    recordFigures('OB-5', { errorRateFiredMs: fired, errorRateClearedMs: cleared })
  })

  it('[OB-5] connections to the database held near its limit fire the connections alert, alone, which clears once they close', async ({
    afterwards,
  }) => {
    failIfDown()
    const name = alerting().alerts.databaseConnections
    await quietFirst(name, 'before any connection was opened for it')
    const held: Awaited<ReturnType<typeof pgClient>>[] = []
    const closeAll = () => Promise.all(held.splice(0).map((client) => client.end().catch(() => undefined)))
    afterwards(closeAll)
    const connection = await stackDatabaseConnection()
    const { max, reserved } = await connectionsNow()
    // Past 90% of max_connections, and short of the slots the stack's own pools and the exporter
    // still need. The stack's pools let idle connections go: topped up until the alert fires.
    const target = Math.min(Math.floor(max * 0.9) + 3, max - reserved - 2)
    const topUp = async () => {
      const { used } = await connectionsNow()
      for (let i = used; i < target; i++) held.push(await pgClient(connection))
    }
    await topUp()
    const fired = await fires(name, Date.now(), () => `with ${target} of ${max} connections in use`, topUp)
    expect(await othersQuiet(name), `fired together with ${name}`).toEqual([])
    await closeAll()
    const closedAt = Date.now()
    const cleared = await clears(
      name,
      () => closedAt,
      () => 'after the connections opened for it closed',
    )
    recordFigures('OB-5', {
      connectionsFiredMs: fired,
      connectionsClearedMs: cleared,
      connectionsHeld: target,
      maxConnections: max,
    })
  })

  it(`[OB-5] a queue holding more than ${QUEUE_THRESHOLD} messages with no consumer fires the queue depth alert, alone, which clears once the queue is emptied`, async ({
    afterwards,
  }) => {
    failIfDown()
    const name = alerting().alerts.queueDepth
    await quietFirst(name, 'before any queue was filled')
    const queue = `banyan-verify-ob5-${runFromEnv().runId}`
    // Over a connection of its own: the test's is closed by the time this runs.
    afterwards(async () => {
      await using broker = await stackBroker()
      await (await broker.createChannel()).deleteQueue(queue)
    })
    await using broker = await stackBroker()
    const channel = await broker.createConfirmChannel()
    // Gone by itself ten minutes after its last use, should every clean-up fail.
    await channel.assertQueue(queue, { durable: false, arguments: { 'x-expires': 600_000 } })
    for (let i = 0; i < QUEUED; i++) channel.sendToQueue(queue, Buffer.from(String(i)))
    await channel.waitForConfirms()
    const fired = await fires(name, Date.now(), () => `after ${QUEUED} messages sat in ${queue} with no consumer`)
    expect(await othersQuiet(name), `fired together with ${name}`).toEqual([])
    await channel.purgeQueue(queue)
    const purgedAt = Date.now()
    const cleared = await clears(
      name,
      () => purgedAt,
      () => `after ${queue} was emptied`,
    )
    recordFigures('OB-5', { queueFiredMs: fired, queueClearedMs: cleared })
  })

  it("[OB-5] the guide's database alert as it writes it (`postgres.connections.active < postgres.connections.max * 0.9`, Monitoring > Alerting) stays quiet on an idle database", async () => {
    failIfDown()
    // Loaded by the run beside the stack's own rules, with the same shortened `for`: on an idle
    // database its condition holds from the first evaluation, so it fires by then, or never.
    const now = Date.now()
    const state = await stateAfter(
      AS_WRITTEN,
      'firing',
      () => now,
      durationMs(RUN_FOR),
      () => 'on the idle database',
    )
    const { used, max } = await connectionsNow()
    expect(
      state,
      `the guide's database alert as written is ${state} with ${used} of ${max} connections in use (for ${RUN_FOR} in this run): it pages when the database is idle, and stays quiet at its limit`,
    ).toBe('inactive')
  })
})
