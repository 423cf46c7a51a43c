// `docker compose stop <service>` (LC-3), for every long-running service of the shared stack:
// that service's containers stop, every other container keeps running as it was (not stopped,
// not restarted), and the services that do not depend on it stay healthy by their own health
// checks, run now as Docker runs them. Those that depend on it (by the compose file's
// depends_on, followed through) may report it: that is HC-3's promise. Each test starts the
// service again and waits for the whole stack, pass or fail.
import { describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { projectResources } from '../../helpers/compose.ts'
import { it } from '../../helpers/stack-test.ts'
import {
  compose,
  failIfDown,
  healthyNow,
  processOf,
  reloadNginx,
  stack,
  stateOf,
  wholeAgain,
} from '../../helpers/stack.ts'

/** The services that depend on `service`, directly or through others, by the resolved compose model. */
function dependentsOf(service: string, model: { services: Record<string, { depends_on?: object }> }): Set<string> {
  const found = new Set<string>()
  const visit = (of: string): void => {
    for (const [name, { depends_on }] of Object.entries(model.services)) {
      if (!found.has(name) && Object.keys(depends_on ?? {}).includes(of)) {
        found.add(name)
        visit(name)
      }
    }
  }
  visit(service)
  return found
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
      const before = await Promise.all(others.map(async ([id]) => (await processOf(id)).startedAt))

      await compose(['stop', service])

      const stopped = await Promise.all(
        containers.filter(([, name]) => name === service).map(async ([id]) => await stateOf(id)),
      )
      const moved = (
        await Promise.all(
          others.map(async ([id, name], index) => {
            const state = await stateOf(id)
            const { startedAt } = await processOf(id)
            return state.startsWith('exited') || startedAt !== before[index] ? [`${name}: ${state}`] : []
          }),
        )
      ).flat()
      const unhealthy = (
        await Promise.all(
          others
            .filter(([, name]) => !dependents.has(name))
            .map(async ([id, name]) => ((await healthyNow(id)) ? [] : [name])),
        )
      ).flat()
      expect(
        { stopped: stopped.every((state) => state.startsWith('exited')) && stopped.length > 0, moved, unhealthy },
        `stopping ${service} (its dependents, excused from health: ${[...dependents].join(', ') || 'none'})`,
      ).toEqual({ stopped: true, moved: [], unhealthy: [] })
    },
  )
})
