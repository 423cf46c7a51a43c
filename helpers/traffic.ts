// Client traffic through nginx, as the LB suites send it: every reply's status, every failure kept
// with when it happened. Which replica served a request is counted from outside, in the replicas'
// own network namespaces (helpers/counting.ts), never read off the reply.
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf'
import { request } from 'undici'
import type { Timeline } from './figures.ts'
import { elapsedMs } from './units.ts'

export interface Reply {
  /** When the request was sent, in ms since the traffic started. */
  at: number
  /** The HTTP status, or 0 when the client saw no response at all (reset, refused, timeout). */
  status: number
  /** How long it took to be answered (or to fail), in ms. */
  ms: number
  error?: string
}

async function get(url: string, started: number, headers: Record<string, string>, timeoutMs = 10_000): Promise<Reply> {
  const at = elapsedMs(started)
  try {
    const { statusCode, body } = await request(url, {
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    })
    await body.dump()
    return { at, status: statusCode, ms: elapsedMs(started) - at }
  } catch (error) {
    return { at, status: 0, ms: elapsedMs(started) - at, error: error instanceof Error ? error.message : String(error) }
  }
}

/** Clients at work: what they got so far, and how to stop them or wait for them to finish. */
export interface Load<T> {
  /** performance.now() when the first request went out; every Reply.at counts from here. */
  started: number
  /** The results so far, growing while the clients run. */
  results: readonly T[]
  /** How many requests were sent and are not answered yet. */
  outstanding: () => number
  /** Resolves with every result once `total` requests were answered (or stop() was called). */
  done: Promise<T[]>
  /** Stops sending, waits for the requests in flight, and returns every result. */
  stop: () => Promise<T[]>
  /**
   * Goes on sending for `ms` more, then stops as stop() does: a load test that must cover a span of
   * time (one of nginx's retry periods, say) whatever the machine's speed.
   */
  stopAfter: (ms: number) => Promise<T[]>
}

/**
 * `concurrency` clients, each sending its next request as soon as its last one is answered,
 * until `total` were sent or stop() is called. `send` gets each request's number (0, 1, ...) and
 * when the clients started.
 */
export function clients<T>(
  concurrency: number,
  send: (index: number, started: number) => Promise<T>,
  total = Infinity,
): Load<T> {
  const started = performance.now()
  const results: T[] = []
  let next = 0
  let running = true
  let deadline = Infinity
  const done = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (running && next < total && performance.now() < deadline) {
        const index = next
        next += 1
        results.push(await send(index, started))
      }
    }),
  ).then(() => results)
  return {
    started,
    results,
    outstanding: () => next - results.length,
    done,
    stop: async () => {
      running = false
      return done
    },
    stopAfter: async (ms) => {
      deadline = performance.now() + ms
      return done
    },
  }
}

/** `total` GET requests, `concurrency` at a time: what a burst of clients does. */
export const burst = (
  url: string,
  total: number,
  concurrency: number,
  headers: Record<string, string> = {},
): Promise<Reply[]> => clients(concurrency, (_, started) => get(url, started, headers), total).done

/**
 * Clients that keep sending GETs, `concurrency` at a time, until stopped; each gives up on a
 * request after `timeoutMs` without an answer, and sends `headers` with each.
 */
export const steadyLoad = (
  url: string,
  concurrency: number,
  timeoutMs?: number,
  headers: Record<string, string> = {},
): Load<Reply> => clients(concurrency, (_, started) => get(url, started, headers, timeoutMs))

/** Replies a client could not use: no 2xx (a redirect or nginx's own error page), or no response at all. */
export const unanswered = (replies: readonly Reply[]): Reply[] => replies.filter((reply) => !answered(reply))

/** A reply a client could use: a 2xx. */
const answered = ({ status }: Reply): boolean => status >= 200 && status < 300

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

/**
 * The longest time clients went without a 2xx answer: between two answers in a row, taken in the
 * order they came (Reply.at + ms), from the start of the traffic to the first, and from the last
 * to the end of the traffic (the last reply of any kind), so that failures to the end count, and
 * traffic with no answer at all is one gap. What a user sees of a downtime, however many clients
 * were waiting through it.
 */
export function longestGapMs(replies: readonly Reply[]): number {
  const answeredAt = replies
    .filter(answered)
    .map(({ at, ms }) => at + ms)
    .sort((a, b) => a - b)
  const times = [0, ...answeredAt, Math.max(0, ...replies.map(({ at, ms }) => at + ms))]
  return times.reduce((longest, time, index) => Math.max(longest, time - (times[index - 1] ?? time)), 0)
}

/** What went wrong among replies, for a message: `HTTP 502 ×3, other side closed ×1`. */
export function outcomes(replies: readonly Reply[]): string {
  const counts = new Map<string, number>()
  for (const { status, error } of replies) {
    const what = error ?? `HTTP ${status}`
    counts.set(what, (counts.get(what) ?? 0) + 1)
  }
  return [...counts].map(([what, count]) => `${what} ×${count}`).join(', ')
}

/**
 * Replies as a timeline (helpers/figures.ts): counted by when they were sent, in buckets of about
 * an eightieth of the traffic's span (100 ms at least), with `events` marked on it.
 */
export function timelineOf(replies: readonly Reply[], events: Timeline['events']): Timeline {
  const span = Math.max(0, ...replies.map(({ at }) => at), ...events.map(({ atMs }) => atMs))
  const bucketMs = Math.max(100, Math.ceil(span / 80 / 50) * 50)
  const buckets = Math.floor(span / bucketMs) + 1
  const ok = Array.from({ length: buckets }, () => 0)
  const failed = Array.from({ length: buckets }, () => 0)
  for (const reply of replies) {
    const bucket = Math.floor(reply.at / bucketMs)
    if (answered(reply)) ok[bucket] = (ok[bucket] ?? 0) + 1
    else failed[bucket] = (failed[bucket] ?? 0) + 1
  }
  return { bucketMs, ok, failed, events: events.map(({ label, atMs }) => ({ label, atMs: Math.round(atMs) })) }
}
