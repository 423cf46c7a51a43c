// Global setup of the `stack` project: brings the run's stack up once, under the run's project
// name, waiting on the compose health checks, and provides plain data to the suites. It lives in
// this project only (not at the root), so other projects never start a stack.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment } from 'testcontainers'
import type { TestProject } from 'vitest/node'
import { composeFailureCause, projectResources } from './compose.ts'
import { docker } from './docker.ts'
import { STARTUP_EVIDENCE } from './evidence.ts'
import { machineCpu } from './machine.ts'
import { mask } from './mask.ts'
import { watchHealth, type HealthyTimes } from './health-events.ts'
import { LOG_SCAN, watchLogs } from './log-watch.ts'
import { namedSecretsOf, runFromEnv, secretsOf, type HealthTiming } from './run.ts'
import { currentContainers, deployStack, removeStack, untilStackUp } from './swarm-target.ts'
import { elapsedMs } from './units.ts'
import { ExplainedWait } from './wait.ts'

export interface StackInfo {
  readonly project: string
  /** The services the stack declares. */
  readonly services: readonly string[]
  /** Container ids of each running service, by service name. */
  readonly containers: Readonly<Record<string, readonly string[]>>
  readonly startupMs: number
  /** Milliseconds from each container's start to its first healthy, by service (HC-1). */
  readonly healthyMs: HealthyTimes
  /** Why the times above are not the whole start-up (the event stream ended early), or null. */
  readonly healthyMsError: string | null
  readonly health: HealthTiming
  /** Why the stack did not come up, or null. The LC-1 test reports it; the others skip. */
  readonly failure: string | null
  /** Where it runs: a Compose project, or a Swarm stack (helpers/swarm-target.ts). */
  readonly target: 'compose' | 'swarm'
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo
  }
}

async function containersOf(project: string, target: StackInfo['target']): Promise<Record<string, string[]>> {
  // Stopped ones too: a one-shot service (migrations) has exited by now, and is part of the stack
  // all the same. On Swarm, a failed task's container is history beside the one that replaced it.
  const containers: Record<string, string[]> = {}
  const found = target === 'swarm' ? await currentContainers(project) : await projectResources(project, 'containers')
  for (const [id, service] of found) (containers[service] ??= []).push(id)
  return containers
}

/** The project's containers Docker calls healthy now, by full id (as its events name them). */
async function healthyContainers(project: string): Promise<string[]> {
  const { stdout } = await docker([
    'ps',
    '--no-trunc',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    'health=healthy',
    '--format',
    '{{.ID}}',
  ])
  return stdout.split('\n').filter(Boolean)
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const run = runFromEnv()
  const start = performance.now()
  const cpuBefore = machineCpu().busy
  // One line, so a log shows the stack was brought up once per run, not once per project.
  console.log(`stack: bringing up ${run.runId} (budget ${Math.round(run.startupBudgetMs / 1000)} s)`)
  let environment: StartedDockerComposeEnvironment | null = null
  let failure: string | null = null
  const health = watchHealth(run.runId)
  // CF-1 judges every container the run starts, the ones scaling and the drill add and remove too.
  const logs = watchLogs(run.runId, namedSecretsOf(run.composeEnv), join(run.runDir, LOG_SCAN))
  let deployed = false
  try {
    if (run.target === 'swarm') {
      deployed = true
      await untilStackUp(run.runId, await deployStack(run, secretsOf(run.composeEnv)), run.startupBudgetMs)
    } else {
      environment = await new DockerComposeEnvironment(run.projectDirectory, [...run.composeFiles])
        .withProjectName(run.runId)
        .withEnvironment({ ...run.composeEnv })
        .withDefaultWaitStrategy(new ExplainedWait(join(run.runDir, 'evidence'), secretsOf(run.composeEnv)))
        .withStartupTimeout(run.startupBudgetMs)
        .up()
    }
  } catch (error) {
    failure = composeFailureCause(error instanceof Error ? error.message : String(error))
    // testcontainers has already taken down what Compose started (a Swarm stack is still up, and
    // its tasks restarting): what the log watcher read of each container is the evidence there is.
    const dir = join(run.runDir, 'evidence', STARTUP_EVIDENCE)
    mkdirSync(dir, { recursive: true })
    for (const { container, service, text } of logs.tails())
      writeFileSync(join(dir, `${service}-${container.slice(0, 12)}.log.txt`), mask(text, secretsOf(run.composeEnv)))
  }
  const startupMs = elapsedMs(start)
  let healthyMsError: string | null = null
  const healthyMs = await health.stop(await healthyContainers(run.runId)).catch((error: unknown) => {
    healthyMsError = error instanceof Error ? error.message : String(error)
    return {}
  })
  console.log(`stack: ${run.runId} ${failure === null ? 'healthy' : 'failed'} after ${(startupMs / 1000).toFixed(1)} s`)
  // The time to healthy goes into the run's summary; the test workers get it through provide.
  // What bringing the stack up cost the whole machine, beside each file's cost (helpers/costs-reporter.ts).
  const startupCpuSeconds = Math.round((machineCpu().busy - cpuBefore) * 10) / 10
  writeFileSync(join(run.runDir, 'startup.json'), JSON.stringify({ startupMs, startupCpuSeconds, failure }))
  project.provide('stack', {
    project: run.runId,
    services: run.services,
    containers: await containersOf(run.runId, run.target),
    startupMs,
    healthyMs,
    healthyMsError,
    health: run.health,
    failure,
    target: run.target,
  })
  return async () => {
    try {
      // Down first, so what the services log as they stop is read too (the CLI judges it after the run).
      if (environment !== null && !run.keep) await environment.down({ removeVolumes: true, timeout: 10_000 })
      if (deployed && !run.keep) await removeStack(run.runId)
    } catch (error) {
      // vitest prints a teardown error after its reporters have finished, where the gate cannot
      // see it: it is written down for the CLI, which fails the run on it.
      writeFileSync(join(run.runDir, 'teardown-error.txt'), error instanceof Error ? error.message : String(error))
      throw error
    } finally {
      await logs.stop()
    }
  }
}
