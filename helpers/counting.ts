// Which replica served a request, seen from outside: each replica's own kernel counts the HTTP
// requests it receives from nginx. A helper container joined to the replica's network namespace
// (NET_ADMIN there only) adds an iptables rule with no verdict, which matches the packet that
// carries a request line (" HTTP/1." in it, so keep-alive connections count each request, not
// each connection) on the service's port from nginx's address; the replica's own health probes,
// over loopback, do not match. The rule sits in the mangle table's PREROUTING chain, which sees a
// packet before any redirect (helpers/slow.ts sends one replica's requests through a delaying
// proxy; they must still count as that replica's). The service needs no header, hook or tool of
// its own. The rule lives in the replica's namespace: it goes when the replica goes, and is
// removed when counting ends.
import { randomBytes } from 'node:crypto'
import { docker } from './docker.ts'
import { fromPeer, iptablesIn } from './netns.ts'

/** The packet that carries a request's first line, in iptables' --hex-string form. */
export const REQUEST_LINE = ' HTTP/1.'

/** A header line exactly as sent, in --hex-string form: CRLF on both sides, so a value cannot be a prefix of another. */
export const headerLine = (name: string, value: string): string => `|0d0a|${name}: ${value}|0d0a|`

/** The rule, as `iptables -I` / `-D` take it; the comment names this counter among others. */
const rule = (port: number, from: string, match: string, tag: string): string[] => [
  ...fromPeer(port, from, tag),
  '-m',
  'string',
  '--algo',
  'bm',
  // Header names are case-insensitive in HTTP; so is the match.
  '--icase',
  '--hex-string',
  match,
]

export interface RequestCounters extends AsyncDisposable {
  /** Requests each container received from `from` since counting began, by container; throws if a counter went. */
  read: () => Promise<Record<string, number>>
  /**
   * The same, for the containers that kept their counter, and why each of the others lost it (it
   * restarted, which gives it a new namespace, or was stopped or removed): for a check that makes
   * a container that went a finding of its own.
   */
  readKept: () => Promise<{ counts: Record<string, number>; gone: Record<string, string> }>
}

/** When each container started, by Docker: a container that restarts keeps its id and gets a new namespace. */
async function startedAt(containers: readonly string[]): Promise<Record<string, string>> {
  const { exitCode, stdout, stderr } = await docker(['inspect', '--format', '{{.State.StartedAt}}', ...containers])
  if (exitCode !== 0) throw new Error(`docker inspect of the containers to count failed: ${stderr.trim()}`)
  // One line per container, in the order asked.
  const lines = stdout.trim().split('\n')
  return Object.fromEntries(containers.map((container, index) => [container, lines[index] ?? '']))
}

/**
 * Why a container's counter is gone, as Docker tells it, or undefined if Docker sees nothing
 * happen to it (the rule was taken away inside a namespace that is still the one counted).
 */
async function whyGone(container: string, started: string): Promise<string | undefined> {
  const { exitCode, stdout, stderr } = await docker([
    'inspect',
    '--format',
    '{{.State.Status}} {{.RestartCount}} {{.State.StartedAt}}',
    container,
  ])
  if (exitCode !== 0 && /no such (object|container)/i.test(stderr)) return 'removed while counting'
  if (exitCode !== 0) throw new Error(`docker inspect ${container} failed: ${stderr.trim()}`)
  const [status = '', restarts = '', startedNow = ''] = stdout.trim().split(' ')
  if (status !== 'running') return `${status} while counting (restart count ${restarts})`
  if (startedNow !== started)
    return `restarted while counting (restart count ${restarts}, running again since ${startedNow})`
  return undefined
}

/** How often a listing that printed nothing at all is asked again before it is an error of the reading. */
const EMPTY_LISTINGS = 3

/**
 * The mangle table's PREROUTING chain in a container's namespace, as iptables lists it with its
 * counters, or the error that stopped it. A listing always starts with the chain's own line: one
 * that printed nothing lost its output on the way, and would read as a counter taken away (twice a
 * CI run said so of a replica Docker saw nothing happen to, cause unknown), so it is asked again,
 * a few times; the counters only grow, and the load they count is over when they are read.
 */
async function listed(container: string): Promise<{ text: string; error: Error | undefined }> {
  for (let attempt = 1; ; attempt++) {
    const listing = await iptablesIn(container, ['-t', 'mangle', '-L', 'PREROUTING', '-v', '-x', '-n']).then(
      (text) => ({ text, error: undefined }),
      (error: unknown) => ({ text: '', error: error instanceof Error ? error : new Error(String(error)) }),
    )
    if (listing.error !== undefined || /^Chain PREROUTING/m.test(listing.text)) return listing
    if (attempt === EMPTY_LISTINGS)
      return {
        text: '',
        error: new Error(
          `iptables in ${container}'s namespace listed nothing, ${EMPTY_LISTINGS} times: not even its chain`,
        ),
      }
  }
}

/**
 * Starts counting the HTTP requests each of `containers` receives on `port` from the address
 * `from`: those whose packets carry `match` (the request line unless told: so, every request).
 */
export async function countRequests(
  containers: readonly string[],
  port: number,
  from: string,
  match: string = REQUEST_LINE,
): Promise<RequestCounters> {
  const tag = `banyan-verify-${randomBytes(6).toString('hex')}`
  const started = await startedAt(containers)
  const counted: string[] = []
  const remove = async (): Promise<void> => {
    // A replica that is gone took its rule with it.
    await Promise.all(
      counted.map((container) =>
        iptablesIn(container, ['-t', 'mangle', '-D', ...rule(port, from, match, tag)]).catch(() => ''),
      ),
    )
  }
  try {
    for (const container of containers) {
      await iptablesIn(container, ['-t', 'mangle', '-I', ...rule(port, from, match, tag)])
      counted.push(container)
    }
  } catch (error) {
    await remove()
    throw error
  }
  const readKept = async (): Promise<{ counts: Record<string, number>; gone: Record<string, string> }> => {
    const counts: Record<string, number> = {}
    const gone: Record<string, string> = {}
    await Promise.all(
      containers.map(async (container) => {
        const listing = await listed(container)
        const line = listing.text.split('\n').find((entry) => entry.includes(`/* ${tag} */`))
        if (line !== undefined) {
          counts[container] = Number(line.trim().split(/\s+/)[0])
          return
        }
        // Asked once: a container that stopped has no namespace to read, and one Docker saw nothing
        // happen to either failed to be read (an error of the reading) or lost its rule in its own namespace.
        const why = await whyGone(container, started[container] ?? '')
        if (why === undefined && listing.error !== undefined) throw listing.error
        gone[container] = why ?? 'its rule was taken away in its own namespace'
      }),
    )
    return { counts, gone }
  }
  return {
    read: async () => {
      const { counts, gone } = await readKept()
      const lost = Object.entries(gone).map(([container, why]) => `the request counter in ${container} is gone: ${why}`)
      if (lost.length > 0) throw new Error(lost.join('; '))
      return counts
    },
    readKept,
    [Symbol.asyncDispose]: remove,
  }
}
