// The stack file `docker stack deploy` takes, derived from what Compose resolved (`docker compose
// config --format json`): the same deployment, in the stricter form Swarm reads, and a line for
// every change, for the run's report. The Swarm target (BANYAN_TARGET=swarm) deploys it
// (helpers/swarm-target.ts); this part is pure, and unit-tested.
import { policy } from '../fixtures/policy.ts'
import type { ComposeModel, ComposeResources, ComposeService } from './compose.ts'
import { OWNER_LABEL, RUN_LABEL } from './labels.ts'

/** What Compose's resolved model may hold that the suite's ComposeModel does not name. */
type Mount = NonNullable<ComposeService['volumes']>[number] & { bind?: unknown; volume?: unknown }
type Resolved = Omit<ComposeService, 'volumes'> & {
  depends_on?: Record<string, { condition?: string }>
  container_name?: string
  volumes?: Mount[]
  labels?: Record<string, string>
}

/** What the stack is deployed as, and on what: the names its labels carry and the node it must fit. */
export interface SwarmTarget {
  /** The stack's name (the run id), as Compose's project name would be. */
  project: string
  /** The CPUs the node has: CPU reservations that add up to more leave tasks pending for ever. */
  nodeCpus: number
}

/**
 * The labels Compose gives what it creates, which the suite finds a stack's containers, networks
 * and volumes by: the stack file gives Swarm's the same, so one way of looking serves both targets.
 */
export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
} as const

/** The share of the node's CPUs the stack's reservations may take together, when they must be scaled to fit. */
const FIT_SHARE = 0.75

export interface StackFile {
  /** The file to give `docker stack deploy -c`, as an object (JSON is YAML). */
  stack: Record<string, unknown>
  /** What every CPU reservation was multiplied by to fit the node (1: as declared). */
  cpuScale: number
  /** What was changed from the Compose model, and why, one line each. */
  changes: string[]
}

/** Compose's restart policies as Swarm's restart_policy conditions. */
const RESTART_CONDITION: Record<string, string> = {
  no: 'none',
  always: 'any',
  'unless-stopped': 'any',
  'on-failure': 'on-failure',
}

function resources(
  given: ComposeResources | undefined,
  service: string,
  kind: string,
  changes: string[],
): object | undefined {
  if (given === undefined) return undefined
  if (typeof given.cpus !== 'number') return given
  changes.push(`${service}: ${kind}.cpus ${given.cpus} as the string "${given.cpus}" (the stack file's schema)`)
  return { ...given, cpus: String(given.cpus) }
}

/** A reservation with its CPUs scaled by `scale` (1: as declared), and the change said. */
function fitted(given: object | undefined, service: string, scale: number, changes: string[]): object | undefined {
  const cpus = (given as { cpus?: string } | undefined)?.cpus
  if (given === undefined || cpus === undefined || scale >= 1) return given
  const scaled = fittedCpus(Number(cpus), scale)
  changes.push(`${service}: reservations.cpus ${cpus} as "${scaled}", to fit the node (see above)`)
  return { ...given, cpus: String(scaled) }
}

/** A CPU reservation scaled to fit: two decimals, and never 0, which Swarm reads as no reservation at all. */
export function fittedCpus(cpus: number, scale: number): number {
  return scale >= 1 ? cpus : Math.max(0.01, Math.floor(cpus * scale * 100) / 100)
}

/** The CPUs the stack's services reserve together: each service's reservation times its replicas. */
export function reservedCpus(model: ComposeModel): number {
  return Object.values(model.services).reduce(
    (sum, { deploy }) => sum + Number(deploy?.resources?.reservations?.cpus ?? 0) * (deploy?.replicas ?? 1),
    0,
  )
}

/** A mount without Compose's own options (`bind.create_host_path`, `volume: {}`), which the stack file's schema refuses. */
function mountForSwarm(mount: Mount): Mount {
  const kept = { ...mount }
  delete kept.bind
  delete kept.volume
  return kept
}

function service(
  name: string,
  declared: Resolved,
  { project }: SwarmTarget,
  cpuScale: number,
  changes: string[],
): Record<string, unknown> {
  const { build, profiles, depends_on, restart, container_name, ports, networks, volumes, deploy, labels, ...rest } =
    declared
  if (profiles !== undefined) changes.push(`${name}: profiles removed (Compose chose the services already)`)
  if (build !== undefined) changes.push(`${name}: build removed; the run builds ${declared.image ?? name} first`)
  if (container_name !== undefined) changes.push(`${name}: container_name removed (a Swarm task is named by Swarm)`)
  const waits = Object.entries(depends_on ?? {})
  if (waits.length > 0)
    changes.push(
      `${name}: depends_on as a list (${waits.map(([on, { condition = 'service_started' }]) => `${on} ${condition}`).join(', ')}): Swarm starts services in no order and waits for no condition`,
    )
  // A one-shot job that started before what it waits for was ready is tried again: Swarm waits
  // for no depends_on condition, so `restart: no` would leave it failed for good.
  const oneShot = policy.oneShot.includes(name) && waits.length > 0
  const condition = oneShot ? 'on-failure' : (RESTART_CONDITION[restart ?? 'no'] ?? 'any')
  if (oneShot)
    changes.push(
      `${name}: restart: ${restart ?? 'no'} as deploy.restart_policy.condition: on-failure: a one-shot job Swarm starts before what it depends on is ready runs again`,
    )
  else if (restart !== undefined)
    changes.push(`${name}: restart: ${restart} as deploy.restart_policy.condition: ${condition}`)
  // Compose resolves a published port as text; the stack file takes a number, and none at all
  // for any free port (Compose's 0).
  const published = (ports ?? []).map(({ published: port, ...rest }) => ({
    ...rest,
    ...(port === undefined || Number(port) === 0 ? {} : { published: Number(port) }),
    mode: 'host',
  }))
  if (published.length > 0)
    changes.push(
      `${name}: ports published in host mode (${published.map(({ target }) => target).join(', ')}): this kernel has no IPVS for the routing mesh`,
    )
  const bindOptions = (volumes ?? []).some((volume) => volume.bind !== undefined || volume.volume !== undefined)
  if (bindOptions) changes.push(`${name}: volumes without Compose's bind and volume options (create_host_path)`)
  const { resources: declaredResources, ...deployRest } = deploy ?? {}
  const limits = resources(declaredResources?.limits, name, 'limits', changes)
  const reservations = fitted(
    resources(declaredResources?.reservations, name, 'reservations', changes),
    name,
    cpuScale,
    changes,
  )
  // The run's labels on the service itself too, so a sweep finds the service and not only its
  // containers (Swarm would start a removed container again).
  const own = Object.fromEntries(
    Object.entries(labels ?? {}).filter(([key]) => key === RUN_LABEL || key === OWNER_LABEL),
  )
  // Compose resolves a reset (`entrypoint: null`: the image's own) as null; the stack file's
  // schema takes no null, and leaving the key out means the same.
  const given = Object.entries(rest as Record<string, unknown>)
  const nulls = given.filter(([, value]) => value === null).map(([key]) => key)
  if (nulls.length > 0)
    changes.push(`${name}: ${nulls.join(', ')} null left out (the image's own, as Compose's null means)`)
  return {
    ...Object.fromEntries(given.filter(([, value]) => value !== null)),
    labels: { ...labels, [COMPOSE_LABELS.project]: project, [COMPOSE_LABELS.service]: name },
    ...(waits.length > 0 ? { depends_on: waits.map(([on]) => on) } : {}),
    ...(published.length > 0 ? { ports: published } : {}),
    ...(networks === undefined ? {} : { networks: Object.keys(networks) }),
    ...(volumes === undefined ? {} : { volumes: volumes.map(mountForSwarm) }),
    deploy: {
      ...deployRest,
      ...(Object.keys(own).length === 0 ? {} : { labels: own }),
      // Swarm's virtual IP needs IPVS, which this kernel lacks: DNS round robin instead.
      endpoint_mode: 'dnsrr',
      ...(limits === undefined && reservations === undefined
        ? {}
        : { resources: { ...(limits ? { limits } : {}), ...(reservations ? { reservations } : {}) } }),
      restart_policy: { condition },
    },
  }
}

/**
 * The Swarm stack file for a resolved Compose model. Networks become attachable overlays (the
 * suite's probe containers join them, as they join the Compose project's); networks and volumes
 * lose the names Compose gave them, so the stack's own name namespaces them; the top-level name
 * goes, since `docker stack deploy` takes it as an argument.
 */
export function stackFileOf(model: ComposeModel, target: SwarmTarget): StackFile {
  const { project, nodeCpus } = target
  const changes: string[] = [
    'name removed: the stack is named on `docker stack deploy`',
    `labels ${Object.values(COMPOSE_LABELS).join(', ')} on the services' containers, networks and volumes: the suite finds a stack's parts by Compose's labels, on either target`,
  ]
  // Swarm places a task only where its CPU reservation is free: reservations that add up to more
  // than the node has leave the rest pending for ever. They are scaled, in proportion, to fit;
  // RL-2's Swarm check shows what a reservation the node cannot give does.
  const reserved = reservedCpus(model)
  const cpuScale = reserved > nodeCpus * FIT_SHARE ? (nodeCpus * FIT_SHARE) / reserved : 1
  if (cpuScale < 1)
    changes.push(
      `CPU reservations scaled by ${cpuScale.toFixed(2)}: the stack reserves ${reserved} CPUs in all and this node has ${nodeCpus}, so Swarm would leave tasks pending`,
    )
  const services = Object.fromEntries(
    Object.entries(model.services).map(([name, declared]) => [
      name,
      service(name, declared as Resolved, target, cpuScale, changes),
    ]),
  )
  const networks = Object.fromEntries(
    Object.entries(model.networks ?? {}).map(([name, network]): [string, object] => {
      // An external network is the deployment's, by its own name.
      if (network.external === true) return [name, network]
      const {
        name: _named,
        driver = 'bridge',
        labels,
        ...rest
      } = network as typeof network & {
        labels?: Record<string, string>
      }
      changes.push(`network ${name}: ${driver} as an attachable overlay, named by the stack`)
      return [
        name,
        {
          ...rest,
          driver: 'overlay',
          attachable: true,
          labels: { ...labels, [COMPOSE_LABELS.project]: project, [COMPOSE_LABELS.network]: name },
        },
      ]
    }),
  )
  const volumes = Object.fromEntries(
    Object.entries(model.volumes ?? {}).map(([name, volume]): [string, object] => {
      if (volume.external === true) return [name, volume]
      const { name: _named, labels, ...rest } = volume as typeof volume & { labels?: Record<string, string> }
      changes.push(`volume ${name}: named by the stack`)
      return [
        name,
        { ...rest, labels: { ...labels, [COMPOSE_LABELS.project]: project, [COMPOSE_LABELS.volume]: name } },
      ]
    }),
  )
  return { stack: { services, networks, volumes }, cpuScale, changes }
}
