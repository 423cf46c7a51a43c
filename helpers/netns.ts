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

/** One TCP connection in a container's namespace, as `ss` lists it: its two ends. */
export interface Socket {
  local: string
  peer: string
}

/** The established TCP connections in a container's network namespace, listed by `ss` from a helper there. */
export async function socketsIn(container: string): Promise<Socket[]> {
  const { exitCode, stdout, stderr } = await runHelper(
    credential('TOOLS_IMAGE'),
    ['ss', '-Htn', 'state', 'established'],
    {
      network: `container:${container}`,
    },
  )
  if (exitCode !== 0) throw new Error(`ss in ${container}'s namespace exited ${exitCode}: ${stderr.trim()}`)
  // With a state filter ss leaves the state column out: Recv-Q, Send-Q, local, peer.
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 4)
    .map(([, , local = '', peer = '']) => ({ local, peer }))
}

/** The port of an `address:port` (or `[v6]:port`) as ss prints it. */
export const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))
