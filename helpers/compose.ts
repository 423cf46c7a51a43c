import { relative } from 'node:path'
import type { Config } from './config.ts'
import { docker, firstLine } from './docker.ts'
import { PreflightError } from './errors.ts'

// The parts of `docker compose config --format json` the suite reads. Compose has resolved
// variables, merged overrides and normalised short syntax by then, so this is what will run.
export interface ComposePort {
  target: number
  published?: string
  host_ip?: string
  protocol?: string
}

export interface ComposeHealthcheck {
  test?: string[]
  interval?: string
  timeout?: string
  retries?: number
  start_period?: string
  disable?: boolean
}

export interface ComposeResources {
  cpus?: number | string
  /** Bytes, as a string: Compose resolves 2G to "2147483648". */
  memory?: string
}

export interface ComposeService {
  image?: string
  build?: unknown
  ports?: ComposePort[]
  expose?: string[]
  healthcheck?: ComposeHealthcheck
  networks?: Record<string, unknown>
  profiles?: string[]
  restart?: string
  environment?: Record<string, string | null>
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[]
  deploy?: { replicas?: number; resources?: { limits?: ComposeResources; reservations?: ComposeResources } }
}

export interface ComposeModel {
  name: string
  services: Record<string, ComposeService>
  networks?: Record<string, { external?: boolean; internal?: boolean; name?: string; driver?: string }>
  volumes?: Record<string, { external?: boolean; name?: string }>
}

export function composeFileArgs(config: Pick<Config, 'composeFiles' | 'projectDirectory'>): string[] {
  return [...config.composeFiles.flatMap((file) => ['-f', file]), '--project-directory', config.projectDirectory]
}

/** The configuration as Compose resolves it. A file that does not parse, or a missing variable, is exit 2. */
export async function composeConfig(config: Config, env: NodeJS.ProcessEnv): Promise<ComposeModel> {
  const { exitCode, stdout, stderr } = await docker(
    ['compose', ...composeFileArgs(config), 'config', '--format', 'json'],
    {
      env,
      timeoutMs: 30_000,
    },
  )
  if (exitCode !== 0) {
    const files = config.composeFiles.map((file) => relative(process.cwd(), file) || file).join(', ')
    const cause = firstLine(stderr)
    const what = /variable/i.test(cause)
      ? 'a variable the compose file needs is missing'
      : 'the compose file does not parse'
    throw new PreflightError(`${what} (${files}): ${cause}`, 2)
  }
  return JSON.parse(stdout) as ComposeModel
}

/**
 * Builds the stack's own images (those with a `build:` section) before the run, so the run's
 * start-up time is the stack's, not the build's. Compose 2.26 builds through the engine's own
 * BuildKit and needs no buildx plugin.
 */
export async function composeBuild(
  files: Pick<Config, 'composeFiles' | 'projectDirectory'>,
  project: string,
  model: ComposeModel,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const built = Object.entries(model.services).filter(([, service]) => service.build !== undefined)
  if (built.length === 0) return
  const { exitCode, stderr } = await docker(
    ['compose', ...composeFileArgs(files), '-p', project, 'build', ...built.map(([name]) => name)],
    {
      env,
      timeoutMs: 600_000,
    },
  )
  if (exitCode !== 0) {
    const last = stderr.trim().split('\n').slice(-5).join(' | ')
    throw new PreflightError(`building the stack's images failed: ${last}`, 3)
  }
}

/**
 * A Compose project's resources now, one [id or name, compose label] pair each: its containers (`ps -a`,
 * stopped ones too) with their service, or its volumes with their name in the compose file.
 */
export async function projectResources(project: string, kind: 'containers' | 'volumes'): Promise<[string, string][]> {
  const [command, format] =
    kind === 'containers'
      ? [['ps', '-a'], '{{.ID}} {{.Label "com.docker.compose.service"}}']
      : [['volume', 'ls'], '{{.Name}} {{.Label "com.docker.compose.volume"}}']
  const { stdout } = await docker([
    ...command,
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--format',
    format,
  ])
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', label = ''] = line.split(' ')
      return [id, label]
    })
}

/**
 * Why `compose up` failed, without the progress it printed on the way ("Container x  Started"):
 * testcontainers hands over all of it, and the cause is the rest (usually the last line).
 */
export function composeFailureCause(output: string): string {
  const progress = /^\s*(Container|Network|Volume)\s+\S+\s+\w+$/
  const cause = output
    .split('\n')
    .filter((line) => line.trim() !== '' && !progress.test(line))
    .join('\n')
  return cause === '' ? output.trim() : cause
}
