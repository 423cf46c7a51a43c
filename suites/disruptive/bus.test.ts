// The message bus from outside (MB-1, MB-3). The commands are the stack's own: its create request
// through nginx (offers.json), which its gateway turns into a command for user-service. They are
// counted where they pass, never by the services: at the broker (its management API's counters
// per queue and per client address, rabbitmqctl's queue depths and consumers) and in the
// store (rows per table). The queue is the one the broker says every user-service instance
// consumes; no queue name is assumed. Each test puts back one user-service and a whole stack.
import { beforeAll, beforeEach, describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { call } from '../../helpers/api.ts'
import { fingerprint } from '../../helpers/backup.ts'
import {
  addPassed,
  channelCountersByAddress,
  competingConsumers,
  consumersOf,
  NOTHING_PASSED,
  queueCounters,
  queueDepths,
  type Passed,
} from '../../helpers/broker.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { at } from '../../helpers/offers.ts'
import {
  apiAuthorization,
  compose,
  crash,
  failIfDown,
  freeze,
  offers,
  publishedAddress,
  runningContainerOf,
  scale,
  stack,
  stackDatabase,
  thaw,
  untilState,
  wholeAgain,
} from '../../helpers/stack.ts'
import { it as stackIt, type Step } from '../../helpers/stack-test.ts'
import { clients, evenSpread, type Load } from '../../helpers/traffic.ts'

const SERVICE = 'user-service'
/** MB-1's "available handlers", and MB-3's competing consumers. */
const INSTANCES = 3
/** Enough commands that an uneven split shows (LB-2's test on the same count), few enough to send one at a time. */
const COMMANDS = 300
/** MB-3's burst, sent twelve at a time so that every instance holds messages when one is killed. */
const BURST = 240
/** Creates one at a time before it, to learn the rows a create adds. */
const CALIBRATION = 20
/** Commands sent while no consumer runs, to wait out a broker restart. */
const WAITING = 20
/** The same significance as LB-2: the chance that a fair split is called uneven. */
const SIGNIFICANCE = 0.001

/** One create request's outcome: what it made, or why it made nothing. */
type Outcome = { id: string } | { failed: string }

/** Rows per table of the store now (the backups' fingerprint, which reads every schema). */
async function storeRows(): Promise<Record<string, number>> {
  await using client = await stackDatabase()
  const { tables } = await fingerprint(client)
  return Object.fromEntries(Object.entries(tables).map(([table, { rows }]) => [table, rows]))
}

/** How many rows each table gained, tables that gained none left out. */
const grown = (before: Record<string, number>, after: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(after)
      .map(([table, rows]) => [table, rows - (before[table] ?? 0)] as const)
      .filter(([, gained]) => gained !== 0),
  )

/** Each counter's gain between two readings. */
const gained = (before: Passed, after: Passed): Passed => ({
  publish: after.publish - before.publish,
  delivered: after.delivered - before.delivered,
  redelivered: after.redelivered - before.redelivered,
  acknowledged: after.acknowledged - before.acknowledged,
})

const { create: route } = offers().api ?? {}
/** These checks send commands the stack's own way; a stack that describes none has MB-1 and MB-3 "not verifiable here" (preflight). */
const it = stackIt.runIf(route !== undefined)

describe('the message bus with competing consumers', { timeout: 360_000 }, () => {
  let base = ''
  let authorization: string | undefined
  beforeAll(async () => {
    if (stack().failure !== null) return
    base = `http://${await publishedAddress('nginx', 80)}`
  })
  beforeEach(async () => {
    failIfDown()
    // A token for each test, younger than the shortest JWT_EXPIRATION a run draws.
    authorization = await apiAuthorization()
  })

  /** The stack's create requests, `concurrency` at a time: each one's outcome, as it comes. */
  function creates(total: number, concurrency: number): Load<Outcome> {
    if (route === undefined) throw new Error('the stack describes no create request (offers.json api.create)')
    return clients(
      concurrency,
      async (): Promise<Outcome> => {
        try {
          const { status, body } = await call(base, route, authorization === undefined ? {} : { authorization })
          const id = at(body, route.id)
          if (status === route.status && (typeof id === 'string' || typeof id === 'number')) return { id: String(id) }
          return { failed: `HTTP ${status}: ${JSON.stringify(body).slice(0, 120)}` }
        } catch (error) {
          return { failed: error instanceof Error ? error.message : String(error) }
        }
      },
      total,
    )
  }
  const failures = (outcomes: readonly Outcome[]): string[] =>
    outcomes.flatMap((outcome) => ('failed' in outcome ? [outcome.failed] : []))

  /** user-service scaled to three, put back to its own count after; the queue they compete on. */
  async function competing(afterwards: (...steps: Step[]) => void) {
    afterwards(() => scale(SERVICE, policy.replicas[SERVICE] ?? 1), wholeAgain)
    await scale(SERVICE, INSTANCES)
    const { instances, shared, consuming } = await competingConsumers(SERVICE)
    expect(instances.length, `${SERVICE} instances after --scale ${SERVICE}=${INSTANCES}`).toBe(INSTANCES)
    expect(shared, `the ${SERVICE} instances share no queue: ${JSON.stringify(consuming)}`).not.toEqual([])
    return { instances, shared }
  }

  /**
   * Of the queues the instances share, the one the commands go to: when they share one, that one;
   * else the one whose publish count grows with one create request.
   */
  async function commandQueue(queues: readonly string[]): Promise<{ queue: string; probes: number }> {
    if (queues.length === 1) return { queue: queues[0] ?? '', probes: 0 }
    const before = await Promise.all(queues.map(async (queue) => (await queueCounters(queue)).publish))
    expect(failures(await creates(1, 1).done), 'create requests failed').toEqual([])
    let grew: string[] = []
    // The management API's counters lag by its statistics interval (5 s unless set).
    await expect
      .poll(
        async () => {
          const after = await Promise.all(queues.map(async (queue) => (await queueCounters(queue)).publish))
          grew = queues.filter((_, index) => (after[index] ?? 0) > (before[index] ?? 0))
          return grew.length
        },
        { timeout: 30_000, interval: 500, message: `no queue of ${queues.join(', ')} took a create request` },
      )
      .toBeGreaterThan(0)
    expect(grew, 'a create request went to more than one shared queue').toHaveLength(1)
    return { queue: grew[0] ?? '', probes: 1 }
  }

  /** Each queue's counters now. */
  const countersOf = async (queues: readonly string[]): Promise<Record<string, Passed>> =>
    Object.fromEntries(await Promise.all(queues.map(async (queue) => [queue, await queueCounters(queue)] as const)))

  /** The store's rows per create: `count` creates one at a time, and every table's gain a whole multiple. */
  async function rowsPerCreate(count: number): Promise<Record<string, number>> {
    const before = await storeRows()
    expect(failures(await creates(count, 1).done), 'create requests failed').toEqual([])
    const gain = grown(before, await storeRows())
    const perCreate = Object.fromEntries(Object.entries(gain).map(([table, rows]) => [table, rows / count]))
    expect(
      Object.values(perCreate).every(Number.isInteger) && Object.keys(perCreate).length > 0,
      `${count} creates added ${JSON.stringify(gain)} rows: not the same rows for each`,
    ).toBe(true)
    return perCreate
  }

  /**
   * Polls until `read` has gained `count` in each of `counters` over `before`, and gives the gains:
   * the management API's counters lag by its statistics interval (5 s unless set), and each
   * channel sends its own, so a queue's publishes (from the publishers' channels) can lag its
   * acknowledgements (from the consumers'): one read as soon as the other is complete is a race.
   */
  async function settled(
    read: () => Promise<Passed>,
    before: Passed,
    counters: readonly ('acknowledged' | 'delivered' | 'publish')[],
    count: number,
    message: string,
  ): Promise<Passed> {
    let gain = NOTHING_PASSED
    await expect
      .poll(
        async () => {
          gain = gained(before, await read())
          return Math.min(...counters.map((counter) => gain[counter]))
        },
        { timeout: 30_000, interval: 500, message },
      )
      .toBeGreaterThanOrEqual(count)
    return gain
  }

  it('[MB-1] commands go round robin over three user-service instances: each its share, none twice, none lost', async ({
    afterwards,
  }) => {
    const { instances, shared } = await competing(afterwards)
    // Read before this test sends anything, just after the scale (which waits out the new
    // instances' health checks, longer than the counters' lag); a probe for the queue counts too.
    const baselines = await countersOf(shared)
    const channelsBefore = await channelCountersByAddress()
    const { queue, probes } = await commandQueue(shared)
    const before = { queue: baselines[queue] ?? NOTHING_PASSED, channels: channelsBefore, rows: await storeRows() }
    const commands = COMMANDS + probes
    // One at a time: every instance is idle when the next command comes, so the broker's round
    // robin over its consumers is all that picks one (under concurrency a faster one gets more).
    expect(failures(await creates(COMMANDS, 1).done), 'create requests failed').toEqual([])
    const passedQueue = await settled(
      () => queueCounters(queue),
      before.queue,
      ['acknowledged', 'publish'],
      commands,
      `queue ${queue} never counted ${commands} publishes and acknowledgements`,
    )
    const delivered = (channels: Record<string, Passed>): Passed =>
      instances.reduce((sum, { address }) => addPassed(sum, channels[address] ?? NOTHING_PASSED), NOTHING_PASSED)
    let channels = before.channels
    await settled(
      async () => delivered((channels = await channelCountersByAddress())),
      delivered(before.channels),
      ['delivered'],
      commands,
      `the ${INSTANCES} instances never took ${commands} commands between them`,
    )
    const perInstance = instances.map(
      ({ address }) =>
        gained(before.channels[address] ?? NOTHING_PASSED, channels[address] ?? NOTHING_PASSED).delivered,
    )
    const gain = grown(before.rows, await storeRows())
    const spread = evenSpread(perInstance)
    recordFigures('MB-1', {
      commands: COMMANDS,
      ...Object.fromEntries(perInstance.map((count, index) => [`instance${index + 1}Commands`, count])),
      chiSquare: Number(spread.statistic.toFixed(3)),
      pValue: Number(spread.pValue.toFixed(4)),
      redelivered: passedQueue.redelivered,
      storeRowsGained: Object.values(gain).reduce((sum, rows) => sum + rows, 0),
    })
    // The queue took each command once, handed each out once, and had each acknowledged once.
    expect(passedQueue, `queue ${queue} for ${commands} commands`).toEqual({
      publish: commands,
      delivered: commands,
      redelivered: 0,
      acknowledged: commands,
    })
    expect(
      perInstance.reduce((sum, count) => sum + count, 0),
      `commands the ${INSTANCES} instances took, of ${commands}: ${JSON.stringify(perInstance)}`,
    ).toBe(commands)
    expect(
      spread.pValue,
      `commands per instance ${JSON.stringify(perInstance)} are not round robin: chi-square ${spread.statistic.toFixed(2)}`,
    ).toBeGreaterThanOrEqual(SIGNIFICANCE)
    // Handled once each: the store gained the same rows for every command.
    expect(
      Object.values(gain).every((rows) => rows % COMMANDS === 0) && Object.keys(gain).length > 0,
      `the store gained ${JSON.stringify(gain)} rows for ${COMMANDS} commands`,
    ).toBe(true)
  })

  it('[MB-3] one of three competing consumers killed mid-burst: what it held goes to the others, each command handled once, none lost', async ({
    afterwards,
  }) => {
    const { instances, shared } = await competing(afterwards)
    // As in MB-1: read before anything is sent; calibration, burst and any probe are all counted.
    const baselines = await countersOf(shared)
    const { queue, probes } = await commandQueue(shared)
    const perCreate = await rowsPerCreate(CALIBRATION)
    const [victim] = instances
    if (victim === undefined) throw new Error(`no ${SERVICE} instance to kill`)
    const rowsBefore = await storeRows()
    const load = creates(BURST, 12)
    const succeeded = () => load.results.filter((outcome) => 'id' in outcome).length
    const untilSucceeded = (count: number, what: string) =>
      expect.poll(succeeded, { timeout: 30_000, interval: 20, message: what }).toBeGreaterThanOrEqual(count)
    await untilSucceeded(30, 'the burst did not get going')
    // Frozen, it keeps what the broker hands it from now on while the others go on: a few more
    // commands answered by them mean that round robin has given it some. Then it is killed as a
    // crash would. Nothing is asked of the broker about it meanwhile: its channel to a frozen
    // client blocks rabbitmqctl.
    await freeze(victim.id)
    afterwards(() => thaw(victim.id))
    await untilSucceeded(succeeded() + 6, 'the others answered nothing while one consumer was frozen')
    await crash(victim.id)
    // A request the gateway gave up on while its command waited with the frozen one is no lost
    // command: the claim is about messages, so the store and the broker judge, not HTTP replies.
    const requestsFailed = failures(await load.done).length
    const expected = Object.fromEntries(Object.entries(perCreate).map(([table, rows]) => [table, rows * BURST]))
    recordFigures('MB-3', { burst: BURST, requestsFailed })
    // Polled: what the frozen one held is handled by the others after its death, in their time.
    await expect
      .poll(async () => grown(rowsBefore, await storeRows()), {
        timeout: 30_000,
        interval: 500,
        message: `the store never gained the rows of ${BURST} commands once each (${JSON.stringify(expected)}): lost or handled twice`,
      })
      .toEqual(expected)
    expect(
      (await consumersOf(queue)).filter(({ acknowledges }) => !acknowledges).map(({ address }) => address),
      `consumers of ${queue} whose messages the broker forgets as it hands them over (no acknowledgement)`,
    ).toEqual([])
    const commands = probes + CALIBRATION + BURST
    const passedQueue = await settled(
      () => queueCounters(queue),
      baselines[queue] ?? NOTHING_PASSED,
      ['acknowledged', 'publish'],
      commands,
      `queue ${queue} never counted the publishes and acknowledgements of ${commands} commands`,
    )
    recordFigures('MB-3', {
      redelivered: passedQueue.redelivered,
      acknowledged: passedQueue.acknowledged - CALIBRATION - probes,
    })
    expect(
      {
        published: passedQueue.publish,
        acknowledged: passedQueue.acknowledged,
        redelivered: passedQueue.redelivered > 0,
      },
      `queue ${queue} for ${commands} commands: what the killed consumer held must be handed out again (${passedQueue.redelivered} were)`,
    ).toEqual({ published: commands, acknowledged: commands, redelivered: true })
  })

  it('[MB-3] commands the broker took while no consumer ran are all there after a broker restart, and handled once after', async ({
    afterwards,
  }) => {
    afterwards(() => compose(['start', SERVICE]), wholeAgain)
    const { shared } = await competingConsumers(SERVICE)
    const { queue } = await commandQueue(shared)
    const perCreate = await rowsPerCreate(5)
    await compose(['stop', SERVICE])
    const before = await storeRows()
    // Their requests go unanswered (no consumer runs) and are not waited for: the commands are.
    const load = creates(WAITING, WAITING)
    await expect
      .poll(async () => (await queueDepths())[queue], {
        timeout: 30_000,
        interval: 250,
        message: `queue ${queue} never held the ${WAITING} commands sent while no ${SERVICE} ran`,
      })
      .toBe(WAITING)
    await compose(['restart', 'rabbitmq'])
    const broker = await runningContainerOf('rabbitmq')
    await untilState(broker, 'healthy', 'the broker did not turn healthy after its restart', 120_000)
    const afterRestart = (await queueDepths())[queue] ?? 'the queue is gone'
    await load.done
    recordFigures('MB-3', {
      waitingBeforeRestart: WAITING,
      waitingAfterRestart: typeof afterRestart === 'number' ? afterRestart : 0,
    })
    expect(afterRestart, `commands in ${queue} after the broker restart, of ${WAITING} before`).toBe(WAITING)
    await compose(['start', SERVICE])
    await expect
      .poll(async () => (await queueDepths())[queue], {
        timeout: 60_000,
        interval: 250,
        message: `${SERVICE} never took the commands waiting in ${queue}`,
      })
      .toBe(0)
    const gain = grown(before, await storeRows())
    expect(
      gain,
      `the store gained ${JSON.stringify(gain)} rows for ${WAITING} waiting commands: one handled twice or not at all`,
    ).toEqual(Object.fromEntries(Object.entries(perCreate).map(([table, rows]) => [table, rows * WAITING])))
  })
})
