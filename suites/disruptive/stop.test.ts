// `docker compose stop <service>` (LC-3), for every long-running service of the shared stack:
// that service's containers stop, every other container keeps running as it was (not stopped,
// not restarted), and the services that do not depend on it stay healthy by their own health
// checks, run now as Docker runs them. Those that depend on it (by the compose file's
// depends_on, followed through) may report it: that is HC-3's promise. Each test starts the
// service again and waits for the whole stack, pass or fail.
import { describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { projectResources } from '../../helpers/compose.ts'
import { docker } from '../../helpers/docker.ts'
import { it } from '../../helpers/stack-test.ts'
import { compose, failIfDown, healthyNow, reloadNginx, stack, stateOf, wholeAgain } from '../../helpers/stack.ts'

/**
 * The services that declare they depend on `service` (the compose file's depends_on), which may
 * report it gone (HC-3). Only those: a service that needs it through another (nginx through the
 * gateway, when a store stops) is still held to its own health.
 */
function dependentsOf(service: string, model: { services: Record<string, { depends_on?: object }> }): Set<string> {
  return new Set(
    Object.entries(model.services)
      .filter(([, { depends_on }]) => Object.keys(depends_on ?? {}).includes(service))
      .map(([name]) => name),
  )
}

/**
 * How long the rest must hold after the stop, looked at again and again: a service that gives up
 * a few seconds after losing its neighbour, or whose restart policy brings it back, shows within it.
 */
const HOLD_MS = 5_000
/** Each container's status and when its process last started, in one inspection of them all. */
async function runsOf(containers: readonly string[]): Promise<Map<string, { status: string; startedAt: string }>> {
  const { exitCode, stdout, stderr } = await docker([
    'inspect',
    '--format',
    '{{.Id}} {{.State.Status}} {{.State.StartedAt}}',
    ...containers,
  ])
  if (exitCode !== 0) throw new Error(`docker inspect of the other containers failed: ${stderr.trim()}`)
  const runs = new Map<string, { status: string; startedAt: string }>()
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [id = '', status = '', startedAt = ''] = line.split(' ')
    const container = containers.find((given) => id.startsWith(given))
    if (container !== undefined) runs.set(container, { status, startedAt })
  }
  return runs
}

const longRunning = stack().services.filter((name) => !policy.oneShot.includes(name))

describe('stopping one service', { timeout: 240_000 }, () => {
  it.for(longRunning)(
    '[LC-3] docker compose stop %s stops that service only; the rest keep running, and those that do not need it stay healthy',
    async (service, { afterwards }) => {
      failIfDown()
      // Gateways that come back may have new addresses; nginx resolves them again.
      afterwards(() => compose(['start', service]), wholeAgain, reloadNginx)
      const model = JSON.parse(await compose(['config', '--format', 'json'])) as {
        services: Record<string, { depends_on?: object }>
      }
      const dependents = dependentsOf(service, model)
      const containers = (await projectResources(stack().project, 'containers')).filter(
        ([, name]) => !policy.oneShot.includes(name),
      )
      const others = containers.filter(([, name]) => name !== service)
      const before = await runsOf(others.map(([id]) => id))

      await compose(['stop', service])

      const stopped = await Promise.all(
        containers.filter(([, name]) => name === service).map(async ([id]) => await stateOf(id)),
      )
      // What the rest did, looked at again and again for HOLD_MS: each container that stopped or
      // was restarted (one inspection of them all a look), and each service that does not depend
      // on the stopped one whose own check failed, at any look.
      const moved = new Set<string>()
      const unhealthy = new Set<string>()
      const holdUntil = performance.now() + HOLD_MS
      // One look after another, each as long as its inspection and health checks take (about a
      // second for a whole stack here), until the window has passed.
      for (let look = 0; look === 0 || performance.now() < holdUntil; look++) {
        const now = await runsOf(others.map(([id]) => id))
        await Promise.all(
          others.map(async ([id, name]) => {
            const run = now.get(id)
            if (run?.startedAt !== before.get(id)?.startedAt) moved.add(`${name}: restarted`)
            else if (run?.status !== 'running') moved.add(`${name}: ${run?.status ?? 'gone'}`)
            else if (!dependents.has(name) && !(await healthyNow(id))) unhealthy.add(name)
          }),
        )
      }
      const found = {
        stopped: stopped.length > 0 && stopped.every((state) => state.startsWith('exited')),
        moved: [...moved],
        unhealthy: [...unhealthy],
      }
      expect(
        found,
        `stopping ${service}: stopped ${String(found.stopped)}, moved [${found.moved.join(', ')}], unhealthy [${found.unhealthy.join(', ')}] (excused: ${[...dependents].join(', ') || 'none'})`,
      ).toEqual({ stopped: true, moved: [], unhealthy: [] })
    },
  )
})
