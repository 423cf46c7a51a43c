// The stack file `docker stack deploy` takes, derived from what Compose resolved (`docker compose
// config --format json`): the same deployment, in the stricter form Swarm reads, and a line for
// every change, for the run's report. Swarm is the second target (issue 17); this is its first
// part, the file, unit-tested here and not yet deployed by any run.
import type { ComposeModel, ComposeResources, ComposeService } from './compose.ts'

/** What Compose's resolved model may hold that the suite's ComposeModel does not name. */
type Mount = NonNullable<ComposeService['volumes']>[number] & { bind?: unknown; volume?: unknown }
type Resolved = Omit<ComposeService, 'volumes'> & {
  depends_on?: Record<string, { condition?: string }>
  container_name?: string
  volumes?: Mount[]
}

export interface StackFile {
  /** The file to give `docker stack deploy -c`, as an object (JSON is YAML). */
  stack: Record<string, unknown>
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

/** A mount without Compose's own options (`bind.create_host_path`, `volume: {}`), which the stack file's schema refuses. */
function mountForSwarm(mount: Mount): Mount {
  const kept = { ...mount }
  delete kept.bind
  delete kept.volume
  return kept
}

function service(name: string, declared: Resolved, changes: string[]): Record<string, unknown> {
  const { build, profiles, depends_on, restart, container_name, ports, networks, volumes, deploy, ...rest } = declared
  if (profiles !== undefined) changes.push(`${name}: profiles removed (Compose chose the services already)`)
  if (build !== undefined) changes.push(`${name}: build removed; the run builds ${declared.image ?? name} first`)
  if (container_name !== undefined) changes.push(`${name}: container_name removed (a Swarm task is named by Swarm)`)
  const waits = Object.entries(depends_on ?? {})
  if (waits.length > 0)
    changes.push(
      `${name}: depends_on as a list (${waits.map(([on, { condition = 'service_started' }]) => `${on} ${condition}`).join(', ')}): Swarm starts services in no order and waits for no condition`,
    )
  const condition = RESTART_CONDITION[restart ?? 'no'] ?? 'any'
  if (restart !== undefined)
    changes.push(`${name}: restart: ${restart} as deploy.restart_policy.condition: ${condition}`)
  const published = (ports ?? []).map((port) => ({ ...port, mode: 'host' }))
  if (published.length > 0)
    changes.push(
      `${name}: ports published in host mode (${published.map(({ target }) => target).join(', ')}): this kernel has no IPVS for the routing mesh`,
    )
  const bindOptions = (volumes ?? []).some((volume) => volume.bind !== undefined || volume.volume !== undefined)
  if (bindOptions) changes.push(`${name}: volumes without Compose's bind and volume options (create_host_path)`)
  const { resources: declaredResources, ...deployRest } = deploy ?? {}
  const limits = resources(declaredResources?.limits, name, 'limits', changes)
  const reservations = resources(declaredResources?.reservations, name, 'reservations', changes)
  return {
    ...rest,
    ...(waits.length > 0 ? { depends_on: waits.map(([on]) => on) } : {}),
    ...(published.length > 0 ? { ports: published } : {}),
    ...(networks === undefined ? {} : { networks: Object.keys(networks) }),
    ...(volumes === undefined ? {} : { volumes: volumes.map(mountForSwarm) }),
    deploy: {
      ...deployRest,
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
export function stackFileOf(model: ComposeModel): StackFile {
  const changes: string[] = ['name removed: the stack is named on `docker stack deploy`']
  const services = Object.fromEntries(
    Object.entries(model.services).map(([name, declared]) => [name, service(name, declared as Resolved, changes)]),
  )
  const networks = Object.fromEntries(
    Object.entries(model.networks ?? {}).map(([name, network]): [string, object] => {
      // An external network is the deployment's, by its own name.
      if (network.external === true) return [name, network]
      const { name: _named, driver = 'bridge', ...rest } = network
      changes.push(`network ${name}: ${driver} as an attachable overlay, named by the stack`)
      return [name, { ...rest, driver: 'overlay', attachable: true }]
    }),
  )
  const volumes = Object.fromEntries(
    Object.entries(model.volumes ?? {}).map(([name, volume]): [string, object] => {
      if (volume.external === true) return [name, volume]
      const { name: _named, ...rest } = volume
      changes.push(`volume ${name}: named by the stack`)
      return [name, rest]
    }),
  )
  return { stack: { services, networks, volumes }, changes }
}
