// Every container a run's stack starts, its log read from its first line as it is written, and
// searched for the run's secrets: those started at start-up, and those that scaling, restarts and
// the drill start later and may remove before the run ends. Only what is found is written down
// (the secret's name, never its value), so no copy of a log that leaked one is kept anywhere.
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'

/** The file in a run's folder where the scan writes what it followed and what it found. */
export const LOG_SCAN = 'log-scan.jsonl'

export interface LogScanEntry {
  event: 'followed' | 'leak'
  container: string
  service: string
  /** The variable whose value the log held (leak only). */
  secret?: string
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

/** Follows the logs of every container of `project` that starts from now on, until stop(). */
export function watchLogs(
  project: string,
  secrets: readonly (readonly [string, string])[],
  file: string,
): { stop: () => Promise<void> } {
  const record = (entry: LogScanEntry): void => appendFileSync(file, `${JSON.stringify(entry)}\n`)
  const followers = new Map<string, ChildProcess>()
  const events = spawn(
    'docker',
    [
      'events',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      'event=start',
      '--format',
      '{{.ID}} {{index .Actor.Attributes "com.docker.compose.service"}}',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
  let pending = ''
  events.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines.filter(Boolean)) {
      const [container = '', service = ''] = line.split(' ')
      // A restarted container's log holds its earlier runs too: it is read again from the start.
      followers.get(container)?.kill()
      const follower = spawn('docker', ['logs', '--follow', container], { stdio: ['ignore', 'pipe', 'pipe'] })
      // One search a stream: a secret split across two chunks of stdout is found even when stderr
      // wrote in between.
      for (const stream of [follower.stdout, follower.stderr]) {
        const search = secretSearch(secrets)
        stream.on('data', (data: Buffer) => {
          for (const secret of search(data.toString())) record({ event: 'leak', container, service, secret })
        })
      }
      followers.set(container, follower)
      record({ event: 'followed', container, service })
    }
  })
  return {
    stop: async () => {
      const all = [events, ...followers.values()]
      await Promise.all(
        all.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) {
                resolve()
                return
              }
              child.on('close', () => resolve())
              child.kill()
            }),
        ),
      )
    },
  }
}
