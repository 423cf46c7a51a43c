// The Swarm target (BANYAN_TARGET=swarm): the run's stack deployed with `docker stack deploy` on
// a single-node swarm made for the run when the engine is in none (and left again), from the
// stack file helpers/swarm.ts derives from Compose's resolved model. The checks find the stack's
// containers, networks and volumes by the labels Compose would give them, which that file gives
// Swarm's too, so a check that applies runs unchanged on either target.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { policy } from '../fixtures/policy.ts'
import type { Unverifiable } from './claims.ts'
import { composeFileArgs, type ComposeModel } from './compose.ts'
import { docker, firstLine } from './docker.ts'
import { PreflightError } from './errors.ts'
import { OWNER_LABEL, ownerOf, RUN_LABEL, runLabels, testLabels } from './labels.ts'
import type { RunContext } from './run.ts'
import { mask } from './mask.ts'
import { COMPOSE_LABELS, fittedCpus, stackFileOf } from './swarm.ts'

/**
 * The suites whose checks apply to a Swarm stack as they stand: they look at the running
 * containers, networks and traffic, and drive nothing through Compose. The others' claims are
 * answered by NOT_ON_SWARM, each with its reason.
 */
export const SWARM_SUITES: readonly string[] = [
  'suites/lifecycle.test.ts',
  'suites/health.test.ts',
  'suites/isolation.test.ts',
  'suites/credentials.test.ts',
  'suites/limits.test.ts',
  'suites/balancing.test.ts',
  'suites/user-journey.test.ts',
  'suites/disruptive/slow-replica.test.ts',
  'suites/disruptive/limits-enforced.test.ts',
  'suites/disruptive/swarm-update.test.ts',
  'suites/last/secrets.test.ts',
]

const OWN_PROJECT =
  'its check starts a Compose project of its own beside the stack (docker compose up, run, down), which Compose judges, not Swarm: it is checked in Compose mode'

/**
 * The claims whose checks are in no suite of SWARM_SUITES, and why, decided before the run: the
 * guide's Compose commands have no Swarm counterpart, or the check drives Compose and its Swarm
 * counterpart is not written. A unit test holds this table to the suites' own test titles.
 */
export const NOT_ON_SWARM: readonly Unverifiable[] = [
  {
    claims: ['LC-3'],
    reason:
      'on Swarm, `docker compose stop <service>` has no counterpart: a service is scaled to 0 (docker service scale) and Swarm keeps no stopped container',
  },
  {
    claims: ['LC-4'],
    reason:
      'on Swarm, `docker compose down` and `down -v` have no counterpart: `docker stack rm` never removes volumes, and there is no `up` that finds them again but a new deploy',
  },
  { claims: ['LC-2', 'CF-2', 'CF-4', 'UP-2', 'UP-3', 'TS-1'], reason: `on Swarm, ${OWN_PROJECT}` },
  {
    claims: ['HC-3', 'HC-4'],
    reason:
      'on Swarm, a failed task is replaced by a new container rather than restarted in place, and these checks follow the one container (its RestartCount) through Docker start and stop: not written for Swarm yet',
  },
  {
    claims: ['LB-1', 'LB-5', 'UP-4'],
    reason:
      'on Swarm, replicas change with `docker service scale`, not the guide’s `docker compose up --scale`, which these checks drive: not written for Swarm yet',
  },
  {
    claims: ['MB-1', 'MB-3', 'BR-1', 'BR-2', 'BR-3', 'BR-4', 'OB-1', 'OB-5'],
    reason:
      'on Swarm, these checks stop, restart and run the stack’s services with docker compose (stop, start, run --rm, profiles): not written for Swarm yet',
  },
]

/** The engine's part in a swarm, as `docker info` says it: inactive, active, pending, ...; and whether it manages it. */
async function swarmState(): Promise<{ state: string; manager: boolean; said: string }> {
  const info = await docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'])
  const [state = '', manager = ''] = info.stdout.trim().split(' ')
  return { state, manager: manager === 'true', said: firstLine(info.stderr) }
}

/** Whether this run made the swarm it deploys to (then it leaves it), or found the engine in one. */
export interface Membership {
  readonly made: boolean
  /** Whether the swarm's bridge to the outside (docker_gwbridge) was there before: `swarm init` makes it, and `leave` keeps it. */
  readonly gatewayBridgeBefore: boolean
}

const GATEWAY_BRIDGE = 'docker_gwbridge'

/**
 * Puts the engine in a swarm for the run: a new single-node one when it is in none (advertised on
 * loopback: nothing joins it), or the one it is in when it manages it. A worker cannot deploy a
 * stack, and a swarm half joined or locked is not the run's to change: both stop the run.
 */
export async function enterSwarm(): Promise<Membership> {
  const { state, manager, said } = await swarmState()
  const gatewayBridgeBefore = (await docker(['network', 'inspect', GATEWAY_BRIDGE])).exitCode === 0
  if (state === 'active' && manager) return { made: false, gatewayBridgeBefore }
  if (state === 'active')
    throw new PreflightError('this engine is a swarm worker: a stack is deployed from a manager node', 3)
  if (state !== 'inactive')
    throw new PreflightError(`this engine's swarm is ${state || said}: the run leaves it alone`, 3)
  const init = await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1'], { timeoutMs: 60_000 })
  if (init.exitCode !== 0) throw new PreflightError(`docker swarm init failed: ${firstLine(init.stderr)}`, 3)
  const membership = { made: true, gatewayBridgeBefore }
  // The node says the run made it, and whose process the run is: a run killed before it could
  // leave (SIGKILL) leaves a swarm the next run's sweep leaves for it (helpers/sweep.ts).
  try {
    await labelNode({ ...runLabels(MADE_SWARM, ownerOf()), [GATEWAY_BRIDGE_LABEL]: String(gatewayBridgeBefore) })
  } catch (error) {
    await leaveSwarm(membership)
    throw new PreflightError(`the swarm made for the run could not be labelled as its own: ${String(error)}`, 3)
  }
  return membership
}

/** The run label of a swarm a run made: the process's (its owner label), not one run's, until a run keeps it. */
const MADE_SWARM = 'swarm'
/** Whether docker_gwbridge was there before the run made its swarm: on the node for a sweep that leaves it, and the mark of a swarm a run made. */
const GATEWAY_BRIDGE_LABEL = 'io.banyan-verify.gateway-bridge-before'

/** Adds labels to the engine's swarm node. */
async function labelNode(labels: Record<string, string>): Promise<void> {
  const node = (await docker(['info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim()
  const labelled = await docker([
    'node',
    'update',
    ...Object.entries(labels).flatMap(([key, value]) => ['--label-add', `${key}=${value}`]),
    node,
  ])
  if (labelled.exitCode !== 0) throw new Error(`docker node update ${node} failed: ${firstLine(labelled.stderr)}`)
}

/**
 * A kept stack (BANYAN_KEEP) keeps the swarm the run made: it becomes the kept run's, which the
 * sweep of orphans leaves alone (its owner is no process) and `pnpm sweep --run <id>` leaves.
 */
export async function keepSwarm(runId: string): Promise<void> {
  await labelNode(runLabels(runId, `kept:${runId}`))
}

/**
 * The swarm a run made, if the engine manages one: its labels (run, owner) and what leaving it
 * takes; null when the engine is in no swarm, in one no run made, or in one it cannot ask.
 */
export async function madeSwarm(): Promise<{ run: string; owner: string; membership: Membership } | null> {
  const { state, manager } = await swarmState()
  if (state !== 'active' || !manager) return null
  const format = `{{index .Spec.Labels "${RUN_LABEL}"}}\t{{index .Spec.Labels "${OWNER_LABEL}"}}\t{{index .Spec.Labels "${GATEWAY_BRIDGE_LABEL}"}}`
  // A manager that cannot answer (no quorum) is no swarm of a run's to leave.
  const { exitCode, stdout } = await docker(['node', 'inspect', '--format', format, 'self'])
  if (exitCode !== 0) return null
  const [run = '', owner = '', bridge = ''] = stdout.replace(/\n$/, '').split('\t')
  if (bridge === '') return null
  return { run, owner, membership: { made: true, gatewayBridgeBefore: bridge === 'true' } }
}

/** Leaves a swarm the run made, so the engine is as it was found; one it found is left as it is. */
export async function leaveSwarm({ made, gatewayBridgeBefore }: Membership): Promise<void> {
  if (!made) return
  const left = await docker(['swarm', 'leave', '--force'], { timeoutMs: 60_000 })
  if (left.exitCode !== 0) throw new Error(`docker swarm leave failed: ${left.stderr.trim()}`)
  if (gatewayBridgeBefore) return
  // The swarm's last endpoints on the bridge go a moment after `leave` returns.
  const deadline = Date.now() + 30_000
  for (;;) {
    const removed = await docker(['network', 'rm', GATEWAY_BRIDGE])
    if (removed.exitCode === 0 || /not found/.test(removed.stderr)) return
    if (Date.now() > deadline)
      throw new Error(`${GATEWAY_BRIDGE}, which docker swarm init made, could not be removed: ${removed.stderr.trim()}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** Where a Swarm run keeps the scale its CPU reservations were fitted to the node by (RL-2 holds the tasks to it). */
const FIT_FILE = 'stack-fit.json'

/** The scale a Swarm run's CPU reservations were fitted to the node by (helpers/swarm.ts's stackFileOf). */
export function cpuScaleOf(runDir: string): number {
  return (JSON.parse(readFileSync(join(runDir, FIT_FILE), 'utf8')) as { cpuScale: number }).cpuScale
}

/** The run's model as Compose resolves it with the run's override (its labels and health timing). */
async function runModel(run: RunContext): Promise<ComposeModel> {
  const { exitCode, stdout, stderr } = await docker(
    ['compose', ...composeFileArgs(run), '-p', run.runId, 'config', '--format', 'json'],
    { env: { ...process.env, ...run.composeEnv }, timeoutMs: 60_000 },
  )
  if (exitCode !== 0) throw new Error(`docker compose config failed: ${stderr.trim()}`)
  return JSON.parse(stdout) as ComposeModel
}

/**
 * Deploys the run's stack: its stack file (credentials masked) and the list of what was changed from Compose's model
 * are written to the run's folder first (the report links them). Local images only: there is no
 * registry to resolve a digest from.
 */
export async function deployStack(run: RunContext, secrets: readonly string[]): Promise<ComposeModel> {
  const model = await runModel(run)
  const cpus = await docker(['info', '--format', '{{.NCPU}}'])
  const { stack, cpuScale, changes } = stackFileOf(model, {
    project: run.runId,
    nodeCpus: Number(cpus.stdout.trim()) || 1,
  })
  // The file deployed holds the run's credentials, as Compose resolved them: it is written where
  // only this process reads it, and gone once deployed; the report keeps a masked copy.
  const text = JSON.stringify(stack, null, 2)
  writeFileSync(join(run.runDir, 'stack.json'), mask(text, secrets))
  const privateDir = mkdtempSync(join(tmpdir(), 'banyan-stack-'))
  const file = join(privateDir, 'stack.json')
  writeFileSync(file, text, { mode: 0o600 })
  writeFileSync(join(run.runDir, FIT_FILE), JSON.stringify({ cpuScale }))
  writeFileSync(join(run.runDir, 'stack-changes.txt'), `${changes.join('\n')}\n`)
  const deployed = await docker(['stack', 'deploy', '--resolve-image', 'never', '-c', file, run.runId], {
    env: { ...process.env, ...run.composeEnv },
    timeoutMs: 120_000,
  }).finally(() => rmSync(privateDir, { recursive: true, force: true }))
  if (deployed.exitCode !== 0) throw new Error(`docker stack deploy failed: ${deployed.stderr.trim()}`)
  return model
}

/** The stack's containers now, with their service and state ("running healthy", "exited 0", ...). */
async function stackContainers(project: string): Promise<{ id: string; service: string; state: string }[]> {
  const { stdout } = await docker([
    'ps',
    '-a',
    '--no-trunc',
    '--filter',
    `label=${COMPOSE_LABELS.project}=${project}`,
    '--format',
    `{{.ID}}\t{{.Label "${COMPOSE_LABELS.service}"}}\t{{.State}}\t{{.Status}}`,
  ])
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', service = '', state = '', status = ''] = line.split('\t')
      const health = /\((healthy|unhealthy|health: starting)\)/.exec(status)?.[1]
      const exited = /^Exited \((\d+)\)/.exec(status)?.[1]
      return {
        id,
        service,
        state: state === 'exited' ? `exited ${exited ?? '?'}` : health === undefined ? state : `${state} ${health}`,
      }
    })
}

/**
 * The containers that are the stack now: each running one, and each one-shot job's that finished
 * with exit 0. A failed task's container stays in Swarm's task history beside the task that
 * replaced it; it is history, not part of the stack.
 */
export async function currentContainers(project: string): Promise<[string, string][]> {
  return (await stackContainers(project))
    .filter(
      ({ service, state }) => state.startsWith('running') || (policy.oneShot.includes(service) && state === 'exited 0'),
    )
    .map(({ id, service }) => [id, service])
}

/** Why the stack's tasks that do not run are not running, as Swarm says (pending: insufficient resources, ...). */
async function taskErrors(project: string): Promise<string[]> {
  const { stdout } = await docker([
    'stack',
    'ps',
    project,
    '--no-trunc',
    '--filter',
    'desired-state=running',
    '--format',
    '{{.Name}}\t{{.CurrentState}}\t{{.Error}}',
  ])
  return stdout
    .split('\n')
    .filter((line) => line !== '' && !line.split('\t')[1]?.startsWith('Running'))
    .map((line) => line.split('\t').filter(Boolean).join(': '))
}

/**
 * Waits until every service of the model runs its replicas healthy (a one-shot job: done with
 * exit 0), polling each second; fails with what is missing and why Swarm says so when the
 * budget runs out. Swarm waits for no depends_on: services come up in any order, restarting
 * until what they need is there.
 */
export async function untilStackUp(project: string, model: ComposeModel, budgetMs: number): Promise<void> {
  const wanted = Object.entries(model.services).map(([name, service]) => ({
    name,
    replicas: service.deploy?.replicas ?? 1,
    // With no check of the compose file's, the image's own may still report: healthy is running too.
    done: policy.oneShot.includes(name)
      ? ['exited 0']
      : service.healthcheck === undefined
        ? ['running', 'running healthy']
        : ['running healthy'],
  }))
  const deadline = Date.now() + budgetMs
  for (;;) {
    const containers = await stackContainers(project)
    const missing = wanted.flatMap(({ name, replicas, done }) => {
      const ready = containers.filter(({ service, state }) => service === name && done.includes(state)).length
      return ready >= replicas ? [] : [`${name}: ${ready} of ${replicas} ${done.at(-1) ?? ''}`]
    })
    if (missing.length === 0) return
    if (Date.now() > deadline) {
      const errors = await taskErrors(project)
      throw new Error(
        `the stack did not come up on swarm within ${Math.round(budgetMs / 1000)} s: ${missing.join('; ')}${errors.length === 0 ? '' : `; tasks not running: ${errors.join('; ')}`}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/**
 * Removes the stack and waits until its containers and networks are gone (`docker stack rm`
 * returns before they are), then its volumes, which Swarm never removes: as `down -v` leaves a
 * Compose project.
 */
export async function removeStack(project: string): Promise<void> {
  const removed = await docker(['stack', 'rm', project], { timeoutMs: 120_000 })
  if (removed.exitCode !== 0) throw new Error(`docker stack rm ${project} failed: ${removed.stderr.trim()}`)
  const label = `label=${COMPOSE_LABELS.project}=${project}`
  const deadline = Date.now() + 120_000
  for (;;) {
    const left = await Promise.all([
      docker(['ps', '-aq', '--filter', label]),
      docker(['network', 'ls', '-q', '--filter', label]),
    ])
    if (left.every(({ stdout }) => stdout.trim() === '')) break
    if (Date.now() > deadline)
      throw new Error(`stack ${project}'s containers or networks were still there 120 s after docker stack rm`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  const volumes = (await docker(['volume', 'ls', '-q', '--filter', label])).stdout.split('\n').filter(Boolean)
  if (volumes.length === 0) return
  const gone = await docker(['volume', 'rm', ...volumes])
  if (gone.exitCode !== 0) throw new Error(`stack ${project}'s volumes could not be removed: ${gone.stderr.trim()}`)
}

/** A Swarm object's field, by `docker inspect --type <type>`: throws with Docker's words when it cannot. */
async function inspected(type: 'service' | 'task', id: string, format: string): Promise<string> {
  const { exitCode, stdout, stderr } = await docker(['inspect', '--type', type, '--format', format, id])
  if (exitCode !== 0) throw new Error(`docker inspect ${type} ${id} failed: ${stderr.trim()}`)
  return stdout.trim()
}

/** What Swarm reserves for the task a container runs (its spec's Reservations), in nano-CPUs and bytes. */
export async function taskReservations(container: string): Promise<{ nanoCpus: number; memory: number }> {
  const task = (
    await docker(['inspect', '--format', '{{index .Config.Labels "com.docker.swarm.task.id"}}', container])
  ).stdout.trim()
  if (task === '') throw new Error(`container ${container} runs no Swarm task`)
  const [nanoCpus = '', memory = ''] = (
    await inspected('task', task, '{{with .Spec.Resources.Reservations}}{{.NanoCPUs}} {{.MemoryBytes}}{{end}}')
  ).split(' ')
  return { nanoCpus: Number(nanoCpus), memory: Number(memory) }
}

/**
 * RL-2 on Swarm: the CPU reservation the guide's table gives each service (per replica, scaled as
 * the stack file fitted it to the node), what each of its running tasks carries, and what of the
 * node's CPUs the stack's running tasks leave unreserved. Held to the guide, not to the service's
 * own spec, which Swarm copies into every task whatever the stack file made of it.
 */
export async function reservedByTasks(
  containers: Readonly<Record<string, readonly string[]>>,
  cpuScale: number,
): Promise<{ declared: Record<string, number>; carried: Record<string, number>; left: number }> {
  const declared: Record<string, number> = {}
  const carried: Record<string, number> = {}
  let reserved = 0
  for (const [service, ids] of Object.entries(containers)) {
    // A one-shot job's task has finished, and Swarm has given its reservation back.
    if (policy.oneShot.includes(service)) continue
    const guide = policy.resources[service]?.reservations?.cpus
    for (const [index, id] of ids.entries()) {
      const { nanoCpus } = await taskReservations(id)
      reserved += nanoCpus
      if (guide === undefined) continue
      declared[`${service}-${index + 1}`] = fittedCpus(guide, cpuScale)
      carried[`${service}-${index + 1}`] = nanoCpus / 1e9
    }
  }
  // Every service the guide reserves CPUs for, each with a running task to hold to it.
  for (const [service, { reservations }] of Object.entries(policy.resources))
    if (reservations?.cpus !== undefined && (containers[service] ?? []).length === 0)
      declared[`${service}-1`] = fittedCpus(reservations.cpus, cpuScale)
  // `self` is a name only `docker node inspect` knows.
  const self = await docker(['node', 'inspect', '--format', '{{.Description.Resources.NanoCPUs}}', 'self'])
  if (self.exitCode !== 0) throw new Error(`docker node inspect self failed: ${self.stderr.trim()}`)
  return { declared, carried, left: (Number(self.stdout.trim()) - reserved) / 1e9 }
}

/**
 * A task that reserves more CPUs than the node has left (`left`) is never placed: a service of
 * the suite's tools image asks for a little more, and must read pending for insufficient
 * resources within 30 s. The service is labelled as the run's, and removed however the wait ends.
 */
export async function untilPendingForResources(project: string, left: number, image: string): Promise<void> {
  const name = `${project}_reservation-probe`
  const asked = (Math.ceil(Math.max(left, 0) * 100) + 1) / 100
  const created = await docker([
    'service',
    'create',
    '--detach',
    '--no-resolve-image',
    '--name',
    name,
    ...Object.entries(testLabels()).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    ...Object.entries(testLabels()).flatMap(([key, value]) => ['--container-label', `${key}=${value}`]),
    '--reserve-cpu',
    String(asked),
    '--restart-condition',
    'none',
    image,
    'sleep',
    'infinity',
  ])
  if (created.exitCode !== 0) throw new Error(`docker service create failed: ${created.stderr.trim()}`)
  try {
    const deadline = Date.now() + 30_000
    let seen = ''
    for (;;) {
      seen = (
        await docker(['service', 'ps', name, '--no-trunc', '--format', '{{.CurrentState}}\t{{.Error}}'])
      ).stdout.trim()
      if (/^Pending/.test(seen) && /insufficient resources/.test(seen)) return
      if (/^(Running|Starting|Preparing|Assigned|Accepted)/.test(seen) || Date.now() > deadline)
        throw new Error(
          `a task reserving ${asked} CPUs, more than the ${left.toFixed(2)} the stack leaves on this node, was not held pending for insufficient resources: ${seen || 'no task'}`,
        )
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  } finally {
    await docker(['service', 'rm', name])
  }
}

/** vitest's options that take a value (`-t <pattern>`): that value is not a file filter. */
const VALUED = new Set(['-t', '--testNamePattern', '--project', '--reporter', '--outputFile', '--shard'])

/**
 * The vitest arguments of a Swarm run: the suites that apply there (SWARM_SUITES) in place of
 * vitest's file filters, or, where the run names files, those of them that are such a suite; a
 * file filter that names none of them is bad input, since nothing it names runs on Swarm.
 */
export function swarmArgs(args: readonly string[]): string[] {
  const filters = args.filter((arg, index) => !arg.startsWith('-') && !VALUED.has(args[index - 1] ?? ''))
  if (filters.length === 0) return [...args, ...SWARM_SUITES]
  const off = filters.filter((filter) => !SWARM_SUITES.some((suite) => suite.includes(filter)))
  if (off.length > 0)
    throw new PreflightError(
      `${off.join(', ')}: on Swarm only ${SWARM_SUITES.map((suite) => suite.replace(/^suites\//, '')).join(', ')} run`,
      2,
    )
  // A filter is a part of a path to vitest (`disruptive` names every disruptive suite): each one
  // becomes the Swarm suites it names, so it cannot bring in one that drives Compose.
  const named = SWARM_SUITES.filter((suite) => filters.some((filter) => suite.includes(filter)))
  return [...args.filter((arg) => !filters.includes(arg)), ...named]
}
