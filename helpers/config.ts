import { existsSync } from 'node:fs'
import { PreflightError } from './errors.ts'
import { delimiter, dirname, join, resolve } from 'node:path'

export interface Config {
  /** The repository's root folder. */
  readonly root: string
  /** The compose files, absolute, in the order Compose merges them. */
  readonly composeFiles: readonly string[]
  readonly projectDirectory: string
  /** Leave the stack up after the run (BANYAN_KEEP=1). */
  readonly keep: boolean
  /** Start the stack even when the static checks refute a claim (BANYAN_CONTINUE=1). */
  readonly continueAfterStatic: boolean
  /**
   * How the live stack runs its health checks: `auto` (the declared timings where the engine has
   * start_interval, 1 s probes where it has not), `declared`, or one interval for every check.
   */
  readonly healthInterval: string
  readonly reportsDir: string
  /** The stack's committed waivers: waivers.json beside its first compose file, or BANYAN_WAIVERS. */
  readonly waiversFile: string
  /** What the stack offers beyond the guide (helpers/offers.ts): offers.json beside its first compose file, or BANYAN_OFFERS. */
  readonly offersFile: string
  /** Where the stack is deployed (BANYAN_TARGET): a Compose project, or a Swarm stack (helpers/swarm-target.ts). */
  readonly target: Target
}

/** Where the stack is deployed: a Compose project (the default) or a Docker Swarm stack (helpers/swarm-target.ts). */
export type Target = 'compose' | 'swarm'

/** BANYAN_TARGET: compose (the default) or swarm; anything else is bad input. */
export function targetOf(env: NodeJS.ProcessEnv): Target {
  const target = env.BANYAN_TARGET ?? 'compose'
  if (target === 'compose' || target === 'swarm') return target
  throw new PreflightError(`BANYAN_TARGET must be compose or swarm, not '${target}'`, 2)
}

export const ROOT = resolve(import.meta.dirname, '..')
export const REFERENCE_STACK = join(ROOT, 'fixtures/stack/compose.yaml')
/** What the reference stack adds on Docker Swarm (BANYAN_TARGET=swarm), after REFERENCE_STACK. */
export const REFERENCE_SWARM = join(ROOT, 'fixtures/stack/swarm.yaml')

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name]
  if (value === undefined || value === '' || value === '0' || value === 'false') return false
  if (value === '1' || value === 'true') return true
  throw new PreflightError(`${name} must be 1 or 0, not '${value}'`, 2)
}

/** Reads the run's settings once, failing on the first one that is wrong and naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  // Compose's own variable and separator, so a team points the suite at its stack the way it
  // points Compose at it.
  const separator = env.COMPOSE_PATH_SEPARATOR ?? (delimiter === ';' ? ';' : ':')
  const composeFiles = (env.COMPOSE_FILE ?? REFERENCE_STACK)
    .split(separator)
    .filter((file) => file.length > 0)
    .map((file) => resolve(cwd, file))
  if (composeFiles.length === 0) throw new PreflightError('COMPOSE_FILE is set but names no file', 2)
  for (const file of composeFiles) {
    if (!existsSync(file)) throw new PreflightError(`COMPOSE_FILE names ${file}, which does not exist`, 2)
  }

  const interval = env.BANYAN_HEALTH_INTERVAL ?? 'auto'
  if (interval !== 'auto' && interval !== 'declared' && !/^\d+(ms|s)$/.test(interval)) {
    throw new PreflightError(
      `BANYAN_HEALTH_INTERVAL must be auto, declared, or a duration such as 1s or 500ms, not '${interval}'`,
      2,
    )
  }
  const images = env.BANYAN_IMAGES ?? 'auto'
  if (!['auto', 'official', 'offline'].includes(images)) {
    throw new PreflightError(`BANYAN_IMAGES must be auto, official or offline, not '${images}'`, 2)
  }

  const first = composeFiles[0] ?? REFERENCE_STACK
  return {
    root: ROOT,
    composeFiles,
    projectDirectory: dirname(first),
    keep: flag(env, 'BANYAN_KEEP'),
    continueAfterStatic: flag(env, 'BANYAN_CONTINUE'),
    healthInterval: interval,
    reportsDir: resolve(cwd, env.BANYAN_REPORTS ?? join(ROOT, 'reports')),
    waiversFile: resolve(cwd, env.BANYAN_WAIVERS ?? join(dirname(first), 'waivers.json')),
    offersFile: resolve(cwd, env.BANYAN_OFFERS ?? join(dirname(first), 'offers.json')),
    target: targetOf(env),
  }
}
