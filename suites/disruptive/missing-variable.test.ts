// CF-2 live: the guide's `docker compose up -d`, with one required variable missing, for each
// one a service of this run reads, on a project of the run's own (`<run>-unset`, the same files
// and override, so whatever it makes carries the run's labels). A stack that refuses is right
// two ways: Compose itself refuses (`${VAR:?}` in the compose file), or the service that reads it
// stops at start naming it; either way `up --wait` must fail, and say which variable. A stack
// that comes up healthy without it runs with a value nobody chose (a default, or nothing).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { composeFileArgs, projectResources } from '../../helpers/compose.ts'
import { docker, firstLine } from '../../helpers/docker.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { REQUIRED_VARIABLES, runFromEnv } from '../../helpers/run.ts'
import { it } from '../../helpers/stack-test.ts'
import { compose, containerState, failIfDown, stack, storageShared } from '../../helpers/stack.ts'

/** What became of a container started without a variable: stopped (exited, or restarted by its policy), up (healthy, or running with no check), or still starting. */
async function startOutcome(container: string): Promise<'stopped' | 'up' | 'starting'> {
  const { status, health, restarts } = await containerState(container)
  if (status === 'exited' || status === 'dead' || status === 'restarting' || restarts > 0) return 'stopped'
  if (status === 'running' && (health === 'healthy' || health === '')) return 'up'
  return 'starting'
}

describe('a required variable missing at start', { timeout: 900_000 }, () => {
  const project = `${stack().project}-unset`
  const down = () => compose(['down', '-v', '--timeout', '5'], 120_000, project)

  /** Which services of this run read a variable: those whose resolved configuration holds this run's value of it. */
  async function readers(name: string): Promise<string[]> {
    const value = runFromEnv().composeEnv[name] ?? ''
    const model = JSON.parse(await compose(['config', '--format', 'json'])) as { services: Record<string, unknown> }
    return value === ''
      ? []
      : Object.entries(model.services)
          .filter(([, service]) => JSON.stringify(service).includes(value))
          .map(([service]) => service)
  }

  /**
   * The guide's start with `name` missing: from the environment, and from the project's `.env`
   * where it has one (Compose reads it, and it would fill the gap), everything else as the run has
   * it. What happened, in a phrase that starts with "refused" when the stack refused and said why.
   */
  async function startWithout(name: string, services: readonly string[]): Promise<string> {
    const run = runFromEnv()
    const env = Object.fromEntries(
      Object.entries({ ...process.env, ...run.composeEnv }).filter(([variable]) => variable !== name),
    )
    const dotEnv = join(run.projectDirectory, '.env')
    const envFile = join(run.runDir, `without-${name}.env`)
    writeFileSync(
      envFile,
      existsSync(dotEnv)
        ? readFileSync(dotEnv, 'utf8')
            .split('\n')
            .filter((line) => !new RegExp(`^\\s*(export\\s+)?${name}\\s*=`).test(line))
            .join('\n')
        : '',
    )
    const composeArgs = ['compose', ...composeFileArgs(run), '--env-file', envFile, '-p', project]
    // No --wait: a service that stops at start as it should goes round its restart policy, and
    // never turns healthy for Compose to stop waiting on.
    const up = await docker([...composeArgs, 'up', '-d'], { env, timeoutMs: run.startupBudgetMs })
    const made = await projectResources(project, 'containers')
    if (new RegExp(`required variable ${name} is missing a value`).test(up.stderr) && made.length === 0)
      return `refused by Compose: ${firstLine(up.stderr.slice(up.stderr.indexOf('required variable')))}`
    // Compose started it (a warning that it is blank is no refusal): every service that reads it
    // must stop at start, exited or restarting, and one of them must say why.
    const readersOf = () =>
      projectResources(project, 'containers').then((all) => all.filter(([, service]) => services.includes(service)))
    let outcome: Record<string, string> = {}
    await expect
      .poll(
        async () => {
          outcome = {}
          for (const [id, service] of await readersOf())
            outcome[`${service} ${id.slice(0, 12)}`] = await startOutcome(id)
          return Object.keys(outcome).length > 0 && Object.values(outcome).every((state) => state !== 'starting')
        },
        { timeout: run.startupBudgetMs, interval: 500, message: `the services that read ${name} never settled` },
      )
      .toBe(true)
      // Unsettled is an outcome too: said below, with the states.
      .catch(() => undefined)
    const states = Object.entries(outcome).map(([container, state]) => `${container} ${state}`)
    const counted = (what: string) => Object.values(outcome).filter((state) => state === what).length
    if (Object.keys(outcome).length === 0) return `failed without starting what reads it: ${firstLine(up.stderr)}`
    if (counted('up') > 0) return `started, and ${states.join(', ')} without it`
    if (counted('starting') > 0) return `neither stopped nor up after ${run.startupBudgetMs} ms: ${states.join(', ')}`
    const logs = await docker([...composeArgs, 'logs', '--no-color', ...services], { env, timeoutMs: 60_000 })
    if (!logs.stdout.includes(name) && !logs.stderr.includes(name))
      return `stopped without naming it: ${states.join(', ')}`
    return `refused at start: ${states.join(', ')}, naming it in the log`
  }

  it('[CF-2] with a required variable missing, the stack refuses to start and names it, for each one its services read', async ({
    afterwards,
  }) => {
    failIfDown()
    afterwards(down)
    const shared = await storageShared(project, Object.keys(policy.stateful))
    if (shared.length > 0)
      throw new Error(`a second project would share the running stack's storage: ${shared.join(', ')}`)
    const outcomes: Record<string, string> = {}
    for (const name of REQUIRED_VARIABLES) {
      const services = await readers(name)
      if (services.length === 0) continue
      outcomes[name] = await startWithout(name, services)
      // What did not refuse is left as it is for the evidence; the afterwards step takes it down.
      if (!outcomes[name].startsWith('refused')) break
      await down()
    }
    recordFigures('CF-2', {
      variablesTried: Object.keys(outcomes).length,
      refused: Object.values(outcomes).filter((outcome) => outcome.startsWith('refused')).length,
    })
    expect(Object.keys(outcomes), 'no required variable is read by a service this run starts').not.toEqual([])
    const wrong = Object.entries(outcomes).filter(([, outcome]) => !outcome.startsWith('refused'))
    expect(
      Object.fromEntries(wrong),
      `the stack did not refuse to start without ${wrong.map(([name]) => name).join(', ')}: ${wrong.map(([name, outcome]) => `${name} ${outcome}`).join('; ')}`,
    ).toEqual({})
  })
})
