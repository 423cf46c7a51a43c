// The guide's lifecycle commands that would take the shared stack away (LC-2, LC-4), on a second
// project of the run's own: the same compose files, override and credentials under another
// project name, so its containers, network and volumes carry the run's labels and go with the
// run however it ends. Only the infrastructure is started, which is LC-2's own promise.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, onTestFinished, vi } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { projectResources, type ComposeService } from '../../helpers/compose.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { amqpConnection, pgClient, redisReplies } from '../../helpers/probes.ts'
import { it } from '../../helpers/stack-test.ts'
import { elapsedMs } from '../../helpers/units.ts'
import { holdRequests } from '../../helpers/slow.ts'
import { steadyLoad, unanswered } from '../../helpers/traffic.ts'
import { docker, firstLine, runHelper } from '../../helpers/docker.ts'
import { presentedCertificate, selfSignedCertificate } from '../../helpers/tls.ts'
import {
  newVersion,
  type Replica,
  runningReplicas,
  updateUnderLoad as measureUpdate,
  zeroDowntime,
} from '../../helpers/updates.ts'
import type pg from 'pg'
import { differences, fingerprint, ownSchema, pgDump, quoted, restoreSql } from '../../helpers/backup.ts'
import {
  addressOf,
  publishedAddressOf,
  compose,
  credential,
  databaseLogin,
  execIn,
  failIfDown,
  healthCommand,
  reloadNginx,
  stack,
  runningContainerOf,
  stackDatabase,
  stateOf,
  storageShared,
  verifiable,
} from '../../helpers/stack.ts'
import { WRITES_TABLE } from '../../helpers/writes.ts'

/** The infrastructure the guide starts alone, as far as this run has it (LC-2 says what it lacks). */
const infrastructure = stack().services.filter((service) => policy.infrastructure.includes(service))

/** What the data checks leave in each store, and how it reads back. */
const KEPT_QUEUE = 'banyan-verify.kept'
const KEPT_KEY = 'banyan-verify:kept'

describe('lifecycle on a project of its own', { timeout: 300_000 }, () => {
  const project = `${stack().project}-own`
  const own = (args: readonly string[], overrides: readonly string[] = []) => compose(args, 180_000, project, overrides)
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
  const address = async (service: string, network = 'backend'): Promise<string> =>
    addressOf(await containerOf(service), network, project)
  /** The gateway's replicas running in this project now. */
  const replicas = async (): Promise<Replica[]> =>
    runningReplicas(
      (await projectResources(project, 'containers')).filter(([, service]) => service === GATEWAY).map(([id]) => id),
    )
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

  // The guide's TLS step (ENABLE_HTTPS=true, the certificate mounted read-only from ./certs) on one
  // gateway of this project, with no dependency: a TLS handshake needs none. The certificate is
  // made for the run (the reference's ./certs holds none, and a deployment's own key is none of
  // the suite's business); an override mounts it where the deployment mounts its certificate
  // folder, in the deployment's own mode, so the mode checked is the deployment's. The gateway
  // must present exactly that certificate, and a container with its mounts (--volumes-from keeps
  // their modes) must be refused a write to the folder.
  it.runIf(verifiable('CF-4'))(
    '[CF-4] with ENABLE_HTTPS=true the gateway serves TLS with the certificate mounted for it, and its certificate folder takes no write',
    async () => {
      failIfDown()
      const model = JSON.parse(await own(['config', '--format', 'json'])) as {
        services: Record<string, ComposeService>
      }
      const service = model.services[GATEWAY]
      // The guide's paths, where a deployment sets none of its own.
      const certPath = service?.environment?.SSL_CERT_PATH ?? policy.tls.certificate
      const keyPath = service?.environment?.SSL_KEY_PATH ?? policy.tls.key
      const mount = service?.volumes?.find(({ target }) => certPath.startsWith(`${target}/`))
      expect(mount, `the gateway's certificate (SSL_CERT_PATH ${certPath}) is on no mount of its own`).toBeDefined()
      const target = mount?.target ?? ''
      expect(
        keyPath.startsWith(`${target}/`),
        `the gateway's key (SSL_KEY_PATH ${keyPath}) is not beside its certificate in ${target}`,
      ).toBe(true)
      const certs = mkdtempSync(join(tmpdir(), 'banyan-certs-'))
      onTestFinished(() => rmSync(certs, { recursive: true, force: true }))
      const certificate = await selfSignedCertificate(certs, {
        cert: relative(target, certPath),
        key: relative(target, keyPath),
      })
      const override = join(certs, 'compose.tls.yaml')
      writeFileSync(
        override,
        JSON.stringify({
          services: {
            [GATEWAY]: {
              environment: { ENABLE_HTTPS: 'true' },
              volumes: [{ type: 'bind', source: certs, target, read_only: mount?.read_only === true }],
            },
          },
        }),
      )
      onTestFinished(() => own(['rm', '-s', '-f', GATEWAY]).then(() => undefined))
      await own(['up', '-d', '--no-deps', '--scale', `${GATEWAY}=1`, GATEWAY], [override])
      const gateway = await containerOf(GATEWAY)
      const host = await address(GATEWAY, 'frontend')
      // Until it listens (a refused or unreachable address, a handshake not begun in time: a gateway
      // still starting); then the one handshake is the answer, whatever it is.
      const presented = await vi.waitFor(
        async () => {
          const answer = await presentedCertificate(host, policy.gatewayPort, 15_000)
          if ('error' in answer && /ECONNREFUSED|EHOSTUNREACH|no handshake within/.test(answer.error))
            throw new Error(answer.error)
          return answer
        },
        { timeout: 90_000, interval: 200 },
      )
      // The run's certificate the only one trusted: an HTTP answer at all (any status: the gateway runs
      // without its dependencies here) is one served over TLS with it.
      const dispatcher = new Agent({ connect: { ca: certificate.pem, checkServerIdentity: () => undefined } })
      const overTls = await request(`https://${host}:${policy.gatewayPort}/health`, {
        dispatcher,
        headersTimeout: 10_000,
      })
        .then(async ({ statusCode, body }) => (await body.dump(), statusCode))
        .catch(() => 0)
      const plain = await request(`http://${host}:${policy.gatewayPort}/health`, { headersTimeout: 5_000 })
        .then(async ({ statusCode, body }) => (await body.dump(), statusCode))
        .catch(() => 0)
      const write = await runHelper(credential('TOOLS_IMAGE'), ['touch', `${target}/.banyan-verify-write`], {
        flags: ['--volumes-from', gateway],
      })
      const ownCheck = service?.healthcheck?.test ?? []
      const checked =
        ownCheck.length > 0 && ownCheck[0] !== 'NONE' ? await execIn(gateway, healthCommand(ownCheck)) : null
      recordFigures('CF-4', {
        httpsHealthStatus: overTls,
        plainHttpStatus: plain,
        // The deployment's own health check against a gateway that serves TLS (the guide's curl of http://).
        ownHealthCheckExit: checked?.exitCode ?? -1,
      })
      // Refused as a read-only mount refuses, and not for another reason (a user the helper runs as,
      // a security module), which would say nothing about the mount.
      const folder =
        write.exitCode === 0
          ? 'took a write from a container with its mounts'
          : /read-only file system/i.test(write.stderr)
            ? 'is read-only'
            : `refused a write for another reason (${firstLine(write.stderr)})`
      expect(
        { presented, answeredOverTls: overTls > 0, folder },
        `the gateway presented ${'error' in presented ? `no certificate (${presented.error})` : presented.fingerprint256} ` +
          `for the run's ${certificate.fingerprint256}, ${overTls > 0 ? `answered /health over TLS (${overTls})` : 'gave no HTTP answer over TLS'}; ` +
          `the certificate folder ${target} ${folder}`,
      ).toEqual({
        presented: { fingerprint256: certificate.fingerprint256 },
        answeredOverTls: true,
        folder: 'is read-only',
      })
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

  // The guide's rolling update, and the one that works on this Compose and nginx, each to a new
  // version of the gateway's image (helpers/updates.ts) under steady load through nginx. Every
  // request counts: an answer that is not a 2xx, or none, is downtime. From a whole project, its
  // nginx reloaded so that it serves the replicas running now whatever the last update left.
  async function updateUnderLoad(
    version: string,
    wanted: number,
    update: (override: string, old: readonly Replica[]) => Promise<void>,
  ): Promise<{ message: string; verdict: Record<string, unknown> }> {
    await own(['up', '-d', '--wait', NGINX])
    const nginx = await containerOf(NGINX)
    await reloadNginx(nginx)
    const before = await replicas()
    await using next = await newVersion(before[0]?.id ?? '', GATEWAY, `${stack().project}-${version}`)
    return await measureUpdate({
      version,
      wanted,
      nginx,
      from: await addressOf(nginx, 'frontend', project),
      replicas,
      before,
      image: next.image,
      update: (old) => update(next.override, old),
    })
  }

  it("[UP-1] the guide's rolling update (up -d --no-deps --scale api-gateway=3 api-gateway) to a new version under load fails no request", async () => {
    failIfDown()
    const replicasWanted = stack().containers[GATEWAY]?.length ?? 0
    const { message, verdict } = await updateUnderLoad('guide', replicasWanted, async (override) => {
      await own(['up', '-d', '--no-deps', '--scale', `${GATEWAY}=${replicasWanted}`, GATEWAY], [override])
    })
    expect(verdict, `the guide's rolling update under load: ${message}`).toEqual(zeroDowntime(replicasWanted))
  })

  // The README's procedure: the new version beside the old (twice the replicas, none recreated),
  // healthy first; nginx reloaded to serve them all; the old ones stopped with their own grace
  // period, so they finish what they have while nginx sends on to the others what they refuse;
  // nginx reloaded again to forget them; then they are removed.
  it("[UP-1] the README's rolling update (the new version beside the old, nginx reloaded, the old stopped) to a new version under load fails no request", async () => {
    failIfDown()
    const replicasWanted = stack().containers[GATEWAY]?.length ?? 0
    const { message, verdict } = await updateUnderLoad('readme', replicasWanted, async (override, old) => {
      await own(
        ['up', '-d', '--no-deps', '--no-recreate', '--wait', '--scale', `${GATEWAY}=${old.length * 2}`, GATEWAY],
        [override],
      )
      const nginx = await containerOf(NGINX)
      await reloadNginx(nginx)
      await dockerOrThrow(['stop', ...old.map(({ id }) => id)])
      await reloadNginx(nginx)
      await dockerOrThrow(['rm', ...old.map(({ id }) => id)])
    })
    expect(verdict, `the README's rolling update under load: ${message}`).toEqual(zeroDowntime(replicasWanted))
  })
})

/** The gateway service behind nginx, which the updates and the TLS check are about. */
const GATEWAY = policy.nginx.upstreamService
const NGINX = policy.nginx.service

async function dockerOrThrow(args: readonly string[]): Promise<void> {
  const { exitCode, stderr } = await docker(args, { timeoutMs: 120_000 })
  if (exitCode !== 0) throw new Error(`docker ${args[0] ?? ''} failed: ${firstLine(stderr)}`)
}

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
