// Health checks judged by what they do, not by what they say: each service's own health-check
// command, run in a copy of its container that is alive but cannot serve, must fail. A check that
// passes there would keep a broken service "healthy".
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers'
import { beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { docker } from '../helpers/docker.ts'
import { recordFigures } from '../helpers/figures.ts'
import { testLabels } from '../helpers/labels.ts'
import { runFromEnv } from '../helpers/run.ts'
import { failIfDown, stack } from '../helpers/stack.ts'

interface Service {
  image: string
  env: Record<string, string>
  command: string[]
  test: string[]
}

/** What a service's running container was started with, and the health check it carries. */
async function serviceOf(container: string): Promise<Service> {
  const { stdout } = await docker(['inspect', '--format', '{{json .Config}}', container])
  const config = JSON.parse(stdout) as {
    Image: string
    Env: string[]
    Cmd: string[] | null
    Healthcheck?: { Test?: string[] }
  }
  const env = Object.fromEntries(
    config.Env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  )
  return { image: config.Image, env, command: config.Cmd ?? [], test: config.Healthcheck?.Test ?? [] }
}

/** A copy of the service's container, with no network, alive but not serving (see policy.notServing). */
async function notServing(name: string, service: Service): Promise<StartedTestContainer> {
  const recipe = policy.notServing[name]
  const copy = new GenericContainer(service.image)
    .withEnvironment(service.env)
    .withNetworkMode('none')
    .withLabels(testLabels())
  if (recipe === undefined) return copy.withEntrypoint(['sleep']).withCommand(['infinity']).start()
  const started = await copy
    .withCommand([...service.command, ...(recipe.args ?? [])])
    .withWaitStrategy(Wait.forLogMessage(recipe.ready, recipe.times ?? 1))
    .start()
  if (recipe.then === undefined) return started
  const stopped = await started.exec([...recipe.then])
  if (stopped.exitCode !== 0) throw new Error(`could not stop ${name} from serving: ${stopped.output}`)
  return started
}

/** Runs a health check's test the way Docker does: CMD as given, CMD-SHELL through sh -c. */
function healthCommand(test: readonly string[]): string[] {
  const [kind = '', ...rest] = test
  return kind === 'CMD-SHELL' ? ['sh', '-c', rest.join(' ')] : rest
}

describe('health checks', () => {
  beforeEach(failIfDown)

  it('[HC-1] every service with a health check turns healthy at start-up within the budget its declared timings give', () => {
    expect(stack().healthyMsError, 'the start-up was not watched to its end').toBeNull()
    const verdicts = Object.keys(stack().containers)
      .filter((name) => !policy.oneShot.includes(name))
      .map((name) => ({
        name,
        budget: runFromEnv().healthBudgetsMs[name] ?? null,
        slowest: Math.max(...(stack().healthyMs[name] ?? [Infinity])),
      }))
    recordFigures('HC-1', Object.fromEntries(verdicts.map(({ name, slowest }) => [`${name}HealthyMs`, slowest])))
    const late = verdicts
      .filter(({ budget, slowest }) => budget === null || slowest > budget)
      .map(({ name, budget, slowest }) =>
        budget === null ? `${name}: no health check` : `${name}: healthy after ${slowest} ms, budget ${budget} ms`,
      )
    expect(late).toEqual([])
  })

  it('[HC-2] every health check fails where its service is alive but cannot serve', async () => {
    const checked = stack().services.filter((name) => !policy.oneShot.includes(name))
    const verdicts = await Promise.all(
      checked.map(async (name) => {
        const service = await serviceOf(stack().containers[name]?.[0] ?? '')
        if (service.test.length === 0 || service.test[0] === 'NONE') return [name, 'has no health check'] as const
        await using copy = await notServing(name, service)
        const { exitCode } = await copy.exec(healthCommand(service.test))
        // 126 and 127: the check could not even run in the copy, which says nothing about it.
        const verdict =
          exitCode === 0
            ? `passes while not serving: ${service.test.slice(1).join(' ')}`
            : exitCode === 126 || exitCode === 127
              ? `could not run in the copy (exit ${exitCode})`
              : 'fails'
        return [name, verdict] as const
      }),
    )
    expect(Object.fromEntries(verdicts)).toEqual(Object.fromEntries(checked.map((name) => [name, 'fails'])))
  })
})
