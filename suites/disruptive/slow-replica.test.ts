// least_conn against round robin (LB-3): one gateway replica made slow, then a burst of concurrent
// clients. Round robin gives the slow replica its even share whatever it costs; least_conn gives
// it clearly fewer. Which replica got each request is counted in the replicas' own namespaces
// (helpers/counting.ts). Disruptive only while it runs: the replica is made fast again at the
// end of the test, pass or fail.
import { beforeEach, describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { countRequests } from '../../helpers/counting.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { it } from '../../helpers/stack-test.ts'
import { addressOf, containerOf, execIn, failIfDown, publishedAddress, replicasOf } from '../../helpers/stack.ts'
import { burst, unanswered } from '../../helpers/traffic.ts'

const DELAY_MS = 300
const REQUESTS = 240
const CLIENTS = 8
/** "Clearly fewer": at most half the share an even split would give it. */
const AT_MOST_OF_EVEN_SHARE = 0.5

/**
 * Slows one replica's answers by the reference gateway's test-only hook (TEST_HOOKS). Tried from
 * outside first, a token bucket (tc tbf) on its interface: it slows the replica's SYN-ACKs too,
 * nginx's 2 s connect timeout then takes it out of rotation, and round robin gave it as few
 * requests as least_conn in one run of two: a slow replica must answer slowly, not fail.
 */
async function setDelay(container: string, ms: number): Promise<void> {
  const { exitCode, stdout, stderr } = await execIn(container, [
    'curl',
    '-fsS',
    '-X',
    'POST',
    `http://localhost:3003/__test/delay?ms=${ms}`,
  ])
  if (exitCode !== 0) {
    throw new Error(`the gateway's test hook did not answer (is TEST_HOOKS on?): ${stdout}${stderr}`)
  }
}

describe('a slow replica under least_conn', () => {
  beforeEach(failIfDown)

  it(`[LB-3] a replica ${DELAY_MS} ms slower than the others gets at most half its even share of concurrent requests`, async ({
    afterwards,
  }) => {
    const replicas = await replicasOf('api-gateway')
    const [slow = ''] = replicas
    await setDelay(slow, DELAY_MS)
    afterwards(() => setDelay(slow, 0))

    await using counters = await countRequests(
      replicas,
      policy.gatewayPort,
      await addressOf(containerOf('nginx'), 'frontend'),
    )
    // /api/echo: the hook slows every path but /health (a slow replica is still a healthy one).
    const replies = await burst(`http://${await publishedAddress('nginx', 80)}/api/echo`, REQUESTS, CLIENTS)
    const counts = await counters.read()
    // nginx may try a second replica for a request the first did not take in time (its
    // proxy_next_upstream): the replicas can receive more than was sent, never fewer.
    const received = Object.values(counts).reduce((sum, count) => sum + count, 0)
    const evenShare = 1 / replicas.length
    const slowShare = (counts[slow] ?? 0) / Math.max(received, 1)
    recordFigures('LB-3', {
      delayMs: DELAY_MS,
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
