import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Wait, type BoundPorts, type WaitStrategy } from 'testcontainers'
import { docker } from './docker.ts'
import { mask } from './mask.ts'

/** Dockerode's container, as testcontainers hands it over (dockerode is its dependency, not ours). */
type Container = Parameters<WaitStrategy['waitUntilReady']>[0]

interface HealthState {
  Status?: string
  Log?: { ExitCode: number; Output: string }[]
}

/**
 * testcontainers' own waits (the health check where the container has one, listening ports
 * where not), with one difference: when a container fails, the error names its service and
 * what its last health probe said, and its logs and state are written under the evidence folder
 * before testcontainers takes the stack down. Its bare "Health check failed: unhealthy" names
 * neither, and the evidence is gone a second later.
 */
export class ExplainedWait implements WaitStrategy {
  #startupTimeoutMs = 60_000
  #timeoutSet = false
  readonly #evidenceDir: string
  readonly #secrets: readonly string[]

  constructor(evidenceDir: string, secrets: readonly string[]) {
    this.#evidenceDir = evidenceDir
    this.#secrets = secrets
  }

  withStartupTimeout(startupTimeoutMs: number): this {
    this.#startupTimeoutMs = startupTimeoutMs
    this.#timeoutSet = true
    return this
  }

  isStartupTimeoutSet(): boolean {
    return this.#timeoutSet
  }

  getStartupTimeout(): number {
    return this.#startupTimeoutMs
  }

  async waitUntilReady(container: Container, boundPorts: BoundPorts, startTime?: Date): Promise<void> {
    const inspected = await container.inspect()
    const wait =
      inspected.Config.Healthcheck?.Test?.[0] === 'NONE' || !inspected.Config.Healthcheck
        ? Wait.forListeningPorts()
        : Wait.forHealthCheck()
    try {
      await wait.withStartupTimeout(this.#startupTimeoutMs).waitUntilReady(container, boundPorts, startTime)
    } catch (error) {
      throw new Error(await this.#explain(container.id, error), { cause: error })
    }
  }

  async #explain(id: string, error: unknown): Promise<string> {
    const format = '{{index .Config.Labels "com.docker.compose.service"}}\t{{.Name}}\t{{json .State}}'
    const { stdout } = await docker(['inspect', '--format', format, id])
    const [service = id, name = id, stateJson = '{}'] = stdout.trim().split('\t')
    const state = JSON.parse(stateJson) as { Status?: string; ExitCode?: number; Health?: HealthState }
    const probe = state.Health?.Log?.at(-1)
    const logs = await docker(['logs', '--tail', '60', id])

    mkdirSync(this.#evidenceDir, { recursive: true })
    const file = join(this.#evidenceDir, `${service}.startup.txt`)
    const evidence = [
      `service ${service} (${name.replace(/^\//, '')}), state ${JSON.stringify(state, null, 2)}`,
      `--- last 60 log lines ---`,
      logs.stdout + logs.stderr,
    ].join('\n')
    writeFileSync(file, mask(evidence, this.#secrets))

    const cause = error instanceof Error ? error.message : String(error)
    const said = probe
      ? `; last health probe exited ${probe.ExitCode}: ${probe.Output.trim().split('\n')[0] ?? ''}`
      : ''
    return mask(
      `${service} did not become ready (${cause}, container ${state.Status ?? 'unknown'}${said}); evidence in ${file}`,
      this.#secrets,
    )
  }
}
