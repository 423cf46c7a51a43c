// Which replica served a request, seen from outside: each replica's own kernel counts the HTTP
// requests it receives from nginx. A helper container joined to the replica's network namespace
// (NET_ADMIN there only) adds an iptables rule with no verdict, which matches the packet that
// carries a request line (" HTTP/1." in it, so keep-alive connections count each request, not
// each connection) on the service's port from nginx's address; the replica's own health probes,
// over loopback, do not match. The service needs no header, hook or tool of its own. The rule
// lives in the replica's namespace: it goes when the replica goes, and is removed when counting ends.
import { runHelper } from './docker.ts'
import { credential } from './stack.ts'

const REQUEST_LINE = ' HTTP/1.'

/** The rule, as `iptables -I` / `-D` take it; the comment names this counter among others. */
function rule(port: number, from: string, tag: string): string[] {
  return [
    'INPUT',
    '-p',
    'tcp',
    '--dport',
    String(port),
    '-s',
    from,
    '-m',
    'string',
    '--algo',
    'bm',
    '--string',
    REQUEST_LINE,
    '-m',
    'comment',
    '--comment',
    tag,
  ]
}

async function iptables(container: string, args: readonly string[]): Promise<string> {
  const { exitCode, stdout, stderr } = await runHelper(credential('TOOLS_IMAGE'), ['iptables', '-w', ...args], {
    network: `container:${container}`,
    flags: ['--cap-add', 'NET_ADMIN'],
  })
  if (exitCode !== 0) throw new Error(`iptables in ${container}'s namespace exited ${exitCode}: ${stderr.trim()}`)
  return stdout
}

export interface RequestCounters extends AsyncDisposable {
  /** Requests each container received from `from` since counting began, by container. */
  read: () => Promise<Record<string, number>>
}

/** Starts counting the HTTP requests each of `containers` receives on `port` from the address `from`. */
export async function countRequests(
  containers: readonly string[],
  port: number,
  from: string,
): Promise<RequestCounters> {
  const tag = `banyan-verify-${process.pid}-${Date.now()}`
  const counted: string[] = []
  const remove = async (): Promise<void> => {
    // A replica that is gone took its rule with it.
    await Promise.all(counted.map((container) => iptables(container, ['-D', ...rule(port, from, tag)]).catch(() => '')))
  }
  try {
    for (const container of containers) {
      await iptables(container, ['-I', ...rule(port, from, tag)])
      counted.push(container)
    }
  } catch (error) {
    await remove()
    throw error
  }
  return {
    read: async () =>
      Object.fromEntries(
        await Promise.all(
          containers.map(async (container) => {
            const listing = await iptables(container, ['-L', 'INPUT', '-v', '-x', '-n'])
            const line = listing.split('\n').find((entry) => entry.includes(`/* ${tag} */`))
            if (line === undefined) throw new Error(`the request counter in ${container} is gone`)
            return [container, Number(line.trim().split(/\s+/)[0])] as const
          }),
        ),
      ),
    [Symbol.asyncDispose]: remove,
  }
}
