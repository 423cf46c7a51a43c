// Writes through the API, as clients make them: each a user created through nginx, numbered, so
// what a backup or a restore lost can be counted write by write (BR-1..4).
import type pg from 'pg'
import { request } from 'undici'
import { clients, type Load } from './traffic.ts'

export interface Write {
  /** The write's number: its user is named `w-<seq>`. */
  seq: number
  /** When the client sent it and when the API acknowledged it (201), in performance.now() ms. */
  sentAt: number
  ackedAt: number | null
  status: number
}

export const writeName = (seq: number): string => `w-${seq}`
export const seqOf = (name: string): number | null => {
  const match = /^w-(\d+)$/.exec(name)
  return match === null ? null : Number(match[1])
}

async function createUser(base: string, authorization: string, seq: number): Promise<Write> {
  const sentAt = performance.now()
  try {
    const { statusCode, body } = await request(`${base}/api/users`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: writeName(seq), email: `${writeName(seq)}@example.test` }),
      headersTimeout: 10_000,
    })
    await body.dump()
    return { seq, sentAt, ackedAt: statusCode === 201 ? performance.now() : null, status: statusCode }
  } catch {
    return { seq, sentAt, ackedAt: null, status: 0 }
  }
}

/**
 * Writers that keep creating users, `concurrency` at a time, numbering them from `firstSeq`,
 * until stopped (or until `total` were sent); stop() returns every write.
 */
export const writers = (
  base: string,
  authorization: string,
  { concurrency, total = Infinity, firstSeq = 1 }: { concurrency: number; total?: number; firstSeq?: number },
): Load<Write> => clients(concurrency, (index) => createUser(base, authorization, firstSeq + index), total)

/** The numbers of the writes (from `firstSeq` on) that an event store holds. */
export async function heldWrites(client: { query: pg.ClientBase['query'] }, firstSeq: number): Promise<Set<number>> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT data->>'name' AS name FROM events WHERE data->>'name' LIKE 'w-%'",
  )
  return new Set(rows.map(({ name }) => seqOf(name)).filter((seq): seq is number => seq !== null && seq >= firstSeq))
}

/** The acknowledged writes, by number. */
export const acknowledged = (writes: readonly Write[]): Write[] => writes.filter((write) => write.ackedAt !== null)
