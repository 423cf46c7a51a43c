// The guide's lifecycle commands that would take the shared stack away (LC-2, LC-4), on a second
// project of the run's own: the same compose files, override and credentials under another
// project name, so its containers, network and volumes carry the run's labels and go with the
// run however it ends. Only the infrastructure is started, which is LC-2's own promise.
import { spawn } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { projectResources } from '../../helpers/compose.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { amqpConnection, pgClient, redisReplies } from '../../helpers/probes.ts'
import { it } from '../../helpers/stack-test.ts'
import { elapsedMs } from '../../helpers/units.ts'
import { holdRequests } from '../../helpers/slow.ts'
import { steadyLoad, unanswered } from '../../helpers/traffic.ts'
import type pg from 'pg'
import { differences, fingerprint, ownSchema, pgDump, quoted, restoreSql } from '../../helpers/backup.ts'
import {
  addressOf,
  publishedAddressOf,
  compose,
  credential,
  databaseLogin,
  failIfDown,
  stack,
  runningContainerOf,
  stackDatabase,
  stateOf,
  storageShared,
} from '../../helpers/stack.ts'
import { WRITES_TABLE } from '../../helpers/writes.ts'

/** The infrastructure the guide starts alone, as far as this run has it (LC-2 says what it lacks). */
const infrastructure = stack().services.filter((service) => policy.infrastructure.includes(service))

/** What the data checks leave in each store, and how it reads back. */
const KEPT_QUEUE = 'banyan-verify.kept'
const KEPT_KEY = 'banyan-verify:kept'

describe('lifecycle on a project of its own', { timeout: 300_000 }, () => {
  const project = `${stack().project}-own`
  const own = (args: readonly string[]) => compose(args, 180_000, project)
  const containers = async (): Promise<Record<string, string[]>> => {
    const states: Record<string, string[]> = {}
    for (const [id, service] of await projectResources(project, 'containers'))
      (states[service] ??= []).push(await stateOf(id))
    return states
  }
  const volumes = async (): Promise<string[]> => (await projectResources(project, 'volumes')).map(([, name]) => name)
  const containerOf = async (service: string): Promise<string> => {
    const container = (await projectResources(project, 'containers')).find(([, name]) => name === service)
    if (container === undefined) throw new Error(`project ${project} runs no ${service}`)
    return container[0]
  }
  const address = async (service: string): Promise<string> => addressOf(await containerOf(service), 'backend', project)
  const broker = async () =>
    amqpConnection(
      `amqp://${credential('RABBITMQ_USER')}:${credential('RABBITMQ_PASSWORD')}@${await address('rabbitmq')}:5672`,
    )
  const redis = async (commands: string[][]) =>
    redisReplies({ host: await address('redis'), port: 6379 }, [['AUTH', credential('REDIS_PASSWORD')], ...commands])

  /** A row, a persistent message on a durable queue (confirmed), and a key: one of each store's own data. */
  async function leaveData(): Promise<void> {
    {
      await using client = await pgClient({ host: await address('postgres'), port: 5432, ...databaseLogin() })
      await client.query('CREATE TABLE lifecycle_kept (written text)')
      await client.query("INSERT INTO lifecycle_kept VALUES ('before down')")
    }
    {
      await using connection = await broker()
      const channel = await connection.createConfirmChannel()
      await channel.assertQueue(KEPT_QUEUE, { durable: true })
      channel.sendToQueue(KEPT_QUEUE, Buffer.from('before down'), { persistent: true })
      await channel.waitForConfirms()
    }
    expect(await redis([['SET', KEPT_KEY, 'before down']])).toEqual(['+OK', '+OK'])
  }

  /** What each store holds of that data now. */
  async function dataNow(): Promise<{ postgres: string; rabbitmq: string; redis: string }> {
    await using client = await pgClient({ host: await address('postgres'), port: 5432, ...databaseLogin() })
    const { rows } = await client.query<{ present: boolean }>(
      "SELECT to_regclass('lifecycle_kept') IS NOT NULL AS present",
    )
    const postgres =
      rows[0]?.present === true
        ? (await client.query<{ written: string }>('SELECT written FROM lifecycle_kept')).rows
            .map((row) => row.written)
            .join()
        : 'no table'
    await using connection = await broker()
    const channel = await connection.createChannel()
    // Asserting it again is harmless where it is kept, and makes an empty one where it is gone.
    const { messageCount } = await channel.assertQueue(KEPT_QUEUE, { durable: true })
    // EXISTS answers an integer, which the probe's few lines of RESP read (a GET's bulk reply it does not).
    const [, exists = ''] = await redis([['EXISTS', KEPT_KEY]])
    return {
      postgres,
      rabbitmq: `${messageCount} messages`,
      redis: exists === ':1' ? 'key kept' : `no key (${exists})`,
    }
  }

  let upMs = 0
  beforeAll(async () => {
    if (stack().failure !== null) return
    const shared = await storageShared(project, infrastructure)
    if (shared.length > 0)
      throw new Error(`a second project would share the running stack's storage: ${shared.join(', ')}`)
    const started = performance.now()
    // The guide's command, with --wait for its `docker compose ps` to show them healthy.
    await own(['up', '-d', '--wait', ...infrastructure])
    upMs = elapsedMs(started)
  }, 200_000)
  afterAll(async () => {
    // Whatever a test left of it; the run's sweep removes what this cannot.
    await own(['down', '-v', '--timeout', '5']).catch(() => '')
  })

  it(`[LC-2] the infrastructure alone (${infrastructure.join(', ')}) starts and turns healthy, with no application service`, async () => {
    failIfDown()
    recordFigures('LC-2', { infrastructureHealthyMs: upMs })
    const found = await containers()
    expect(found, `the infrastructure start gave ${Object.keys(found).join(', ')}`).toEqual(
      Object.fromEntries(infrastructure.map((service) => [service, ['healthy']])),
    )
  })

  it('[LC-4] docker compose down keeps the named volumes, and the data in them comes back with the next up', async () => {
    failIfDown()
    await leaveData()
    const before = await volumes()
    await own(['down'])
    expect({ containers: await containers(), volumes: await volumes() }).toEqual({ containers: {}, volumes: before })
    await own(['up', '-d', '--wait', ...infrastructure])
    const found = await dataNow()
    expect(
      found,
      `after down and up: postgres ${found.postgres}, rabbitmq ${found.rabbitmq}, redis ${found.redis}`,
    ).toEqual({ postgres: 'before down', rabbitmq: '1 messages', redis: 'key kept' })
  })

  it('[LC-4] docker compose down -v removes the named volumes: the next up starts empty', async () => {
    failIfDown()
    expect(await volumes(), 'the project has no volume to remove').not.toEqual([])
    await own(['down', '-v'])
    expect({ containers: await containers(), volumes: await volumes() }).toEqual({ containers: {}, volumes: [] })
    await own(['up', '-d', '--wait', ...infrastructure])
    const found = await dataNow()
    expect(
      found,
      `after down -v and up: postgres ${found.postgres}, rabbitmq ${found.rabbitmq}, redis ${found.redis}`,
    ).toEqual({ postgres: 'no table', rabbitmq: '0 messages', redis: 'no key (:0)' })
  })

  // On an empty event store of its own: the migrations must make tables the running stack runs
  // with. Then the running stack's data goes in (its rows of those tables), and a second run must
  // change nothing: no row, no sequence, no table dropped and made again, nothing added to the
  // schema (an unnamed index made anew each run shows in the schema dump).
  it.runIf(stack().services.includes(MIGRATIONS))(
    '[UP-2] docker compose run --rm migrations makes the schema the stack runs with, and running it again on its data changes nothing',
    async () => {
      failIfDown()
      // Its own empty store, whatever the tests before it left (or failed to leave).
      await own(['down', '-v', '--timeout', '5'])
      await own(['up', '-d', '--wait', 'postgres'])
      const login = databaseLogin()
      const ownPostgres = await containerOf('postgres')
      let shared: string[]
      {
        await using running = await stackDatabase()
        shared = await columnsOf(running)
      }
      await using client = await pgClient({ host: await address('postgres'), port: 5432, ...login })
      expect(await columnsOf(client), 'the event store is not empty before the migrations ran').toEqual([])
      await own(['run', '--rm', MIGRATIONS])
      const migrated = await columnsOf(client)
      const unknown = migrated.filter((column) => !shared.includes(column))
      expect(
        { made: migrated.length > 0, unknown },
        `the migrations' schema against the running stack's: made ${migrated.length} columns, ${unknown.length} the stack does not run with`,
      ).toEqual({ made: true, unknown: [] })
      // The running stack's rows of the migrated tables in place of what the first run wrote
      // (its own bookkeeping included), sequences with them: the store a second run meets in use.
      const tables = [
        ...new Set(migrated.map((column) => column.split(' ')[0]?.split('.').slice(0, 2).join('.') ?? '')),
      ]
      const data = await pgDump(await runningContainerOf('postgres'), login, [
        '--data-only',
        '--disable-triggers',
        ...tables.flatMap((table) => ['-t', table]),
      ])
      await client.query(`TRUNCATE ${tables.map(quotedName).join(', ')} RESTART IDENTITY CASCADE`)
      await restoreSql(ownPostgres, login, data)
      const before = {
        rows: await fingerprint(client),
        tables: await tableIds(client),
        schema: await pgDump(ownPostgres, login, ['--schema-only']),
      }
      await own(['run', '--rm', MIGRATIONS])
      const after = {
        rows: await fingerprint(client),
        tables: await tableIds(client),
        schema: await pgDump(ownPostgres, login, ['--schema-only']),
      }
      const changed = {
        rows: differences(before.rows, after.rows),
        tablesMadeAgain: Object.keys(before.tables).filter((table) => after.tables[table] !== before.tables[table]),
        schemaLines: lineChanges(before.schema, after.schema),
      }
      recordFigures('UP-2', {
        tablesMigrated: tables.length,
        rowsCopied: Object.values(before.rows.tables).reduce((sum, { rows }) => sum + rows, 0),
        tablesOnlyTheStackHas: new Set(
          shared.filter((column) => !migrated.includes(column)).map((c) => c.split('.')[1]),
        ).size,
      })
      expect(
        changed,
        `the migrations run again on the stack's data changed rows [${changed.rows.join('; ')}], ` +
          `made tables again [${changed.tablesMadeAgain.join(', ')}], changed the schema [${changed.schemaLines.join(' | ')}]`,
      ).toEqual({ rows: [], tablesMadeAgain: [], schemaLines: [] })
    },
  )

  // The guide's maintenance window ends in `docker compose down`: what is in flight then must be
  // answered before the services go. This project's nginx and what it needs, under closed-loop
  // load (every client always has one request out), the gateway replicas then starved of CPU
  // (`docker update --cpus`) so that a request lasts long enough for the stop to find it: slow
  // for a real reason, with no help from the service. The load goes on until Docker signals
  // nginx; what was sent before that and answered after is what was in flight. Requests sent
  // after it may be refused (the guide drains first).
  it('[UP-3] docker compose down lets the requests in flight complete before the services stop', async () => {
    failIfDown()
    await own(['up', '-d', '--wait', 'nginx'])
    const nginx = await containerOf('nginx')
    const health = `http://${await publishedAddressOf(nginx, 80)}/health`
    // A client waits as long as nginx waits for its upstream by default: the requests are held
    // below for seconds, and a client that gave up first would read as a cut request.
    const load = steadyLoad(health, IN_FLIGHT, 60_000)
    await expect
      .poll(() => load.results.length, { timeout: 60_000, interval: 50, message: 'the stack answered nothing' })
      .toBeGreaterThanOrEqual(IN_FLIGHT * 4)
    // Every request nginx passes on from now is held whole on its way into the gateway, in the
    // gateway's namespace, and since each client sends its next request only once its last is
    // answered, none goes out after the last ones are held. Every request is then in flight when
    // nginx is signalled, however long `down` takes to get there, and none is sent as nginx closes
    // its idle connections: a request on a keep-alive connection that nginx had not read yet when
    // it stopped was never in flight, and a race. The gateways run on meanwhile; hanging them
    // instead (SIGSTOP) expired the timers of the requests they had begun, into 503s and nginx's
    // 502s, where the machine was busy.
    const from = await addressOf(nginx, 'frontend', project)
    await using holds = new AsyncDisposableStack()
    const gateways = (await projectResources(project, 'containers')).filter(
      ([, service]) => service === policy.nginx.upstreamService,
    )
    const held = await Promise.all(
      gateways.map(async ([id]) =>
        holds.use(
          await holdRequests(id, { address: await addressOf(id, 'frontend', project), port: policy.gatewayPort, from }),
        ),
      ),
    )
    await expect
      .poll(
        async () => ({
          sent: load.outstanding(),
          held: (await Promise.all(held.map((hold) => hold.held()))).reduce((sum, count) => sum + count, 0),
        }),
        { timeout: 60_000, interval: 200, message: 'the requests were never all held on their way to the gateways' },
      )
      .toEqual({ sent: IN_FLIGHT, held: IN_FLIGHT })
    using signal = nextSignal(nginx)
    let signalledAt: number | undefined
    // At the signal the clients stop (what they would send after it is no request in flight); the
    // held requests go on to the gateways HELD_PAST_SIGNAL_MS later, so each is still being
    // served well into the stop (an nginx that gives its drain a second only fails here), and
    // can complete then, if nginx lets them.
    const replies = signal.at.then(async (at) => {
      signalledAt = at
      const stopped = load.stop()
      await delay(HELD_PAST_SIGNAL_MS)
      await Promise.all(held.map((hold) => hold.release()))
      return stopped
    })
    // As the guide runs it: each service given its own grace period (stop_grace_period), not ours.
    await own(['down'])
    await expect
      .poll(() => signalledAt, {
        timeout: 10_000,
        interval: 50,
        message: 'Docker never signalled nginx in docker compose down',
      })
      .toBeDefined()
    const signalled = signalledAt ?? 0
    const inFlight = (await replies).filter(
      ({ at, ms }) => load.started + at < signalled && load.started + at + ms >= signalled,
    )
    // A request completes with its answer: no answer, nginx's 502 or 504, or an error page a
    // deployment puts in their place (a 503 of its own, say) is a request the stop cut.
    const cut = unanswered(inFlight)
    recordFigures('UP-3', {
      inFlightAtSignal: inFlight.length,
      cut: cut.length,
      longestInFlightMs: Math.max(0, ...inFlight.map(({ ms }) => Math.round(ms))),
    })
    expect(
      cut.map(({ status, error }) => error ?? `HTTP ${status}`),
      `requests in flight when nginx was signalled that were cut, of ${inFlight.length}`,
    ).toEqual([])
    expect(inFlight.length, 'the requests held on their way were not all in flight at the signal').toBe(IN_FLIGHT)
  })
})

/** UP-3's clients, each with one request out at any time. */
const IN_FLIGHT = 30
/** How long into the stop UP-3's held requests are still being served: longer than a drain that gives up at once. */
const HELD_PAST_SIGNAL_MS = 2_000

/**
 * The moment Docker next signals a container (its `kill` event), on performance.now()'s clock:
 * watched as it happens, from before the stop (a replay afterwards can miss it, the engine keeps
 * only its last events). Ends its watcher when disposed.
 */
function nextSignal(container: string): { at: Promise<number> } & Disposable {
  // From now, replayed: the watcher may connect to the engine only after the stop has begun.
  const since = (Date.now() / 1000).toFixed(3)
  const watcher = spawn('docker', [
    'events',
    '--since',
    since,
    '--filter',
    `container=${container}`,
    '--filter',
    'event=kill',
    '--format',
    '{{.TimeNano}}',
  ])
  const at = new Promise<number>((resolve, reject) => {
    let seen = ''
    watcher.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8')
      const [nanos] = seen.split('\n')
      // Docker's clock is this machine's: an epoch time, turned into performance.now()'s.
      if (seen.includes('\n') && nanos !== undefined)
        resolve(Number(BigInt(nanos.trim()) / 1_000_000n) - Date.now() + performance.now())
    })
    watcher.on('exit', (code) => {
      reject(new Error(`docker events ended (${String(code)}) before ${container} was signalled`))
    })
  })
  return {
    at,
    [Symbol.dispose]: () => {
      watcher.kill()
    },
  }
}

/** The migrations service, as the guide runs it: `docker compose run --rm migrations`. */
const MIGRATIONS = policy.migrations

/** The columns of a database, one `schema.table.column type` line each, less the suite's own tables: what a migration makes. */
async function columnsOf(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(
    `SELECT table_schema || '.' || table_name || '.' || column_name || ' ' || data_type AS line
     FROM information_schema.columns
     WHERE ${ownSchema('table_schema')} AND table_name NOT IN ($1, 'lifecycle_kept')
     ORDER BY table_schema, table_name, ordinal_position`,
    [WRITES_TABLE],
  )
  return rows.map(({ line }) => line)
}

/** `schema.table` as SQL quotes it. */
const quotedName = (table: string): string => table.split('.').map(quoted).join('.')

/** Each table's identity (its oid): a table dropped and made again has a new one, however alike. */
async function tableIds(client: pg.ClientBase): Promise<Record<string, string>> {
  const { rows } = await client.query<{ name: string; oid: string }>(
    `SELECT n.nspname || '.' || c.relname AS name, c.oid::text AS oid FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND ${ownSchema('n.nspname')}`,
  )
  return Object.fromEntries(rows.map(({ name, oid }) => [name, oid]))
}

/**
 * The lines one schema dump has and the other has not, each marked + or -, for a message. pg_dump
 * from 15.14 and 17.6 on brackets its output in `\restrict <key>` and `\unrestrict <key>` with a
 * key new each time: those lines are left out, with comments.
 */
function lineChanges(before: string, after: string): string[] {
  // Its comments and blank lines say nothing the statements do not.
  const lines = (dump: string) =>
    new Set(dump.split('\n').filter((line) => line !== '' && !line.startsWith('--') && !/^\\(un)?restrict /.test(line)))
  const was = lines(before)
  const is = lines(after)
  return [
    ...[...is].filter((line) => !was.has(line)).map((line) => `+${line}`),
    ...[...was].filter((line) => !is.has(line)).map((line) => `-${line}`),
  ]
}
