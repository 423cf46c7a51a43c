// Work done in a container's own network namespace from outside it: a helper container of the
// suite's tools image joined to that namespace (`--network container:<id>`), with NET_ADMIN there
// only. The service's image needs no tool of its own, and what the helper changes (a rule, a
// counter) lives in the container's namespace: it goes when the container goes.
import { runHelper } from './docker.ts'
import { credential } from './stack.ts'

/** Runs iptables in a container's network namespace; throws with what it said when it fails. */
export async function iptablesIn(container: string, args: readonly string[]): Promise<string> {
  const { exitCode, stdout, stderr } = await runHelper(credential('TOOLS_IMAGE'), ['iptables', '-w', ...args], {
    network: `container:${container}`,
    flags: ['--cap-add', 'NET_ADMIN'],
  })
  if (exitCode !== 0) throw new Error(`iptables in ${container}'s namespace exited ${exitCode}: ${stderr.trim()}`)
  return stdout
}

/**
 * The start of a PREROUTING rule for the TCP packets `from` sends to `port`, named by `tag` (a
 * comment) among the others there; the same words add the rule (-I) and take it away (-D).
 */
export const fromPeer = (port: number, from: string, tag: string): string[] => [
  'PREROUTING',
  '-p',
  'tcp',
  '--dport',
  String(port),
  '-s',
  from,
  '-m',
  'comment',
  '--comment',
  tag,
]
