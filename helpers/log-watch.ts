// Every container a run's stack starts, its log read from its first line as it is written, and
// searched for the run's secrets: those started at start-up, and those that scaling, restarts and
// the drill start later and may remove before the run ends. Only what is found is written down
// (the secret's name, never its value), so no copy of a log that leaked one is kept anywhere.
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { projectEvents } from './project-events.ts'

/** The file in a run's folder where the scan writes what it followed and what it found. */
export const LOG_SCAN = 'log-scan.jsonl'

export interface LogScanEntry {
  /**
   * followed: its log is being read from the first line; leak: the log held a secret; unread: the
   * reading failed, so the log may hold one; blind: the event stream ended early, so containers
   * started after that were never followed.
   */
  event: 'followed' | 'leak' | 'unread' | 'blind'
  container: string
  service: string
  /** The variable whose value the log held (leak only). */
  secret?: string
  /** Why a log went unread, or the scan blind. */
  error?: string
}

/** What in a scan means the logs were not all read: a failure of CF-1 as much as a leak. */
export function scanGaps(scan: readonly LogScanEntry[]): string[] {
  return scan
    .filter(({ event }) => event === 'unread' || event === 'blind')
    .map(({ event, service, error }) =>
      event === 'blind'
        ? `the log scan went blind: ${error ?? ''}`
        : `${service}'s log could not be read: ${error ?? ''}`,
    )
}

/** A stream's text searched for secrets, with enough of its tail kept that one split across two chunks is found. */
export function secretSearch(secrets: readonly (readonly [string, string])[]): (chunk: string) => string[] {
  const longest = Math.max(0, ...secrets.map(([, value]) => value.length))
  let tail = ''
  const found = new Set<string>()
  return (chunk) => {
    const text = tail + chunk
    tail = text.slice(-Math.max(0, longest - 1))
    const fresh = secrets.filter(([name, value]) => !found.has(name) && text.includes(value)).map(([name]) => name)
    for (const name of fresh) found.add(name)
    return fresh
  }
}

/** How much of each container's log the watcher keeps, for evidence of a start-up that failed. */
const TAIL_CHARS = 32_000

/**
 * Follows the logs of every container of `project` that starts from now on, until stop(), and
 * keeps the end of each (tails()): when the stack does not come up, testcontainers removes what
 * Compose started before anyone can look, and these are what is left of their logs. Unmasked:
 * whoever writes them masks them.
 */
export function watchLogs(
  project: string,
  secrets: readonly (readonly [string, string])[],
  file: string,
): { stop: () => Promise<void>; tails: () => { container: string; service: string; text: string }[] } {
  const record = (entry: LogScanEntry): void => appendFileSync(file, `${JSON.stringify(entry)}\n`)
  const kept = new Map<string, { service: string; text: string }>()
  const followers = new Map<string, ChildProcess>()
  // Every reader's end, the replaced ones' too: 'close' comes once its output has all been read.
  const closed: Promise<void>[] = []
  let stopping = false
  const events = projectEvents(project, ['start'], ({ id: container, Actor }) => {
    const service = Actor.Attributes['com.docker.compose.service'] ?? ''
    // A restarted container's log holds its earlier runs too: it is read again from the start.
    const earlier = followers.get(container)
    if (earlier !== undefined) {
      followers.delete(container)
      earlier.kill()
    }
    const follower = spawn('docker', ['logs', '--follow', container], { stdio: ['ignore', 'pipe', 'pipe'] })
    closed.push(new Promise((resolve) => follower.on('close', () => resolve())))
    // One search a stream: a secret split across two chunks of stdout is found even when stderr
    // wrote in between.
    kept.set(container, { service, text: '' })
    for (const stream of [follower.stdout, follower.stderr]) {
      const search = secretSearch(secrets)
      stream.on('data', (data: Buffer) => {
        const text = data.toString()
        for (const secret of search(text)) record({ event: 'leak', container, service, secret })
        const tail = kept.get(container)
        if (tail !== undefined) tail.text = (tail.text + text).slice(-TAIL_CHARS)
      })
    }
    // docker logs ends 0 when the container stops; anything else, unless the scan itself ended
    // it, is a log not read to its end. Its own words are not kept: they share stderr with the
    // container's, which may hold the very secret.
    follower.on('close', (code, signal) => {
      if (code === 0 || stopping || followers.get(container) !== follower) return
      record({ event: 'unread', container, service, error: `docker logs exited ${code ?? signal ?? '?'}` })
    })
    followers.set(container, follower)
    record({ event: 'followed', container, service })
  })
  return {
    tails: () => [...kept].map(([container, { service, text }]) => ({ container, service, text })),
    stop: async () => {
      stopping = true
      await events.stop().catch((error: unknown) =>
        record({
          event: 'blind',
          container: '',
          service: '',
          error: error instanceof Error ? error.message : String(error),
        }),
      )
      // The stack is down by now, so each reader reaches the end of its log and ends by itself,
      // its output read to the last byte; it is given a few seconds for that. One still
      // following after them (a kept stack's) is ended.
      let timer: NodeJS.Timeout | undefined
      const ended = Promise.all(closed)
      await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))])
      clearTimeout(timer)
      for (const follower of followers.values())
        if (follower.exitCode === null && follower.signalCode === null) follower.kill()
      await ended
    },
  }
}
