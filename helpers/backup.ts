// Backups the way the guide takes them, restores into fresh PostgreSQL, and the comparison that
// says whether a restore holds the data (BR-1..4).
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import type pg from 'pg'
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers'
import { docker, runHelper } from './docker.ts'
import { labelArgs, testLabels } from './labels.ts'
import { pgClient } from './probes.ts'

/** What a database holds, table by table: row counts and a checksum of the ordered rows. */
export interface Fingerprint {
  tables: Record<string, { rows: number; checksum: string }>
  /** Each sequence's next value: a restore that sets it back would hand out taken keys. */
  sequences: Record<string, number>
}

/** Every schema of the database but PostgreSQL's own: a deployment may keep its data outside `public`. */
export const ownSchema = (column: string): string =>
  `${column} NOT IN ('pg_catalog', 'information_schema') AND ${column} NOT LIKE 'pg\\_%'`

/** A name as SQL quotes it. */
export const quoted = (name: string): string => `"${name.replaceAll('"', '""')}"`

export async function fingerprint(client: pg.ClientBase): Promise<Fingerprint> {
  const { rows: tables } = await client.query<{ schema: string; name: string }>(
    `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
     WHERE ${ownSchema('table_schema')} AND table_type = 'BASE TABLE'
     ORDER BY table_schema, table_name`,
  )
  const fingerprint: Fingerprint = { tables: {}, sequences: {} }
  // Named as they read in a message: `events` in public, `schema.table` elsewhere.
  const label = (schema: string, name: string): string => (schema === 'public' ? name : `${schema}.${name}`)
  for (const { schema, name } of tables) {
    // Every column of every row, in one order whatever order the rows were stored in.
    const { rows } = await client.query<{ rows: string; checksum: string | null }>(
      `SELECT count(*) AS rows, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS checksum FROM ${quoted(schema)}.${quoted(name)} t`,
    )
    fingerprint.tables[label(schema, name)] = {
      rows: Number(rows[0]?.rows ?? 0),
      checksum: rows[0]?.checksum ?? 'empty',
    }
  }
  const { rows: sequences } = await client.query<{ schema: string; name: string }>(
    `SELECT sequence_schema AS schema, sequence_name AS name FROM information_schema.sequences
     WHERE ${ownSchema('sequence_schema')} ORDER BY sequence_schema, sequence_name`,
  )
  for (const { schema, name } of sequences) {
    const { rows } = await client.query<{ next: string }>(
      `SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END AS next FROM ${quoted(schema)}.${quoted(name)}`,
    )
    fingerprint.sequences[label(schema, name)] = Number(rows[0]?.next ?? 0)
  }
  return fingerprint
}

/** What a restored database lacks or holds differently from its source, one line each; none when it is whole. */
export function differences(source: Fingerprint, restored: Fingerprint): string[] {
  const lines: string[] = []
  for (const [name, table] of Object.entries(source.tables)) {
    const copy = restored.tables[name]
    if (copy === undefined) lines.push(`table ${name}: missing (${table.rows} rows in the source)`)
    else if (copy.rows !== table.rows) lines.push(`table ${name}: ${copy.rows} rows, the source has ${table.rows}`)
    else if (copy.checksum !== table.checksum) lines.push(`table ${name}: same ${table.rows} rows, different contents`)
  }
  for (const name of Object.keys(restored.tables).filter((name) => !(name in source.tables))) {
    lines.push(`table ${name}: not in the source`)
  }
  for (const [name, next] of Object.entries(source.sequences)) {
    const copy = restored.sequences[name]
    if (copy === undefined) lines.push(`sequence ${name}: missing`)
    else if (copy < next) lines.push(`sequence ${name}: would hand out ${copy}, the source is at ${next}`)
  }
  return lines
}

export interface Database {
  user: string
  password: string
  database: string
}

/** The guide's backup: `docker exec <postgres> pg_dump -U <user> <database>`, its output as text. */
export async function pgDump(container: string, db: Database, extra: readonly string[] = []): Promise<string> {
  const { exitCode, stdout, stderr } = await docker(
    ['exec', container, 'pg_dump', '-U', db.user, ...extra, db.database],
    {
      timeoutMs: 120_000,
    },
  )
  if (exitCode !== 0) throw new Error(`pg_dump failed: ${stderr.trim()}`)
  return stdout
}

/** The guide's nightly form: `docker exec <postgres> pg_dump ... | gzip > file`, streamed as the shell would. */
export async function pgDumpGzipped(container: string, db: Database, file: string): Promise<void> {
  const dump = spawn('docker', ['exec', container, 'pg_dump', '-U', db.user, db.database], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  dump.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => dump.on('close', resolve))
  await pipeline(dump.stdout, createGzip(), createWriteStream(file))
  const code = await exited
  if (code !== 0) throw new Error(`pg_dump failed (exit ${code}): ${stderr.trim()}`)
}

/** A fresh, empty PostgreSQL of the stack's own image, with the same role, as a restore target. */
export async function freshPostgres(image: string, db: Database): Promise<StartedPostgreSqlContainer> {
  return onLoopback(
    new PostgreSqlContainer(image)
      .withDatabase(db.database)
      .withUsername(db.user)
      .withPassword(db.password)
      .withLabels(testLabels())
      // Asked inside the container: the module's own wait also knocks on the published port at
      // the address testcontainers picks (the bridge's gateway, from inside a container), which
      // a port bound to loopback does not answer.
      .withWaitStrategy(Wait.forSuccessfulCommand(`pg_isready -h localhost -U ${db.user} -d ${db.database}`))
      .withStartupTimeout(60_000),
  )
}

/**
 * Starts a throwaway container on a network of its own whose published ports bind to 127.0.0.1
 * only: it holds a copy of the stack's data, and testcontainers publishes on every interface,
 * with no way to name one. Docker's bridge option host_binding_ipv4 makes loopback the network's
 * default. Disposing of the container stops it and removes the network.
 */
async function onLoopback<S extends StartedTestContainer>(container: {
  withNetworkMode: (name: string) => { start: () => Promise<S> }
}): Promise<S> {
  const network = `bv-loopback-${randomBytes(4).toString('hex')}`
  const created = await docker([
    'network',
    'create',
    '--opt',
    'com.docker.network.bridge.host_binding_ipv4=127.0.0.1',
    ...labelArgs(),
    network,
  ])
  if (created.exitCode !== 0) throw new Error(`could not create network ${network}: ${created.stderr.trim()}`)
  const removeNetwork = async (): Promise<void> => {
    await docker(['network', 'rm', network])
  }
  let started: S
  try {
    started = await container.withNetworkMode(network).start()
  } catch (error) {
    await removeNetwork()
    throw error
  }
  const stop = started[Symbol.asyncDispose].bind(started)
  return Object.assign(started, {
    [Symbol.asyncDispose]: async () => {
      await stop()
      await removeNetwork()
    },
  })
}
/**
 * Plays a plain SQL dump into a database with psql inside its container, stopping at the first
 * error, as `... | docker exec -i <postgres> psql -v ON_ERROR_STOP=1` would.
 */
export async function restoreSql(container: string, db: Database, sql: string): Promise<void> {
  const { exitCode, stderr } = await docker(
    ['exec', '-i', container, 'psql', '-q', '-v', 'ON_ERROR_STOP=1', '-U', db.user, '-d', db.database],
    { input: sql, timeoutMs: 120_000 },
  )
  if (exitCode !== 0) throw new Error(`the restore failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)
}

/** A client of a throwaway PostgreSQL, from this machine through the port it publishes on loopback. */
export function clientOf(container: StartedTestContainer, db: Database): ReturnType<typeof pgClient> {
  return pgClient({ host: '127.0.0.1', port: container.getMappedPort(5432), ...db })
}

/**
 * The guide's volume backup and restore, with the suite's tools image for alpine:
 * `docker run --rm -v <volume>:/data -v <dir>:/backup <image> tar czf /backup/<file> /data`, and
 * `tar xzf /backup/<file> -C /` into a volume. Labelled, so the sweep finds one an interrupt left.
 * GNU tar exits 1 when a file changes while it reads it (a live volume) and still writes the
 * archive: those lines come back as warnings, for the caller to judge; any other failure throws.
 */
export async function tarVolume(
  tools: string,
  volume: string,
  dir: string,
  file: string,
  direction: 'backup' | 'restore',
): Promise<string[]> {
  const tar =
    direction === 'backup' ? ['tar', 'czf', `/backup/${file}`, '/data'] : ['tar', 'xzf', `/backup/${file}`, '-C', '/']
  const { exitCode, stderr } = await runHelper(tools, tar, {
    flags: ['-v', `${volume}:/data`, '-v', `${dir}:/backup`],
    timeoutMs: 120_000,
  })
  const changed = stderr.split('\n').filter((line) => line.includes('file changed as we read it'))
  if (exitCode === 0 || (exitCode === 1 && changed.length > 0)) return changed
  throw new Error(`tar ${direction} of ${volume} failed: ${stderr.trim()}`)
}

/** A new, empty named volume, labelled with the run. */
export async function newVolume(name: string, extraLabels: Record<string, string> = {}): Promise<string> {
  const { exitCode, stderr } = await docker(['volume', 'create', ...labelArgs(extraLabels), name])
  if (exitCode !== 0) throw new Error(`could not create volume ${name}: ${stderr.trim()}`)
  return name
}

/** PostgreSQL started on an existing data volume (a restored one), waiting until it accepts connections. */
export async function postgresOnVolume(image: string, volume: string, db: Database): Promise<StartedTestContainer> {
  return onLoopback(
    new GenericContainer(image)
      .withBindMounts([{ source: volume, target: '/var/lib/postgresql/data' }])
      .withEnvironment({ POSTGRES_PASSWORD: db.password })
      .withExposedPorts(5432)
      .withLabels(testLabels())
      .withWaitStrategy(Wait.forSuccessfulCommand(`pg_isready -h localhost -U ${db.user} -d ${db.database}`))
      .withStartupTimeout(60_000),
  )
}
