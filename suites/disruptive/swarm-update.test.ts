// Swarm's own rolling update, and what nginx makes of replaced tasks: a suite of the Swarm target
// only (BANYAN_TARGET=swarm; vitest.config.ts leaves it out of Compose mode, whose UP-1 is the
// guide's Compose command, in own-project.test.ts).
//
// UP-1: `docker service update` to a new version of the gateway's image (helpers/updates.ts),
// carried out as the service's own update_config says (the deployment's choice: the reference
// stack's is start-first, one task at a time), under a steady load through nginx, every request
// counted. The new version stays the service's image until the stack goes (a task Swarm starts
// again needs it).
//
// LB-2 once Swarm has replaced every gateway task: each new task has an address nginx did not have
// when it started, so an nginx that resolved its upstream once sends to addresses that are gone.
// As the stack came up the spread is a race (which replicas had an address when nginx started), so
// on Swarm this is LB-2's only check (suites/balancing.test.ts takes it in Compose mode).
import { beforeEach, describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { spreadsOverEveryReplica } from '../../helpers/balancing.ts'
import { docker } from '../../helpers/docker.ts'
import { it } from '../../helpers/stack-test.ts'
import { addressOf, containerOf, failIfDown, publishedAddress, replicasOf, stack } from '../../helpers/stack.ts'
import { burst, unanswered } from '../../helpers/traffic.ts'
import { newVersion, type Replica, runningReplicas, updateUnderLoad, zeroDowntime } from '../../helpers/updates.ts'

const GATEWAY = policy.nginx.upstreamService
const NGINX = policy.nginx.service
/** The longest a whole rolling update of the gateway may take here before it is a hang. */
const UPDATE_BUDGET_MS = 180_000

/** The gateway's tasks running now, as replicas. */
const gatewayReplicas = async (): Promise<Replica[]> => runningReplicas(await replicasOf(GATEWAY))

/** The gateway's Swarm service: the stack's name, then the service's. */
const gatewayService = (): string => `${stack().project}_${GATEWAY}`

/** A field of the gateway's Swarm service, by `docker service inspect --format`. */
async function gatewayField(format: string): Promise<string> {
  return (await docker(['service', 'inspect', '--format', format, gatewayService()])).stdout.trim()
}

/** Where Swarm's update of the gateway's service stands: "completed: update completed", "rollback_completed: ...". */
const updateStatus = (): Promise<string> => gatewayField('{{with .UpdateStatus}}{{.State}}: {{.Message}}{{end}}')

/**
 * Runs `docker service update` on the gateway's service, then waits until Swarm ends the update
 * (the CLI returns once the tasks converge, before Swarm's own monitor period is over); throws with
 * Swarm's words when it ends in any state but completed (paused, rolled back).
 */
async function updateGateway(args: readonly string[]): Promise<void> {
  const updated = await docker(['service', 'update', '--detach=false', '--quiet', ...args, gatewayService()], {
    timeoutMs: UPDATE_BUDGET_MS,
  })
  if (updated.exitCode !== 0)
    throw new Error(
      `docker service update ${args.join(' ')} failed: ${updated.stderr.trim()} (${await updateStatus()})`,
    )
  await expect
    .poll(async () => (await updateStatus()).replace(/:.*/, ''), {
      timeout: 60_000,
      interval: 500,
      message: `Swarm's update of the gateway (${args.join(' ')}) did not end within 60 s`,
    })
    .not.toMatch(/^(updating|rollback_started)$/)
  const status = await updateStatus()
  if (!status.startsWith('completed'))
    throw new Error(`docker service update ${args.join(' ')} did not complete: ${status || 'no update status'}`)
}

/**
 * Waits until the gateway runs just the tasks its update made: Swarm says an update is over once
 * the new tasks run, while the old ones may still be on their way out.
 */
async function untilOnly(wanted: number, current: (replica: Replica) => boolean): Promise<void> {
  await expect
    .poll(
      async () => {
        const running = await gatewayReplicas()
        return { running: running.length, current: running.filter(current).length }
      },
      { timeout: 60_000, interval: 500, message: `the gateway's old tasks were still running 60 s after its update` },
    )
    .toEqual({ running: wanted, current: wanted })
}

/** What the gateway's service declares for its updates, as Swarm holds it: "start-first, 1 at a time". */
async function updateConfig(): Promise<string> {
  const config = await gatewayField('{{with .Spec.UpdateConfig}}{{.Order}}, {{.Parallelism}} at a time{{end}}')
  return config || "Swarm's defaults (stop-first, 1 at a time)"
}

/** The gateway's tasks of `image` that Swarm found failed or rejected: a new version that crashed, replaced by another task. */
async function failedTasks(image: string): Promise<string[]> {
  const { stdout } = await docker([
    'service',
    'ps',
    gatewayService(),
    '--no-trunc',
    '--format',
    '{{.Name}}\t{{.Image}}\t{{.CurrentState}}\t{{.Error}}',
  ])
  return stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([, taskImage = '', state = '']) => taskImage === image && /^(Failed|Rejected)/.test(state))
    .map((fields) => fields.filter((field) => field !== '').join(' '))
}

describe("Swarm's rolling update", () => {
  beforeEach(failIfDown)

  it("[UP-1] Swarm's rolling update of the gateway (docker service update, as its update_config says) to a new version under load fails no request", async () => {
    const wanted = stack().containers[GATEWAY]?.length ?? 0
    const before = await gatewayReplicas()
    await using next = await newVersion(before[0]?.id ?? '', GATEWAY, `${stack().project}-swarm`, { keepImage: true })
    const nginx = containerOf(NGINX)
    const config = await updateConfig()
    const { message, verdict } = await updateUnderLoad({
      version: 'swarm',
      wanted,
      nginx,
      from: await addressOf(nginx, 'frontend'),
      replicas: gatewayReplicas,
      before,
      image: next.image,
      // The new tag is this machine's own: no registry to resolve it against.
      update: async () => {
        await updateGateway(['--no-resolve-image', '--image', next.image])
        await untilOnly(wanted, ({ image }) => image === next.image)
      },
    })
    // Swarm replaces a task that fails rather than restarting it: a new version that crashed is a
    // failed task of its image, whatever ran in its place.
    expect(await failedTasks(next.image), 'tasks of the new version that failed').toEqual([])
    expect(verdict, `Swarm's rolling update (${config}) under load: ${message}`).toEqual(zeroDowntime(wanted))
  })

  it('[LB-2] once Swarm has replaced every gateway task, requests reach every new one, spread evenly', async () => {
    const wanted = stack().containers[GATEWAY]?.length ?? 0
    const before = await replicasOf(GATEWAY)
    await updateGateway(['--force'])
    await untilOnly(wanted, ({ id }) => !before.some((old) => id.startsWith(old)))
    const health = `http://${await publishedAddress(NGINX, 80)}/health`
    // nginx may take a moment to follow (a re-resolve, a reload): until it answers again, within a
    // bound. An nginx that resolved its upstream once answers 502 for as long as one asks.
    await expect
      .poll(async () => unanswered(await burst(health, 10, 1)).length, {
        timeout: 30_000,
        interval: 500,
        message: "nginx did not answer ten requests in a row within 30 s once Swarm had replaced the gateway's tasks",
      })
      .toBe(0)
    await spreadsOverEveryReplica(health, 'replaced')
  })
})
