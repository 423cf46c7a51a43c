// One replica made slow from outside it (LB-3): its answers come a fixed time later, while it
// stays healthy and accepts every connection at once. A helper in the replica's network namespace
// runs a delaying TCP proxy (images/tools/delay-proxy), and an iptables REDIRECT there sends the
// connections nginx opens to the replica's port through it. Measured on this kind of machine: a
// fixed delay holds whatever else the machine is doing, where starving the replica of CPU (docker
// update --cpus) slows it by however busy the machine already is, and a token bucket on its
// interface (tc tbf) slowed its handshakes until nginx took it out of rotation. The replica's own
// health checks, over loopback, go straight to it. The request counters (helpers/counting.ts)
// see each request before the redirect, so the slow replica's requests still count as its own.
import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { docker, firstLine, startHelper } from './docker.ts'
import { fromPeer, iptablesIn, portOf, socketsIn } from './netns.ts'
import { credential, execIn } from './stack.ts'

/** The REDIRECT rule, as `iptables -t nat -I` / `-D` take it. */
const redirect = (port: number, from: string, proxyPort: number, tag: string): string[] => [
  ...fromPeer(port, from, tag),
  '-j',
  'REDIRECT',
  '--to-ports',
  String(proxyPort),
]

/**
 * The delaying proxy in `container`'s namespace with nginx's connections to `port` redirected
 * through it, until the end of the `await using` block: then the rule goes first, and the proxy
 * after it. `delay` is a time in ms, or `hold` (each connection held until released).
 */
async function proxied(
  container: string,
  { address, port, from, delay }: { address: string; port: number; from: string; delay: number | 'hold' },
): Promise<{ proxy: string; proxyPort: number } & AsyncDisposable> {
  const tag = `banyan-verify-slow-${randomBytes(6).toString('hex')}`
  await using stack = new AsyncDisposableStack()
  // Port 0: the kernel takes one that is free in the namespace, and the proxy says which.
  const proxy = stack.use(
    await startHelper(credential('TOOLS_IMAGE'), ['delay-proxy', '0', address, String(port), String(delay)], {
      network: `container:${container}`,
    }),
  )
  let said = ''
  await expect
    .poll(
      async () => {
        const logs = await docker(['logs', proxy.id])
        // A proxy that could not start is gone with its logs (--rm): that is said, not waited out.
        if (logs.exitCode !== 0)
          throw new Error(`the delaying proxy in ${container}'s namespace is gone: ${firstLine(logs.stderr)}`)
        said = logs.stdout
        return said
      },
      { timeout: 15_000, message: `the delaying proxy in ${container}'s namespace never listened` },
    )
    .toMatch(/listening on \d+/)
  const proxyPort = Number(/listening on (\d+)/.exec(said)?.[1])
  await iptablesIn(container, ['-t', 'nat', '-I', ...redirect(port, from, proxyPort, tag)])
  stack.defer(async () => {
    // A replica that is gone took its rule with it.
    await iptablesIn(container, ['-t', 'nat', '-D', ...redirect(port, from, proxyPort, tag)]).catch(() => '')
  })
  const moved = stack.move()
  return { proxy: proxy.id, proxyPort, [Symbol.asyncDispose]: () => moved.disposeAsync() }
}

/**
 * Makes `container` answer `delayMs` later than it would, for the connections `from` opens to its
 * `port` at `address` (its own address, where nginx reaches it), until the end of the `await using`
 * block.
 */
export async function slowDown(
  container: string,
  { address, port, from, delayMs }: { address: string; port: number; from: string; delayMs: number },
): Promise<AsyncDisposable> {
  return proxied(container, { address, port, from, delay: delayMs })
}

/** Requests held on their way to a service, in its namespace: how many are held now, and letting them all go on. */
export interface Held extends AsyncDisposable {
  /** The connections `from` opened that the proxy holds now. */
  held: () => Promise<number>
  /** Every held connection goes on to the service; the proxy takes no more, and exits once they are through. */
  release: () => Promise<void>
}

/**
 * Holds every connection `from` opens to `container`'s `port` (at `address`) in a proxy in its
 * namespace, whole: the service sees nothing of them until release(). A request held so is in
 * flight by any measure, and its service is not stopped meanwhile (its own timers, its own health
 * checks over loopback, go on).
 */
export async function holdRequests(
  container: string,
  { address, port, from }: { address: string; port: number; from: string },
): Promise<Held> {
  const proxy = await proxied(container, { address, port, from, delay: 'hold' })
  return {
    held: async () =>
      (await socketsIn(container)).filter(
        ({ local, peer }) => portOf(local) === proxy.proxyPort && peer.startsWith(`${from}:`),
      ).length,
    release: async () => {
      const { exitCode, stderr } = await execIn(proxy.proxy, ['touch', '/tmp/release'])
      if (exitCode !== 0) throw new Error(`could not release the requests held in ${container}: ${stderr.trim()}`)
    },
    [Symbol.asyncDispose]: () => proxy[Symbol.asyncDispose](),
  }
}
