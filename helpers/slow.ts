// One replica made slow from outside it (LB-3): its answers come a fixed time later, while it
// stays healthy and accepts every connection at once. A helper in the replica's network namespace
// runs a delaying TCP proxy (images/tools/delay-proxy), and an iptables REDIRECT there sends the
// connections nginx opens to the replica's port through it. Measured on this kind of machine: a
// fixed delay holds whatever else the machine is doing, where starving the replica of CPU (docker
// update --cpus) slows it by however busy the machine already is, and a token bucket on its
// interface (tc tbf) slowed its handshakes until nginx took it out of rotation. The replica's own
// health checks, over loopback, go straight to it. The request counters (helpers/counting.ts)
// see each request before the redirect, so the slow replica's requests still count as its own.
import { randomBytes, randomInt } from 'node:crypto'
import { expect } from 'vitest'
import { docker, startHelper } from './docker.ts'
import { fromPeer, iptablesIn } from './netns.ts'
import { credential } from './stack.ts'

/** The REDIRECT rule, as `iptables -t nat -I` / `-D` take it. */
const redirect = (port: number, from: string, proxyPort: number, tag: string): string[] => [
  ...fromPeer(port, from, tag),
  '-j',
  'REDIRECT',
  '--to-ports',
  String(proxyPort),
]

/**
 * Makes `container` answer `delayMs` later than it would, for the connections `from` opens to its
 * `port` at `address` (its own address, where nginx reaches it), until the end of the `await using`
 * block: then the rule goes first, and the proxy after it.
 */
export async function slowDown(
  container: string,
  { address, port, from, delayMs }: { address: string; port: number; from: string; delayMs: number },
): Promise<AsyncDisposable> {
  const tag = `banyan-verify-slow-${randomBytes(6).toString('hex')}`
  // Out of the way of the ports a service listens on.
  const proxyPort = randomInt(40_000, 50_000)
  await using stack = new AsyncDisposableStack()
  const proxy = stack.use(
    await startHelper(
      credential('TOOLS_IMAGE'),
      ['delay-proxy', String(proxyPort), address, String(port), String(delayMs)],
      { network: `container:${container}` },
    ),
  )
  await expect
    .poll(async () => (await docker(['logs', proxy.id])).stdout, {
      timeout: 15_000,
      message: `the delaying proxy in ${container}'s namespace never listened`,
    })
    .toContain('listening')
  await iptablesIn(container, ['-t', 'nat', '-I', ...redirect(port, from, proxyPort, tag)])
  stack.defer(async () => {
    // A replica that is gone took its rule with it.
    await iptablesIn(container, ['-t', 'nat', '-D', ...redirect(port, from, proxyPort, tag)]).catch(() => '')
  })
  return stack.move()
}
