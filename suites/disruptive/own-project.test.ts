// The guide's lifecycle commands that would take the shared stack away (LC-2, LC-4), on a second
// project of the run's own: the same compose files, override and credentials under another
// project name, so its containers, network and volumes carry the run's labels and go with the
// run however it ends. Only the infrastructure is started, which is LC-2's own promise.
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { projectResources } from '../../helpers/compose.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { amqpConnection, pgClient, redisReplies } from '../../helpers/probes.ts'
import { it } from '../../helpers/stack-test.ts'
import { elapsedMs } from '../../helpers/units.ts'
import type pg from 'pg'
import { differences, fingerprint } from '../../helpers/backup.ts'
import {
  addressOf,
  compose,
  credential,
  databaseLogin,
  failIfDown,
  stack,
  stackDatabase,
  stateOf,
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
  const address = async (service: string): Promise<string> => {
    const container = (await projectResources(project, 'containers')).find(([, name]) => name === service)
    if (container === undefined) throw new Error(`project ${project} runs no ${service}`)
    return addressOf(container[0], 'backend', project)
  }
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

  /**
   * What of the shared stack's storage a second project would share: a stateful service's data
   * on a bind mount, or on a volume whose name is not the project's own (an `external` or named
   * one). Two servers on one data folder would break the shared stack mid-run.
   */
  async function sharedStorage(): Promise<string[]> {
    const model = JSON.parse(await own(['config', '--format', 'json'])) as {
      services: Record<string, { volumes?: { type: string; source?: string; target: string }[] }>
      volumes?: Record<string, { name?: string; external?: boolean }>
    }
    return infrastructure.flatMap((service) =>
      (model.services[service]?.volumes ?? [])
        .filter(({ target }) => target === policy.stateful[service])
        .filter(({ type, source = '' }) => {
          const volume = model.volumes?.[source]
          if (type === 'tmpfs') return false
          return type !== 'volume' || volume?.external === true || !(volume?.name ?? '').startsWith(`${project}_`)
        })
        .map(({ type, source, target }) => `${service}'s ${target} (${type} ${source ?? ''})`),
    )
  }

  let upMs = 0
  beforeAll(async () => {
    if (stack().failure !== null) return
    const shared = await sharedStorage()
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

  // On the empty event store down -v left: the migrations must make the schema the running stack
  // has, and a second run must change nothing, schema or rows.
  it.runIf(stack().services.includes(MIGRATIONS))(
    '[UP-2] docker compose run --rm migrations makes the schema the stack runs with, and running it again changes nothing',
    async () => {
      failIfDown()
      let shared: string[]
      {
        await using running = await stackDatabase()
        shared = await schemaOf(running)
      }
      await using client = await pgClient({ host: await address('postgres'), port: 5432, ...databaseLogin() })
      expect(await schemaOf(client), 'the event store down -v left is not empty').toEqual([])
      await own(['run', '--rm', MIGRATIONS])
      const migrated = await schemaOf(client)
      const once = await fingerprint(client)
      await own(['run', '--rm', MIGRATIONS])
      const found = {
        schema: migrated,
        again: differences(once, await fingerprint(client)),
        schemaAgain: await schemaOf(client),
      }
      // The message says what differs, so a refutation reads without the evidence folder.
      const unlike = (columns: string[]) => [
        ...columns.filter((column) => !shared.includes(column)).map((column) => `+${column}`),
        ...shared.filter((column) => !columns.includes(column)).map((column) => `-${column}`),
      ]
      expect(
        found,
        `the migrations run twice on an empty event store: first run against the stack's schema [${unlike(migrated).join(', ')}], ` +
          `second run changed [${found.again.join('; ')}] and its schema [${unlike(found.schemaAgain).join(', ')}]`,
      ).toEqual({ schema: shared, again: [], schemaAgain: shared })
      recordFigures('UP-2', { tablesMigrated: new Set(migrated.map((column) => column.split('.')[0])).size })
    },
  )
})

/** The migrations service, as the guide runs it: `docker compose run --rm migrations`. */
const MIGRATIONS = policy.migrations

/** The tables and columns of a database, one `table.column type` line each, less the suite's own tables: what a migration makes. */
async function schemaOf(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(
    `SELECT table_name || '.' || column_name || ' ' || data_type AS line FROM information_schema.columns
     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%'
       AND table_name NOT IN ($1, 'lifecycle_kept')
     ORDER BY table_schema, table_name, ordinal_position`,
    [WRITES_TABLE],
  )
  return rows.map(({ line }) => line)
}
