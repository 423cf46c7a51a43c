import { inject } from 'vitest'
import { GenericContainer, type StartedTestContainer } from 'testcontainers'
import { docker, type CommandResult } from './docker.ts'
import { testLabels } from './labels.ts'
import { amqpConnection, pgClient } from './probes.ts'
import type { StackInfo } from './stack-setup.ts'

/** The shared stack of this run, as the global setup provided it. */
export function stack(): StackInfo {
  return inject('stack')
}

/** Skips a test that needs the stack when the stack did not come up: LC-1 says why; nothing else can be checked. */
export function skipIfDown({ skip }: { skip: (note: string) => void }): void {
  const failure = stack().failure
  if (failure !== null) skip(`the stack did not come up: ${failure}`)
}

/** The run's credentials, as the CLI generated them for Compose. */
export function credential(name: string): string {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set: the stack suites run inside a run of the main job`)
  return value
}

/** The one container of a service that runs a single replica. */
export function containerOf(service: string): string {
  const ids = stack().containers[service] ?? []
  if (ids.length !== 1) throw new Error(`expected one container of ${service}, found ${ids.length}`)
  return ids[0] ?? ''
}

/** A container's address on one of the stack's networks (by its name in the compose file). */
export async function addressOf(container: string, network: string): Promise<string> {
  const format = `{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}} {{end}}`
  const { stdout } = await docker(['inspect', '--format', format, container])
  const entry = stdout
    .trim()
    .split(' ')
    .find((pair) => pair.startsWith(`${stack().project}_${network}=`))
  if (entry === undefined) throw new Error(`container ${container} is not on network ${network}: ${stdout.trim()}`)
  return entry.split('=')[1] ?? ''
}

/** What a container is doing, in one word or two: healthy, unhealthy, starting, exited 0, running. */
export async function stateOf(container: string): Promise<string> {
  const format = '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}'
  const { stdout } = await docker(['inspect', '--format', format, container])
  const [status = '', exitCode = '', health = ''] = stdout.trim().split(' ')
  if (status === 'exited') return `exited ${exitCode}`
  return health !== '' ? health : status
}

/** The address on this machine where a service publishes a container port (nginx's 80, say). */
export async function publishedAddress(service: string, port: number): Promise<string> {
  const { stdout } = await docker(['port', containerOf(service), String(port)])
  const published = /:(\d+)$/m.exec(stdout.trim())?.[1]
  if (published === undefined) throw new Error(`${service} publishes no host port for ${port}: ${stdout.trim()}`)
  return `127.0.0.1:${published}`
}

/** The stack's event store, as the run's database user, from this machine over the backend network. */
export async function stackDatabase(): ReturnType<typeof pgClient> {
  return pgClient({
    host: await addressOf(containerOf('postgres'), 'backend'),
    port: 5432,
    user: credential('DATABASE_USER'),
    password: credential('DATABASE_PASSWORD'),
    database: credential('DATABASE_NAME'),
  })
}

/** The stack's broker, as the run's RabbitMQ user. */
export async function stackBroker(): ReturnType<typeof amqpConnection> {
  const host = await addressOf(containerOf('rabbitmq'), 'backend')
  return amqpConnection(`amqp://${credential('RABBITMQ_USER')}:${credential('RABBITMQ_PASSWORD')}@${host}:5672`)
}

/** Runs a command in a container, as `docker exec` would; never throws for a non-zero exit. */
export function execIn(container: string, command: readonly string[]): Promise<CommandResult> {
  return docker(['exec', container, ...command], { timeoutMs: 30_000 })
}

/** One of the stack's networks, by its name in the compose file: its Docker name, gateway and whether it is internal. */
export async function networkOf(
  name: string,
): Promise<{ name: string; gateway: string; internal: boolean; driver: string }> {
  const filters = [
    '--filter',
    `label=com.docker.compose.project=${stack().project}`,
    '--filter',
    `label=com.docker.compose.network=${name}`,
  ]
  const { stdout } = await docker(['network', 'ls', ...filters, '--format', '{{.Name}}'])
  const network = stdout.trim().split('\n')[0] ?? ''
  if (network === '') throw new Error(`the stack has no network ${name}`)
  const format = '{{(index .IPAM.Config 0).Gateway}} {{.Internal}} {{.Driver}}'
  const inspected = await docker(['network', 'inspect', '--format', format, network])
  const [gateway = '', internal = '', driver = ''] = inspected.stdout.trim().split(' ')
  return { name: network, gateway, internal: internal === 'true', driver }
}

/**
 * A container of the suite's tools image on one of the stack's networks only, for probing from
 * there. Labelled with the run, so the sweep finds it; removed at the end of its `await using` block.
 */
export async function probeOn(
  network: string,
  command: string[] = ['sleep', 'infinity'],
): Promise<StartedTestContainer> {
  return new GenericContainer(credential('TOOLS_IMAGE'))
    .withNetworkMode((await networkOf(network)).name)
    .withCommand(command)
    .withLabels(testLabels())
    .start()
}

/** Can a container open a TCP connection to address:port? nc, within two seconds. */
export async function canConnect(
  container: StartedTestContainer | string,
  address: string,
  port: number,
): Promise<boolean> {
  const command = ['nc', '-z', '-w', '2', address, String(port)]
  const exitCode =
    typeof container === 'string'
      ? (await execIn(container, command)).exitCode
      : (await container.exec(command)).exitCode
  return exitCode === 0
}

/** A container's main process as the host sees it, how often Docker restarted it, and since when it runs. */
export async function processOf(container: string): Promise<{ pid: number; restarts: number; startedAt: string }> {
  const { stdout } = await docker([
    'inspect',
    '--format',
    '{{.State.Pid}} {{.RestartCount}} {{.State.StartedAt}}',
    container,
  ])
  const [pid = '0', restarts = '0', startedAt = ''] = stdout.trim().split(' ')
  return { pid: Number(pid), restarts: Number(restarts), startedAt }
}
