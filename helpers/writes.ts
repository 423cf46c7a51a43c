// Numbered writes into the stack's event store, so what a backup or a restore lost can be counted
// write by write (BR-1..4). The guide defines no API to write through, so they are made with the
// database's own client (pg), as the run's database user, into a table of the suite's own: any
// banyan-core deployment can take them, whatever its services offer, and a backup of the event
// store must hold them like any other rows. A write is acknowledged when its INSERT returned:
// committed, on the server's disk.
import pg from 'pg'
import { expect } from 'vitest'
import { clients, type Load } from './traffic.ts'

/** The suite's own table in the event store; nothing of the deployment's reads or writes it. */
export const WRITES_TABLE = 'banyan_verify_writes'

export interface Write {
  /** The write's number: its row's key. */
  seq: number
  /** When the client sent it and when the database acknowledged it, in performance.now() ms. */
  sentAt: number
  ackedAt: number | null
  /** Why it was not acknowledged. */
  error?: string
}

type Connection = Omit<pg.PoolConfig, 'max'>

/** Makes the table the writes go to, where it is not there yet. */
export async function prepareWrites(client: { query: pg.ClientBase['query'] }): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${WRITES_TABLE} (seq bigint PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())`,
  )
}

/**
 * Writers that keep inserting numbered rows, `concurrency` at a time (one connection each),
 * numbering them from `firstSeq`, until stopped (or until `total` were sent); stop() returns every
 * write. A write the database did not take (refused, cut off, gone) is kept unacknowledged, with
 * why; the connections close when the writers stop.
 */
export function writers(
  connection: Connection,
  { concurrency, total = Infinity, firstSeq = 1 }: { concurrency: number; total?: number; firstSeq?: number },
): Load<Write> {
  // A server that went away answers nothing: each connect and query gives up rather than hang.
  const pool = new pg.Pool({ ...connection, max: concurrency, connectionTimeoutMillis: 5_000, query_timeout: 10_000 })
  // An idle connection the server dropped (a restart, the drill's disaster) is no unhandled error.
  pool.on('error', () => undefined)
  const write = async (seq: number): Promise<Write> => {
    const sentAt = performance.now()
    try {
      await pool.query(`INSERT INTO ${WRITES_TABLE} (seq) VALUES ($1)`, [seq])
      return { seq, sentAt, ackedAt: performance.now() }
    } catch (error) {
      return { seq, sentAt, ackedAt: null, error: error instanceof Error ? error.message : String(error) }
    }
  }
  const load = clients(concurrency, (index) => write(firstSeq + index), total)
  const closed = (results: Write[]): Promise<Write[]> =>
    pool.end().then(
      () => results,
      () => results,
    )
  return {
    ...load,
    done: load.done.then(closed),
    stop: () => load.stop().then(closed),
    stopAfter: (ms) => load.stopAfter(ms).then(closed),
  }
}

/** The numbers of the writes (from `firstSeq` on) an event store holds; none when it lacks the table. */
export async function heldWrites(client: { query: pg.ClientBase['query'] }, firstSeq: number): Promise<Set<number>> {
  const { rows: table } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    WRITES_TABLE,
  ])
  if (table[0]?.present !== true) return new Set()
  const { rows } = await client.query<{ seq: string }>(`SELECT seq FROM ${WRITES_TABLE} WHERE seq >= $1`, [firstSeq])
  return new Set(rows.map(({ seq }) => Number(seq)))
}

/** The acknowledged writes, by number. */
export const acknowledged = (writes: readonly Write[]): Write[] => writes.filter((write) => write.ackedAt !== null)

/** What the first unacknowledged write was told, for a message that says why the writes failed. */
export const firstRefusal = (writes: readonly Write[]): string =>
  writes.find((write) => write.ackedAt === null)?.error ?? 'none refused'

/** Waits until more than `count` of the writers' writes were acknowledged; fails saying what the database answered. */
export async function untilAcknowledged(load: Load<Write>, count: number, timeoutMs = 30_000): Promise<void> {
  try {
    await expect.poll(() => acknowledged(load.results).length, { timeout: timeoutMs }).toBeGreaterThan(count)
  } catch {
    throw new Error(
      `the writers got ${acknowledged(load.results).length} acknowledgements in ${timeoutMs / 1000} s, wanting more than ${count}: ${firstRefusal(load.results)}`,
    )
  }
}
