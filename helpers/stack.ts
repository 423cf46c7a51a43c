import { expect, inject, type ExpectStatic } from 'vitest'
import { isIP } from 'node:net'
import { GenericContainer, type StartedTestContainer } from 'testcontainers'
import { policy } from '../fixtures/policy.ts'
import type { Database } from './backup.ts'
import { composeFileArgs, projectResources } from './compose.ts'
import { docker, runHelper, type CommandResult } from './docker.ts'
import type { Offers } from './offers.ts'
import { labelArgs, testLabels } from './labels.ts'
import { amqpConnection, pgClient } from './probes.ts'
import { runFromEnv } from './run.ts'
import { bearer } from './tokens.ts'
import type { StackInfo } from './stack-setup.ts'

/** The shared stack of this run, as the global setup provided it. */
export function stack(): StackInfo {
  return inject('stack')
}

/**
 * Fails a test that needs the stack when the stack did not come up: its claim is blocked, not
 * "not verifiable here" (that is decided before a run, never by something that broke). LC-1's
 * own test gives the whole reason; this names its first line.
 */
export function failIfDown(): void {
  const failure = stack().failure
  if (failure !== null) throw new Error(`blocked: the stack did not come up (${failure.split('\n')[0] ?? ''})`)
}

/** The run's credentials, as the CLI generated them for Compose. */
export function credential(name: string): string {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set: the stack suites run inside a run of the main job`)
  return value
}

/** What the stack offers beyond the guide (helpers/offers.ts), as preflight read it. */
export function offers(): Offers {
  return runFromEnv().offers
}

/**
 * A valid bearer token for the stack's API where it checks tokens (offers.json api.token), made
 * now: one made once grows old while a run goes, and a gateway that keeps tokens a shorter time
 * than JWT_EXPIRATION (CF-5's to judge) would refuse other checks' requests on a slow machine.
 */
export async function apiAuthorization(): Promise<string | undefined> {
  return offers().api?.token === undefined ? undefined : bearer(credential('JWT_SECRET'))
}

/** Whether preflight left a claim something to check in this stack (else it reads "not verifiable here", and its tests do not run). */
export function verifiable(claim: string): boolean {
  return !runFromEnv().unverifiable.includes(claim)
}

/** The one container of a service that runs a single replica. */
export function containerOf(service: string): string {
  const ids = stack().containers[service] ?? []
  if (ids.length !== 1) throw new Error(`expected one container of ${service}, found ${ids.length}`)
  return ids[0] ?? ''
}

/** The one running container of a service now: the drill or a scale may have replaced the one of start-up. */
export async function runningContainerOf(service: string): Promise<string> {
  const [container = containerOf(service)] = await replicasOf(service)
  return container
}

/** A container's address on one of the stack's networks (by its name in the compose file), or another project's of the run. */
export async function addressOf(container: string, network: string, project = stack().project): Promise<string> {
  const format = `{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}} {{end}}`
  const { stdout } = await docker(['inspect', '--format', format, container])
  const entry = stdout
    .trim()
    .split(' ')
    .find((pair) => pair.startsWith(`${project}_${network}=`))
  if (entry === undefined) throw new Error(`container ${container} is not on network ${network}: ${stdout.trim()}`)
  return entry.split('=')[1] ?? ''
}

/** The relays this test file started (see reachable), by container, network and port. */
const relays = new Map<string, Promise<{ id: string; host: string; port: number }>>()

/** The port a relay listens on inside its own container. */
const RELAY_PORT = 15000

/**
 * Where a client on this machine reaches one of the stack's containers at `port`, on one of its
 * networks. A Compose project's networks are bridges on this machine: the container's own address.
 * A Swarm stack's are overlays, which this machine has no route into (an overlay address asked
 * from here goes wherever the machine's own routes send it): a relay of the suite's tools image,
 * on that overlay and publishing on loopback only, carries the connection (delay-proxy, no delay).
 */
export async function reachable(
  container: string,
  network: string,
  port: number,
): Promise<{ host: string; port: number }> {
  if (stack().target === 'compose') return { host: await addressOf(container, network), port }
  const key = `${container} ${network} ${port}`
  const started = relays.get(key) ?? startRelay(container, network, port)
  relays.set(key, started)
  const { host, port: published } = await started
  return { host, port: published }
}

async function startRelay(
  container: string,
  network: string,
  port: number,
): Promise<{ id: string; host: string; port: number }> {
  const target = await addressOf(container, network)
  const run = await docker([
    'run',
    '-d',
    '--rm',
    '--network',
    'bridge',
    '-p',
    `127.0.0.1::${RELAY_PORT}`,
    ...labelArgs(),
    credential('TOOLS_IMAGE'),
    'delay-proxy',
    String(RELAY_PORT),
    target,
    String(port),
    '0',
  ])
  if (run.exitCode !== 0) throw new Error(`the relay to ${container}:${port} did not start: ${run.stderr.trim()}`)
  const id = run.stdout.trim()
  const joined = await docker(['network', 'connect', (await networkOf(network)).name, id])
  if (joined.exitCode !== 0)
    throw new Error(`the relay to ${container}:${port} could not join ${network}: ${joined.stderr.trim()}`)
  const [host = '', published = ''] = (await publishedAddressOf(id, RELAY_PORT)).split(':')
  // Listening is the relay's first act; a client before it would be refused by Docker's proxy.
  await expect
    .poll(async () => (await execIn(id, ['nc', '-z', '127.0.0.1', String(RELAY_PORT)])).exitCode, {
      timeout: 10_000,
      interval: 100,
      message: `the relay to ${container}:${port} never listened`,
    })
    .toBe(0)
  return { id, host, port: Number(published) }
}

/** Removes the relays this file started (the stack project's set-up file calls it after each file). */
export async function closeRelays(): Promise<void> {
  const ids = await Promise.all(
    [...relays.values()].map((relay) =>
      relay.then(
        ({ id }) => id,
        () => '',
      ),
    ),
  )
  relays.clear()
  const started = ids.filter(Boolean)
  if (started.length > 0) await docker(['rm', '-f', ...started])
}

/** What Docker says of a container's state now: its status, exit code, health (if it has a check) and restarts so far. */
export async function containerState(
  container: string,
): Promise<{ status: string; exitCode: number; health: string; restarts: number }> {
  const format =
    '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{end}}'
  const { stdout } = await docker(['inspect', '--format', format, container])
  const [status = '', exitCode = '0', restarts = '0', health = ''] = stdout.trim().split(' ')
  return { status, exitCode: Number(exitCode), health, restarts: Number(restarts) }
}

/**
 * What a container is doing, in one word or two (healthy, unhealthy, starting, exited 0, running):
 * its health where it has a check and runs, else its status
 * (`exited <code>` when it exited). A restarting or dead container's health is the last run's, so
 * those say their status.
 */
export async function stateOf(container: string): Promise<string> {
  const { status, exitCode, health } = await containerState(container)
  if (status === 'exited') return `exited ${exitCode}`
  return health !== '' && status !== 'restarting' && status !== 'dead' ? health : status
}

/**
 * Waits until every given container is in `state` (stateOf's words: healthy, unhealthy, ...),
 * polling every 200 ms; fails with `message` when `timeoutMs` runs out.
 */
export async function untilState(
  containers: string | readonly string[],
  state: string,
  message: string,
  timeoutMs = 60_000,
): Promise<void> {
  const ids = typeof containers === 'string' ? [containers] : containers
  await expect
    .poll(() => Promise.all(ids.map((id) => stateOf(id))), { timeout: timeoutMs, interval: 200, message })
    .toEqual(ids.map(() => state))
}

/** A health check's test as the command Docker runs: CMD as given, CMD-SHELL through sh -c. */
export function healthCommand(test: readonly string[]): string[] {
  const [kind = '', ...rest] = test
  return kind === 'CMD-SHELL' ? ['sh', '-c', rest.join(' ')] : rest
}

/**
 * A container's own health check, run now in the container as Docker runs it at each interval,
 * within its declared timeout: true when it passes. Docker's state follows the same answers at
 * the declared pace; the answer itself needs no waiting for that pace. An exec that could not run
 * at all (the container not running) is no answer, and throws.
 */
export async function healthCheckPasses(container: string): Promise<boolean> {
  const passes = await ownCheckPasses(container)
  if (passes === null) throw new Error(`container ${container} has no health check to run`)
  return passes
}

/** A container's own health check, run now (healthCheckPasses); one with no check is judged by running alone (HC-1's matter). */
export async function healthyNow(container: string): Promise<boolean> {
  return (await ownCheckPasses(container)) ?? (await stateOf(container)) === 'running'
}

/** healthCheckPasses' answer, or null when the container has no health check. */
async function ownCheckPasses(container: string): Promise<boolean | null> {
  const { stdout } = await docker(['inspect', '--format', '{{.State.Running}} {{json .Config.Healthcheck}}', container])
  const [running = '', ...json] = stdout.trim().split(' ')
  // A container that is not running has no check to answer: its exec would fail like a failed check.
  if (running !== 'true') throw new Error(`container ${container} is not running: its health check has no answer`)
  const check = JSON.parse(json.join(' ')) as { Test?: string[]; Timeout?: number } | null
  const test = check?.Test ?? []
  if (test.length === 0 || test[0] === 'NONE') return null
  // Docker's default timeout is 30 s; a check slower than its own is a failed one.
  const timeoutMs = (check?.Timeout || 30e9) / 1e6
  const { exitCode, stderr } = await execIn(container, healthCommand(test), timeoutMs)
  if (exitCode === 124) return false
  if (exitCode === 125 || /is not running|No such container/.test(stderr))
    throw new Error(`could not run ${container}'s health check: ${stderr.trim()}`)
  return exitCode === 0
}

/** The address on this machine where a service publishes a container port (nginx's 80, say). */
export async function publishedAddress(service: string, port: number): Promise<string> {
  return publishedAddressOf(await runningContainerOf(service), port)
}

/** Where on this machine a container publishes one of its ports (any project's). */
export async function publishedAddressOf(container: string, port: number): Promise<string> {
  const { stdout } = await docker(['port', container, String(port)])
  const published = /:(\d+)$/m.exec(stdout.trim())?.[1]
  if (published === undefined) throw new Error(`${container} publishes no host port for ${port}: ${stdout.trim()}`)
  return `127.0.0.1:${published}`
}

/** The run's database user, password and event store, as the CLI generated them. */
export function databaseLogin(): Database {
  return {
    user: credential('DATABASE_USER'),
    password: credential('DATABASE_PASSWORD'),
    database: credential('DATABASE_NAME'),
  }
}

/** Where the stack's event store is reached from this machine (over the backend network), as the run's database user. */
export async function stackDatabaseConnection(): Promise<Parameters<typeof pgClient>[0]> {
  return { ...(await reachable(await runningContainerOf('postgres'), 'backend', 5432)), ...databaseLogin() }
}

/** The stack's event store, as the run's database user, from this machine over the backend network. */
export async function stackDatabase(): ReturnType<typeof pgClient> {
  return pgClient(await stackDatabaseConnection())
}

/** The stack's broker, as the run's RabbitMQ user. */
export async function stackBroker(): ReturnType<typeof amqpConnection> {
  const { host, port } = await reachable(await runningContainerOf('rabbitmq'), 'backend', 5672)
  return amqpConnection(`amqp://${credential('RABBITMQ_USER')}:${credential('RABBITMQ_PASSWORD')}@${host}:${port}`)
}

/** Runs a command in a container, as `docker exec` would; never throws for a non-zero exit. */
export function execIn(container: string, command: readonly string[], timeoutMs = 30_000): Promise<CommandResult> {
  return docker(['exec', container, ...command], { timeoutMs })
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
  const inspected = await docker(['network', 'inspect', '--format', '{{json .}}', network])
  const { IPAM, Internal, Driver } = JSON.parse(inspected.stdout) as {
    IPAM: { Config: { Gateway?: string }[] | null }
    Internal: boolean
    Driver: string
  }
  // The bridge's own address, where a container on it reaches the host. A network whose IPAM
  // names none has no such address to probe: say so, rather than probe an empty name.
  const gateway = (IPAM.Config ?? []).map((config) => config.Gateway ?? '').find((address) => address !== '')
  return {
    name: network,
    get gateway(): string {
      if (gateway === undefined) throw new Error(`network ${network} names no gateway address`)
      return gateway
    },
    internal: Internal,
    driver: Driver,
  }
}

/**
 * Where a container on one of the stack's networks reaches this machine, if its network lets it:
 * a Compose network's bridge address. A Swarm overlay's gateway is inside the overlay, not on the
 * machine: a container there reaches the machine at the swarm's gateway bridge (docker_gwbridge),
 * which Docker attaches to every container with a network that is not internal.
 */
export async function machineAddressOn(network: string): Promise<string> {
  if (stack().target === 'compose') return (await networkOf(network)).gateway
  const { exitCode, stdout, stderr } = await docker([
    'network',
    'inspect',
    '--format',
    '{{range .IPAM.Config}}{{.Gateway}}{{end}}',
    'docker_gwbridge',
  ])
  if (exitCode !== 0 || stdout.trim() === '') throw new Error(`docker_gwbridge names no gateway: ${stderr.trim()}`)
  return stdout.trim()
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

/**
 * Can a container open a TCP connection to address:port? nc, within two seconds. For one of the
 * stack's own containers, nc runs in a helper joined to its network namespace (same addresses,
 * same names resolved), so the service's image needs no nc of its own.
 */
export async function canConnect(
  container: StartedTestContainer | string,
  address: string,
  port: number,
): Promise<boolean> {
  if (stack().target === 'swarm' && isIP(address) !== 0 && (await routedAway(container, address))) return false
  const command = ['nc', '-z', '-w', '2', address, String(port)]
  const exitCode =
    typeof container === 'string'
      ? (await runHelper(credential('TOOLS_IMAGE'), command, { network: `container:${container}` })).exitCode
      : (await container.exec(command)).exitCode
  // nc says 0 (open) or 1 (not); anything else is no answer at all, and must not read as "closed".
  if (exitCode !== 0 && exitCode !== 1) {
    const from = typeof container === 'string' ? container : container.getId()
    throw new Error(`nc from ${from} exited ${exitCode}: no answer about ${address}:${port}`)
  }
  return exitCode === 0
}

/**
 * Whether a probe from `from` to an address would leave the machine. A Swarm stack's addresses
 * are overlay addresses, which the engine's host has no route into: a container not on that
 * overlay sends to one through the swarm's gateway bridge, and the host then sends it out of the
 * machine, to whoever answers there (seen: a gateway that accepted every port). Such a probe
 * proves nothing of the stack and must not be sent: the address is not reachable on the stack's
 * networks, and reads as closed. An address on one of `from`'s own networks is sent as any other.
 */
async function routedAway(from: StartedTestContainer | string, address: string): Promise<boolean> {
  const command = ['ip', 'route', 'get', address]
  const own =
    typeof from === 'string'
      ? await runHelper(credential('TOOLS_IMAGE'), command, { network: `container:${from}` })
      : await from.exec(command).then(({ exitCode, output }) => ({ exitCode, stdout: output, stderr: output }))
  // No route at all: nothing would be sent anywhere, so there is nothing to probe either.
  if (own.exitCode !== 0 && /unreachable/.test(own.stderr)) return true
  if (own.exitCode !== 0) throw new Error(`ip route get ${address} failed: ${own.stderr.trim()}`)
  if (!/ via /.test(own.stdout)) return false
  // Through a gateway: where the engine's host sends it next, asked in the host's namespace.
  const host = await runHelper(credential('TOOLS_IMAGE'), command, { network: 'host' })
  if (host.exitCode !== 0) throw new Error(`ip route get ${address} on the engine's host failed: ${host.stderr.trim()}`)
  const away = / via /.test(host.stdout)
  if (away)
    console.warn(
      `${address}: the engine's host routes it off the machine (${host.stdout.trim()}): not probed, and read as closed`,
    )
  return away
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

/**
 * Compose on the run's own project (or another of the run's, `project`), as an operator would
 * run it on theirs (`up -d --scale`, `restart`, `down`): the run's files and override (its labels
 * on everything, so the sweep finds it), its credentials and images, and any `overrides` of a
 * check's own after them (a new image, a setting the guide turns on). Throws with Compose's own
 * words when it fails.
 */
export async function compose(
  args: readonly string[],
  timeoutMs = 180_000,
  project: string = runFromEnv().runId,
  overrides: readonly string[] = [],
): Promise<string> {
  const run = runFromEnv()
  const files = [...composeFileArgs(run), ...overrides.flatMap((file) => ['-f', file])]
  const result = await docker(['compose', ...files, '-p', project, ...args], {
    env: { ...process.env, ...run.composeEnv },
    timeoutMs,
  })
  if (result.exitCode !== 0) throw new Error(`docker compose ${args.join(' ')} failed: ${result.stderr.trim()}`)
  return result.stdout
}

/**
 * The guide's scaling command (`docker compose up -d --scale api-gateway=3`), waiting until the
 * replicas are healthy. As the guide writes it: for the whole project. Compose 2.26 recreates a
 * service's running containers on `up --no-deps <service>` though nothing changed (its dry run
 * says Recreate), which would replace the replicas that are serving.
 */
export const scale = (service: string, replicas: number): Promise<string> =>
  compose(['up', '-d', '--wait', '--scale', `${service}=${replicas}`])

/**
 * What of the shared stack's storage a second project of the run's would share: a stateful
 * service's data on a bind mount, or on a volume whose name is not the project's own (an
 * `external` or named one). Two servers on one data folder would break the shared stack mid-run.
 */
export async function storageShared(project: string, services: readonly string[]): Promise<string[]> {
  const model = JSON.parse(await compose(['config', '--format', 'json'], 30_000, project)) as {
    services: Record<string, { volumes?: { type: string; source?: string; target: string }[] }>
    volumes?: Record<string, { name?: string; external?: boolean }>
  }
  return services.flatMap((service) =>
    (model.services[service]?.volumes ?? [])
      .filter(({ target }) => target === policy.stateful[service])
      .filter(({ type, source = '' }) => {
        const volume = model.volumes?.[source]
        if (type === 'tmpfs') return false
        return type !== 'volume' || volume?.external === true || !(volume?.name ?? '').startsWith(`${project}_`)
      })
      .map(({ type, source, target }) => `${service}'s ${target} (${type} ${source ?? ''})`),
  )
}

/** The running containers of a service now (stack().containers is what ran at start-up). */
export async function replicasOf(service: string): Promise<string[]> {
  const { stdout } = await docker([
    'ps',
    '--filter',
    `label=com.docker.compose.project=${stack().project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
    '--format',
    '{{.ID}}',
  ])
  return stdout.split('\n').filter(Boolean)
}

/**
 * What the README says to do after the gateway's replicas change: nginx resolves the service
 * name to its replicas when it starts or reloads, so it reloads. Waits until nginx answers again.
 * The shared stack's nginx unless told another (a project of the run's own).
 */
export async function reloadNginx(nginx: string = containerOf('nginx')): Promise<void> {
  // The reload is only done when the old workers, which still hold the old upstream, have exited.
  // They are listed from a helper in nginx's PID namespace: nginx's image needs no shell or grep
  // (the pattern does not match the helper's own command line).
  const workers = async (): Promise<string[]> =>
    (
      await runHelper(credential('TOOLS_IMAGE'), ['sh', '-c', 'grep -l "worker proces[s]" /proc/[0-9]*/cmdline'], {
        flags: ['--pid', `container:${nginx}`],
      })
    ).stdout
      .split('\n')
      .filter(Boolean)
  const before = await workers()
  const reloaded = await execIn(nginx, ['nginx', '-s', 'reload'])
  if (reloaded.exitCode !== 0) throw new Error(`nginx -s reload failed: ${reloaded.stderr.trim()}`)
  await expect
    .poll(
      async () => {
        const now = await workers()
        return now.length > 0 && now.every((worker) => !before.includes(worker))
      },
      { timeout: 30_000, interval: 100, message: "nginx's old workers never exited after the reload" },
    )
    .toBe(true)
}

/**
 * Waits until every container of the stack is healthy again (a one-shot one: exited 0), and each
 * service runs as many as it did at start-up: the next test gets a whole stack. It looks at the
 * containers there are now, not the start-up list, so a container replaced on the way is judged too.
 * A concurrent test passes its own `expect` (its context's): the global one polls only in a test
 * that runs alone.
 */
export async function wholeAgain(local: ExpectStatic = expect): Promise<void> {
  const expected = Object.fromEntries(Object.entries(stack().containers).map(([name, ids]) => [name, ids.length]))
  const now = async (): Promise<Record<string, string[]>> => {
    const states: Record<string, string[]> = {}
    for (const [id, service] of await projectResources(stack().project, 'containers')) {
      ;(states[service] ??= []).push(await stateOf(id))
    }
    return states
  }
  await local
    .poll(
      async () =>
        Object.entries({ ...Object.fromEntries(Object.keys(expected).map((name) => [name, []])), ...(await now()) })
          .filter(
            ([service, states]) =>
              states.length !== expected[service] ||
              states.some((state) => state !== (policy.oneShot.includes(service) ? 'exited 0' : 'healthy')),
          )
          .map(([service, states]) => `${service}: ${states.join(', ')}`),
      { timeout: 120_000, interval: 500, message: 'the stack did not return to healthy after the disruption' },
    )
    .toEqual([])
  // Docker's verdicts come at the declared pace (30 s between a gateway's probes): a container can
  // read healthy from before the disruption while it still reconnects. Each one's own check must
  // pass now too, or the next test starts on a stack that is not whole.
  const running = (await projectResources(stack().project, 'containers')).filter(
    ([, service]) => !policy.oneShot.includes(service),
  )
  await local
    .poll(
      async () =>
        (await Promise.all(running.map(async ([id, service]) => ((await healthyNow(id)) ? [] : [service])))).flat(),
      { timeout: 60_000, interval: 500, message: "the stack's own health checks did not all pass again" },
    )
    .toEqual([])
}

/**
 * Kills a container's main process from outside, as a crash or the kernel would: Docker's own
 * stop or kill counts as stopped by hand, and a restart policy rightly ignores that. The kill is
 * sent by a helper container in the engine host's PID namespace, so the pid Docker reports is the
 * pid the helper sees, wherever the engine runs (a pid taken to this machine's own `kill` would be
 * someone else's process against a remote engine). A container that is not running has pid 0,
 * and kill 0 would hit the helper's own group: that is refused. Returns what it killed.
 */
export async function crash(
  container: string,
): Promise<{ pid: number; restarts: number; startedAt: string; killedAt: number }> {
  const before = await processOf(container)
  if (before.pid <= 0) throw new Error(`container ${container} is not running: nothing to kill`)
  const { exitCode, stderr } = await runHelper(credential('TOOLS_IMAGE'), ['kill', '-KILL', String(before.pid)], {
    flags: ['--pid', 'host'],
  })
  if (exitCode !== 0) throw new Error(`could not kill ${container}'s main process ${before.pid}: ${stderr.trim()}`)
  return { ...before, killedAt: performance.now() }
}

/**
 * Stops or continues every process of a container (SIGSTOP, SIGCONT), sent as crash sends its
 * kill: from a helper in the engine host's PID namespace, to the pids `docker top` reports there.
 * A stopped process holds what it has, answers nothing and acknowledges nothing, as a hung one
 * would; Docker's own `pause` freezes the cgroup instead, and on cgroup v1 that failed ("unable
 * to freeze") on a busy process. SIGKILL still ends a stopped process at once.
 */
async function signalProcesses(container: string, signal: 'STOP' | 'CONT'): Promise<void> {
  // Read first: read after the signal, a main process that ended in between reads as 0 or its successor.
  const main = await processOf(container)
  const top = await docker(['top', container, '-o', 'pid'])
  if (top.exitCode !== 0) throw new Error(`docker top ${container} failed: ${top.stderr.trim()}`)
  const pids = top.stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
  if (pids.length === 0) throw new Error(`container ${container} runs no process to ${signal}`)
  const { exitCode, stderr } = await runHelper(credential('TOOLS_IMAGE'), ['kill', `-${signal}`, ...pids], {
    flags: ['--pid', 'host'],
  })
  if (exitCode === 0) return
  // A process that ended between `docker top` and the signal needs none: a health check's exec,
  // stopped with the rest, that Docker then killed for taking too long. The main process must not
  // be one of those, and nothing else may have gone wrong.
  const failures = stderr.trim().split('\n').filter(Boolean)
  const gone = failures.flatMap((line) => /^kill: \((\d+)\): No such process$/.exec(line.trim())?.[1] ?? [])
  const after = await processOf(container)
  if (
    failures.length === 0 ||
    gone.length < failures.length ||
    gone.includes(String(main.pid)) ||
    after.pid !== main.pid ||
    after.restarts !== main.restarts
  )
    throw new Error(`could not send SIG${signal} to ${container}'s processes: ${stderr.trim()}`)
}

/** Every process of a container stopped where it is (SIGSTOP): a hung instance. */
export const freeze = (container: string): Promise<void> => signalProcesses(container, 'STOP')

/** A frozen container's processes going on (SIGCONT); one no longer running is left as it is. */
export async function thaw(container: string): Promise<void> {
  if ((await processOf(container)).pid > 0) await signalProcesses(container, 'CONT')
}

/** The named volume a service keeps its data in (its path in policy.stateful), by its Docker name, as it runs now. */
export async function dataVolumeOf(service: string): Promise<string> {
  const path = policy.stateful[service]
  if (path === undefined) throw new Error(`policy.stateful names no data path for ${service}`)
  const { stdout } = await docker([
    'inspect',
    '--format',
    `{{range .Mounts}}{{if eq .Destination "${path}"}}{{.Name}}{{end}}{{end}}`,
    await runningContainerOf(service),
  ])
  const volume = stdout.trim()
  if (volume === '') throw new Error(`${service} keeps no named volume at ${path}`)
  return volume
}
