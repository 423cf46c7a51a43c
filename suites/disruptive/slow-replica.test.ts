// least_conn against round robin (LB-3): one gateway replica made slow from outside, then a burst
// of concurrent clients. Round robin gives the slow replica its even share whatever it costs;
// least_conn gives it clearly fewer. The replica is slowed by a token bucket (tc tbf) on the
// interface it answers nginx from, set by a helper container in its network namespace: its
// replies leave at a trickle, whatever the machine's load, and the service is not touched (its
// own health probes, over loopback, are not slowed). Which replica got each request is counted
// in the replicas' own namespaces (helpers/counting.ts). Disruptive only while it runs: the
// bucket is removed at the end of the test, pass or fail.
import { beforeEach, describe, expect } from 'vitest'
import { countRequests } from '../../helpers/counting.ts'
import { runHelper } from '../../helpers/docker.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { it } from '../../helpers/stack-test.ts'
import { addressOf, containerOf, credential, failIfDown, publishedAddress, replicasOf } from '../../helpers/stack.ts'
import { burst, unanswered } from '../../helpers/traffic.ts'

/** The slow replica's replies leave at this rate (kbit/s): a /health reply takes about a quarter second. */
const RATE_KBIT = 16
const REQUESTS = 240
const CLIENTS = 8
/** "Clearly fewer": at most half the share an even split would give it. */
const AT_MOST_OF_EVEN_SHARE = 0.5
/** The port the guide has the gateway listen on, behind nginx. */
const GATEWAY_PORT = 3003

/** tc on the interface of `container` that holds `address`, from a helper in its namespace. */
async function tcOn(container: string, address: string, qdisc: string): Promise<void> {
  const script = `dev=$(ip -o -4 addr show | awk -v a="${address}/" 'index($4, a) == 1 {print $2}'); [ -n "$dev" ] && tc qdisc ${qdisc.replace('DEV', '"$dev"')}`
  const { exitCode, stderr } = await runHelper(credential('TOOLS_IMAGE'), ['sh', '-c', script], {
    network: `container:${container}`,
    flags: ['--cap-add', 'NET_ADMIN'],
  })
  if (exitCode !== 0) throw new Error(`tc qdisc ${qdisc} in ${container} failed (exit ${exitCode}): ${stderr.trim()}`)
}

describe('a slow replica under least_conn', () => {
  beforeEach(failIfDown)

  it(`[LB-3] a replica whose replies leave at ${RATE_KBIT} kbit/s gets at most half its even share of concurrent requests`, async ({
    afterwards,
  }) => {
    const replicas = await replicasOf('api-gateway')
    const [slow = ''] = replicas
    const slowAddress = await addressOf(slow, 'frontend')
    await tcOn(slow, slowAddress, `add dev DEV root tbf rate ${RATE_KBIT}kbit burst 1600 latency 60s`)
    afterwards(() => tcOn(slow, slowAddress, 'del dev DEV root'))

    await using counters = await countRequests(
      replicas,
      GATEWAY_PORT,
      await addressOf(containerOf('nginx'), 'frontend'),
    )
    const replies = await burst(`http://${await publishedAddress('nginx', 80)}/health`, REQUESTS, CLIENTS)
    const counts = await counters.read()
    // nginx may try a second replica for a request the first did not take in time (its
    // proxy_next_upstream): the replicas can receive more than was sent, never fewer.
    const received = Object.values(counts).reduce((sum, count) => sum + count, 0)
    const evenShare = 1 / replicas.length
    const slowShare = (counts[slow] ?? 0) / Math.max(received, 1)
    recordFigures('LB-3', {
      rateKbit: RATE_KBIT,
      requests: REQUESTS,
      received,
      clients: CLIENTS,
      slowReplicaShare: Number(slowShare.toFixed(3)),
      evenShare: Number(evenShare.toFixed(3)),
      ...Object.fromEntries(replicas.map((id, index) => [`replica${index + 1}Requests`, counts[id] ?? 0])),
    })
    expect(
      unanswered(replies).map(({ status, error }) => error ?? `HTTP ${status}`),
      'requests failed',
    ).toEqual([])
    // Every request reached a replica: a share read off fewer would prove nothing.
    expect(received, 'requests the replicas received, of those sent').toBeGreaterThanOrEqual(REQUESTS)
    expect(
      slowShare,
      `the slow replica received ${counts[slow] ?? 0} of ${received}: ${JSON.stringify(Object.values(counts))}`,
    ).toBeLessThanOrEqual(evenShare * AT_MOST_OF_EVEN_SHARE)
  })
})
