// Scaling (LB-1), a replica going away under load (LB-5) and `docker compose restart` (UP-4), on
// the shared stack. Each test puts the stack back as it found it (three gateway replicas, one
// user-service, nginx reloaded, everything healthy), pass or fail.
import { beforeAll, beforeEach, describe, expect } from 'vitest'
import { competingConsumers } from '../../helpers/broker.ts'
import { docker } from '../../helpers/docker.ts'
import { recordFigures, recordTimeline } from '../../helpers/figures.ts'
import { it } from '../../helpers/stack-test.ts'
import { elapsedMs } from '../../helpers/units.ts'
import {
  addressOf,
  compose,
  containerOf,
  crash,
  processOf,
  publishedAddress,
  reloadNginx,
  replicasOf,
  scale,
  failIfDown,
  stack,
  stateOf,
  untilState,
  wholeAgain,
} from '../../helpers/stack.ts'
import { countRequests } from '../../helpers/counting.ts'
import { burst, outcomes, steadyLoad, timelineOf, unanswered, type Reply } from '../../helpers/traffic.ts'
import { policy } from '../../fixtures/policy.ts'

/**
 * How long steady load goes on after a replica leaves. nginx takes a server that failed out of
 * rotation for fail_timeout (10 s unless set) and then tries it again with a live request; a
 * window shorter than that can end before the moment a vanished replica costs a request (a
 * request count, on a fast machine, did: 600 requests took 3 s), so it is a span of time.
 */
const AFTER_LEAVING_MS = 15_000

// Each test waits for the stack to be whole again at its end, which can take a RabbitMQ restart:
// a compose command may take 180 s, and the waits after it up to 120 s more.
describe('scaling and replicas going away', { timeout: 360_000 }, () => {
  // What the guide promises behind nginx; which replica received each request is counted from
  // outside (helpers/counting.ts).
  let health: string
  let nginx: string
  beforeAll(async () => {
    if (stack().failure !== null) return
    health = `http://${await publishedAddress('nginx', 80)}/health`
    nginx = await addressOf(containerOf('nginx'), 'frontend')
  })
  beforeEach(failIfDown)

  it('[LB-1] --scale api-gateway=5 gives five healthy replicas, and after the reload the README asks for, nginx sends traffic to all five', async ({
    afterwards,
  }) => {
    afterwards(() => scale('api-gateway', policy.replicas['api-gateway'] ?? 3), reloadNginx, wholeAgain)
    const serving = await replicasOf('api-gateway')
    const scaled = performance.now()
    await scale('api-gateway', 5)
    const healthyMs = elapsedMs(scaled)
    const replicas = await replicasOf('api-gateway')
    expect(replicas, 'scaling up replaced the replicas that were serving').toEqual(expect.arrayContaining(serving))
    expect(await Promise.all(replicas.map((id) => stateOf(id)))).toEqual(Array(5).fill('healthy'))

    await reloadNginx()
    await using counters = await countRequests(replicas, policy.gatewayPort, nginx)
    const replies = await burst(health, 500, 10)
    const counts = await counters.read()
    recordFigures('LB-1', {
      gatewayReplicas: replicas.length,
      scaleToHealthyMs: healthyMs,
      servingAfterReload: replicas.filter((id) => (counts[id] ?? 0) > 0).length,
    })
    expect(
      unanswered(replies).map(({ status, error }) => error ?? `HTTP ${status}`),
      'requests failed',
    ).toEqual([])
    // Received once each: a replica that answered nginx with an error would have the request
    // tried on another, and count as serving though it did not serve.
    expect(
      Object.values(counts).reduce((sum, count) => sum + count, 0),
      'requests the replicas received, of those sent',
    ).toBe(500)
    expect(
      replicas.map((id) => counts[id] ?? 0).every((count) => count > 0),
      `requests each replica received: ${JSON.stringify(replicas.map((id) => counts[id] ?? 0))}`,
    ).toBe(true)
  })

  it('[LB-1] --scale user-service=5 gives five instances, each consuming from the broker', async ({ afterwards }) => {
    afterwards(() => scale('user-service', 1), wholeAgain)
    await scale('user-service', 5)
    const { instances, consuming, shared } = await competingConsumers('user-service')
    expect(await Promise.all(instances.map(({ id }) => stateOf(id)))).toEqual(Array(5).fill('healthy'))
    recordFigures('LB-1', {
      userServiceInstances: instances.length,
      userServiceConsuming: instances.filter(({ address }) => (consuming[address] ?? []).length > 0).length,
      userServiceSharedQueues: shared.length,
    })
    expect(shared, `queues the instances consume: ${JSON.stringify(consuming)}`).not.toEqual([])
  })

  // stopped: `docker stop`, so it finishes what it has in flight, then leaves. crashed: its main
  // process killed, so connections are cut mid-request, and its restart policy brings it back:
  // then the load goes on until it is healthy and for the window after, so its return is judged
  // too, however long it takes on this machine.
  it.for(['stopped', 'crashed'] as const)(
    '[LB-5] a gateway replica %s under steady load: clients see no error',
    async (how, { afterwards }) => {
      failIfDown()
      const [leaving = ''] = await replicasOf('api-gateway')
      // It may come back on another address; nginx resolves the replicas again.
      afterwards(
        async () => {
          if (how === 'stopped') await docker(['start', leaving])
        },
        wholeAgain,
        reloadNginx,
      )
      const load = steadyLoad(health, 4)
      const since = (replies: readonly Reply[], at: number) => replies.filter((reply) => reply.at >= at)
      {
        // Read before it leaves: its counter goes with its network namespace.
        await using counters = await countRequests([leaving], policy.gatewayPort, nginx)
        await expect
          .poll(async () => (await counters.read())[leaving] ?? 0, {
            timeout: 10_000,
            message: 'the replica about to leave never served before it left',
          })
          .toBeGreaterThan(0)
      }

      const goneAt = elapsedMs(load.started)
      if (how === 'stopped') {
        const stopped = await docker(['stop', leaving])
        if (stopped.exitCode !== 0) throw new Error(`docker stop ${leaving} failed: ${stopped.stderr.trim()}`)
        expect(await stateOf(leaving), 'the replica did not stop').toMatch(/^exited/)
      } else {
        await crash(leaving)
        await untilState(leaving, 'healthy', 'the crashed replica never came back healthy', 90_000)
      }
      const replies = await load.stopAfter(AFTER_LEAVING_MS)
      const after = since(replies, goneAt)
      expect(after.length, 'no traffic flowed after the replica left').toBeGreaterThan(100)
      const errors = unanswered(after)
      const lastError = errors.at(-1)
      recordTimeline(
        'LB-5',
        how,
        timelineOf(replies, [{ label: how === 'stopped' ? 'replica stopped' : 'replica killed', atMs: goneAt }]),
      )
      recordFigures('LB-5', {
        [`${how}Requests`]: after.length,
        [`${how}Errors`]: errors.length,
        [`${how}ErrorsForMs`]: lastError === undefined ? 0 : lastError.at - goneAt,
      })
      expect(
        errors.slice(0, 5).map(({ at, status, error }) => ({ afterMs: at - goneAt, status, error })),
        `${errors.length} of ${after.length} requests failed after the replica left${errors.length === 0 ? '' : ` (${outcomes(errors)})`}`,
      ).toEqual([])
    },
  )

  const longRunning = stack().services.filter((name) => !policy.oneShot.includes(name))
  it.for(longRunning)('[UP-4] docker compose restart %s brings it back healthy', async (service, { afterwards }) => {
    failIfDown()
    // Restarted gateways may come back on other addresses; nginx resolves them again.
    afterwards(wholeAgain, reloadNginx)
    // The service's containers as they run now: one an earlier test replaced (a dependency's
    // restart can make Compose recreate it) is restarted here all the same.
    const containers = await replicasOf(service)
    expect(containers.length, `${service} has no running container to restart`).toBeGreaterThan(0)
    const before = await Promise.all(containers.map((id) => processOf(id)))
    const restarted = performance.now()
    await compose(['restart', service])
    await untilState(containers, 'healthy', `${service} did not turn healthy after the restart`, 120_000)
    recordFigures('UP-4', { [`${service}HealthyMs`]: elapsedMs(restarted) })
    const after = await Promise.all(containers.map((id) => processOf(id)))
    expect(
      after.map(({ startedAt }, index) => startedAt !== before[index]?.startedAt),
      'not every container was restarted',
    ).toEqual(containers.map(() => true))
  })
})
