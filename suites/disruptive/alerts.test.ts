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
  loadedRules,
  RUN_FOR,
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
/** Time for an alert to fire once its condition holds: scrapes, evaluations and the run's `for`, on a busy machine. */
const FIRE_MS = 150_000
/** Time to clear: the same, plus the error rate's one-minute window emptying. */
const CLEAR_MS = 210_000
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

/** The rule's state in Prometheus (inactive, pending, firing), and whether Alertmanager holds it. */
async function whereIs(alertname: string): Promise<{ state: string; held: boolean; active: boolean }> {
  const rule = (await loadedRules(await prometheus())).find(({ name }) => name === alertname)
  const address = await alertmanager()
  return {
    state: rule?.state ?? 'not loaded',
    held: await held(address, alertname),
    active: await firing(address, alertname),
  }
}

/**
 * Polls until the alert fires (active in Alertmanager) or is quiet (inactive in Prometheus and
 * held by Alertmanager in no state: a silenced alert is not a cleared one). Returns the
 * milliseconds it took; fails naming where the alert was when time ran out.
 */
async function until(
  alertname: string,
  wanted: 'firing' | 'quiet',
  timeout: number,
  why: () => string,
): Promise<number> {
  const started = Date.now()
  let last = { state: 'unknown', held: false, active: false }
  await vi
    .waitFor(
      async () => {
        last = await whereIs(alertname)
        const there = wanted === 'firing' ? last.active : last.state === 'inactive' && !last.held
        if (!there) throw new Error('not yet')
      },
      { timeout, interval: 1_000 },
    )
    .catch(() => {
      const where = `Prometheus: ${last.state}, Alertmanager: ${last.active ? 'active' : last.held ? 'held, not active' : 'none'}`
      throw new Error(
        `${alertname} ${wanted === 'firing' ? 'never fired' : 'did not clear'} within ${timeout / 1000} s ${why()} (${where})`,
      )
    })
  return Date.now() - started
}

/** At the moment one alert fires, the guide's other two must not: each is judged by its own condition. */
async function othersQuiet(alertname: string): Promise<string[]> {
  const address = await alertmanager()
  const others = Object.values(alerting().alerts).filter((name) => name !== alertname)
  const firingToo = await Promise.all(others.map(async (name) => ((await firing(address, name)) ? [name] : [])))
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
    await until(name, 'quiet', CLEAR_MS, () => 'before any request was made to fail')
    const frozen = await runningContainerOf(FROZEN)
    afterwards(() => thaw(frozen), wholeAgain)
    const health = `http://${await publishedAddress('nginx', 80)}/health`
    const statuses = new Map<number, number>()
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1)
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
    const fired = await until(name, 'firing', FIRE_MS, () => `while ${FROZEN} was frozen (${answers()})`)
    expect(await othersQuiet(name), `fired together with ${name}`).toEqual([])
    await thaw(frozen)
    const okBefore = statuses.get(200) ?? 0
    const cleared = await until(name, 'quiet', CLEAR_MS, () => `after ${FROZEN} was thawed (${answers()})`)
    // Cleared because requests succeed again, not because they stopped (no requests, no rate).
    expect((statuses.get(200) ?? 0) - okBefore, `requests answered 200 while ${name} cleared`).toBeGreaterThan(0)
    recordFigures('OB-5', { errorRateFiredMs: fired, errorRateClearedMs: cleared })
  })

  it('[OB-5] connections to the database held near its limit fire the connections alert, alone, which clears once they close', async ({
    afterwards,
  }) => {
    failIfDown()
    const name = alerting().alerts.databaseConnections
    await until(name, 'quiet', CLEAR_MS, () => 'before any connection was opened for it')
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
    const started = Date.now()
    const address = await alertmanager()
    await vi
      .waitFor(
        async () => {
          await topUp()
          if (!(await firing(address, name))) throw new Error('not yet')
        },
        { timeout: FIRE_MS, interval: 1_000 },
      )
      .catch(async () => {
        const where = await whereIs(name)
        throw new Error(
          `${name} never fired within ${FIRE_MS / 1000} s with ${target} of ${max} connections in use (Prometheus: ${where.state}, Alertmanager: ${where.active ? 'active' : 'none'})`,
        )
      })
    const fired = Date.now() - started
    expect(await othersQuiet(name), `fired together with ${name}`).toEqual([])
    await closeAll()
    const cleared = await until(name, 'quiet', CLEAR_MS, () => 'after the connections opened for it closed')
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
    await until(name, 'quiet', CLEAR_MS, () => 'before any queue was filled')
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
    const fired = await until(
      name,
      'firing',
      FIRE_MS,
      () => `after ${QUEUED} messages sat in ${queue} with no consumer`,
    )
    expect(await othersQuiet(name), `fired together with ${name}`).toEqual([])
    await channel.purgeQueue(queue)
    const cleared = await until(name, 'quiet', CLEAR_MS, () => `after ${queue} was emptied`)
    recordFigures('OB-5', { queueFiredMs: fired, queueClearedMs: cleared })
  })

  it("[OB-5] the guide's database alert as it writes it (`postgres.connections.active < postgres.connections.max * 0.9`, Monitoring > Alerting) stays quiet on an idle database", async () => {
    failIfDown()
    // Loaded by the run beside the stack's own rules, with the same shortened `for`: on an idle
    // database its condition holds from the first evaluation, so it fires within that, or not at all.
    const fired = await until(AS_WRITTEN, 'firing', FIRE_MS / 2, () => '').then(
      () => true,
      () => false,
    )
    const { used, max } = await connectionsNow()
    expect(
      fired,
      `the guide's database alert as written fired with ${used} of ${max} connections in use (for ${RUN_FOR} in this run): it pages when the database is idle, and stays quiet at its limit`,
    ).toBe(false)
  })
})
