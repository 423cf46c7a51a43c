// Client traffic through nginx, as the LB suites send it: every reply counted by the replica that
// served it (the reference gateway's X-Served-By), every failure kept with when it happened.
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf'
import { request } from 'undici'
import { elapsedMs } from './units.ts'

export interface Reply {
  /** When the request was sent, in ms since the traffic started. */
  at: number
  /** The HTTP status, or 0 when the client saw no response at all (reset, refused, timeout). */
  status: number
  servedBy: string | null
  error?: string
}

async function send(url: string, started: number, headers: Record<string, string>): Promise<Reply> {
  const at = elapsedMs(started)
  try {
    const {
      statusCode,
      headers: received,
      body,
    } = await request(url, {
      headers,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    })
    await body.dump()
    const servedBy = received['x-served-by']
    return { at, status: statusCode, servedBy: typeof servedBy === 'string' ? servedBy : null }
  } catch (error) {
    return { at, status: 0, servedBy: null, error: error instanceof Error ? error.message : String(error) }
  }
}

/** `total` GET requests, `concurrency` at a time: what a burst of clients does. */
export async function burst(
  url: string,
  total: number,
  concurrency: number,
  headers: Record<string, string> = {},
): Promise<Reply[]> {
  const started = performance.now()
  const replies: Reply[] = []
  let sent = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < total) {
        sent += 1
        replies.push(await send(url, started, headers))
      }
    }),
  )
  return replies
}

export interface SteadyLoad {
  /** performance.now() when the first request went out; every Reply.at counts from here. */
  started: number
  /** The replies so far, growing while the load runs. */
  replies: readonly Reply[]
  /** Stops sending, waits for the requests in flight, and returns every reply. */
  stop: () => Promise<Reply[]>
}

/** Clients that keep sending, `concurrency` at a time, until stopped. */
export function steadyLoad(url: string, concurrency: number): SteadyLoad {
  const started = performance.now()
  const replies: Reply[] = []
  let running = true
  const clients = Array.from({ length: concurrency }, async () => {
    while (running) replies.push(await send(url, started, {}))
  })
  return {
    started,
    replies,
    stop: async () => {
      running = false
      await Promise.all(clients)
      return replies
    },
  }
}

/** How many replies each replica served; failures are not counted here. */
export function servedBy(replies: readonly Reply[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const { servedBy: replica, status } of replies) {
    if (replica !== null && status < 500 && status !== 0) counts[replica] = (counts[replica] ?? 0) + 1
  }
  return counts
}

export const failures = (replies: readonly Reply[]): Reply[] =>
  replies.filter(({ status }) => status === 0 || status >= 500)

export interface EvenSpread {
  statistic: number
  degreesOfFreedom: number
  /** The chance of a spread at least this uneven if every replica were equally likely. */
  pValue: number
}

/**
 * Pearson's chi-square test of the counts against an even split over `replicas` (a replica that
 * served nothing is a count of 0, and fails the test by itself once the total is a few hundred).
 */
export function evenSpread(counts: readonly number[], replicas = counts.length): EvenSpread {
  const all = [...counts, ...Array<number>(Math.max(0, replicas - counts.length)).fill(0)]
  const total = all.reduce((sum, count) => sum + count, 0)
  const expected = total / all.length
  const statistic = all.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0)
  const degreesOfFreedom = all.length - 1
  return { statistic, degreesOfFreedom, pValue: 1 - chisquareCdf(statistic, degreesOfFreedom) }
}
