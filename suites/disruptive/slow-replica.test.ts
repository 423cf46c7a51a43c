// least_conn against round robin (LB-3): one gateway replica made slow through the reference
// gateway's test-only hook (TEST_HOOKS), then a burst of concurrent clients. Round robin gives the
// slow replica its even share whatever it costs; least_conn gives it clearly fewer. Disruptive
// only while it runs: the replica is made fast again at the end of the test, pass or fail.
import { beforeEach, describe, expect } from 'vitest'
import { recordFigures } from '../../helpers/figures.ts'
import { it } from '../../helpers/stack-test.ts'
import { execIn, publishedAddress, replicaNumbers, replicasOf, failIfDown } from '../../helpers/stack.ts'
import { burst, failures, servedBy } from '../../helpers/traffic.ts'

const DELAY_MS = 300
const REQUESTS = 240
const CLIENTS = 8
/** "Clearly fewer": at most half the share an even split would give it. */
const AT_MOST_OF_EVEN_SHARE = 0.5

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
    const [slow = ''] = await replicasOf('api-gateway')
    const replicas = await replicaNumbers('api-gateway')
    // A container's hostname, which the gateway answers with, is the start of its id.
    const slowName = Object.keys(replicas).find((name) => slow.startsWith(name))
    // A slow replica nobody can name would read as a share of 0 and pass under round robin.
    if (slowName === undefined) throw new Error(`no replica answers as ${slow}: ${JSON.stringify(replicas)}`)
    await setDelay(slow, DELAY_MS)
    afterwards(() => setDelay(slow, 0))

    const replies = await burst(`http://${await publishedAddress('nginx', 80)}/api/echo`, REQUESTS, CLIENTS)
    const counts = servedBy(replies)
    const evenShare = 1 / Object.keys(replicas).length
    const slowShare = (counts[slowName] ?? 0) / REQUESTS
    recordFigures('LB-3', {
      delayMs: DELAY_MS,
      requests: REQUESTS,
      clients: CLIENTS,
      slowReplicaShare: Number(slowShare.toFixed(3)),
      evenShare: Number(evenShare.toFixed(3)),
      ...Object.fromEntries(
        Object.entries(replicas).map(([name, number]) => [`replica${number}Requests`, counts[name] ?? 0]),
      ),
    })
    expect(failures(replies), 'requests failed').toEqual([])
    expect(
      Object.keys(counts).filter((name) => !(name in replicas)),
      'replies named a replica that is not one of the gateway’s: the slow one’s share cannot be read',
    ).toEqual([])
    expect(
      slowShare,
      `the slow replica served ${counts[slowName] ?? 0} of ${REQUESTS}: ${JSON.stringify(counts)}`,
    ).toBeLessThanOrEqual(evenShare * AT_MOST_OF_EVEN_SHARE)
  })
})
