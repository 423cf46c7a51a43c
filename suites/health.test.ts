// Health checks judged by what they do, not by what they say: each service's own health-check
// command, run in a copy of its container that is alive but cannot serve, must fail. A check that
// passes there would keep a broken service "healthy".
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers'
import { beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { docker, runHelper } from '../helpers/docker.ts'
import { recordFigures } from '../helpers/figures.ts'
import { testLabels } from '../helpers/labels.ts'
import { runFromEnv } from '../helpers/run.ts'
import { credential, failIfDown, healthCommand, stack, stateOf } from '../helpers/stack.ts'

interface Service {
  image: string
  env: Record<string, string>
  entrypoint: string[] | null
  command: string[]
  user: string
  workingDir: string
  /** The bind mounts it runs with (configuration, certificates), never its data volumes. */
  binds: { source: string; target: string }[]
  test: string[]
}

/** What a service's running container was started with, and the health check it carries. */
async function serviceOf(container: string): Promise<Service> {
  const { stdout } = await docker(['inspect', '--format', '{{json .Config}}\n{{json .Mounts}}', container])
  const [configJson = '{}', mountsJson = '[]'] = stdout.trim().split('\n')
  const config = JSON.parse(configJson) as {
    Image: string
    Env: string[]
    Entrypoint: string[] | null
    Cmd: string[] | null
    User: string
    WorkingDir: string
    Healthcheck?: { Test?: string[] }
  }
  const mounts = JSON.parse(mountsJson) as { Type: string; Source: string; Destination: string }[]
  const env = Object.fromEntries(
    config.Env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  )
  return {
    image: config.Image,
    env,
    entrypoint: config.Entrypoint,
    command: config.Cmd ?? [],
    user: config.User,
    workingDir: config.WorkingDir,
    binds: mounts
      .filter(({ Type }) => Type === 'bind')
      .map(({ Source, Destination }) => ({ source: Source, target: Destination })),
    test: config.Healthcheck?.Test ?? [],
  }
}

// An address where nothing answers (TEST-NET-1, RFC 5737): each other service's name resolves in
// a copy, so it starts as it would in the stack, and every connection to them fails.
const NOWHERE = '192.0.2.1'

/** The TCP ports a container listens on, read by a helper in its network namespace (any image). */
async function listeningPorts(container: string): Promise<string[]> {
  const { exitCode, stdout, stderr } = await runHelper(credential('TOOLS_IMAGE'), ['ss', '-Hltn'], {
    network: `container:${container}`,
  })
  if (exitCode !== 0) throw new Error(`ss in ${container}'s namespace exited ${exitCode}: ${stderr.trim()}`)
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(/\s+/)[3] ?? '')
}

/**
 * A copy of the service's container, alive but not serving (see policy.notServing). A service
 * with no recipe runs as it does in the stack (its command, user, folder and bind mounts) with no
 * network: its process is up and listening, and none of what it serves from can be reached. A
 * check that only asks whether the port is open, or takes a 503 for an answer, passes there.
 */
async function notServing(name: string, service: Service): Promise<StartedTestContainer> {
  const recipe = policy.notServing[name]
  let copy = new GenericContainer(service.image)
    .withEnvironment(service.env)
    .withNetworkMode('none')
    .withLabels(testLabels())
  if (recipe === 'not running') return copy.withEntrypoint(['sleep']).withCommand(['infinity']).start()
  if (recipe === undefined) {
    if (service.entrypoint !== null) copy = copy.withEntrypoint(service.entrypoint)
    if (service.user !== '') copy = copy.withUser(service.user)
    if (service.workingDir !== '') copy = copy.withWorkingDir(service.workingDir)
    const started = await copy
      .withCommand(service.command)
      .withBindMounts(service.binds.map((bind) => ({ ...bind, mode: 'ro' as const })))
      .withExtraHosts(
        stack()
          .services.filter((other) => other !== name)
          .map((host) => ({ host, ipAddress: NOWHERE })),
      )
      .start()
    await expect
      .poll(
        async () => ((await stateOf(started.getId())) === 'running' ? listeningPorts(started.getId()) : ['exited']),
        {
          timeout: 60_000,
          interval: 250,
          message: `the copy of ${name} never listened on a port, or stopped: it cannot judge the check`,
        },
      )
      .toEqual(expect.arrayContaining([expect.stringMatching(/:\d+$/)]))
    return started
  }
  const started = await copy
    .withCommand([...service.command, ...(recipe.args ?? [])])
    .withWaitStrategy(Wait.forLogMessage(recipe.ready, recipe.times ?? 1))
    .start()
  if (recipe.then === undefined) return started
  const stopped = await started.exec([...recipe.then])
  if (stopped.exitCode !== 0) throw new Error(`could not stop ${name} from serving: ${stopped.output}`)
  return started
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
    recordFigures(
      'HC-1',
      Object.fromEntries(
        verdicts.flatMap(({ name, slowest, budget }): [string, number][] => [
          [`${name}HealthyMs`, slowest],
          ...(budget === null ? [] : [[`${name}BudgetMs`, budget] as [string, number]]),
        ]),
      ),
    )
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
    const wrong = verdicts.filter(([, verdict]) => verdict !== 'fails')
    // What failed is the message itself: vitest would shorten it inside the diff.
    expect(Object.fromEntries(verdicts), wrong.map(([name, verdict]) => `${name}: ${verdict}`).join('; ')).toEqual(
      Object.fromEntries(checked.map((name) => [name, 'fails'])),
    )
  })
})
