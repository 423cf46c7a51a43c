import { docker } from './docker.ts'
import { OWNER_LABEL, ownerIsGone, RUN_LABEL } from './labels.ts'
import { leaveSwarm, madeSwarm } from './swarm-target.ts'

export interface SweepResult {
  /** Swarm services (BANYAN_TARGET=swarm): removed first, or Swarm starts their containers again. */
  services: number
  containers: number
  networks: number
  volumes: number
  images: number
  /** A swarm a run made and never left (it was killed): left, as the run would have. */
  swarms: number
}

type Kind = 'service' | 'container' | 'network' | 'volume' | 'image'
type Selector = { run: string } | 'orphans' | 'all'

async function labelled(kind: Kind): Promise<{ id: string; run: string; owner: string }[]> {
  if (kind === 'service') return serviceLabels()
  const list = kind === 'container' ? ['ps', '-a'] : [kind, 'ls']
  // `docker image ls` has no .Label for its format: the labels are read from the images themselves.
  const format =
    kind === 'image'
      ? '{{.ID}}'
      : `{{.${kind === 'volume' ? 'Name' : 'ID'}}}\t{{.Label "${RUN_LABEL}"}}\t{{.Label "${OWNER_LABEL}"}}`
  const { exitCode, stdout, stderr } = await docker([...list, '--filter', `label=${RUN_LABEL}`, '--format', format])
  if (exitCode !== 0) throw new Error(`docker ${list.join(' ')} failed: ${stderr.trim()}`)
  if (kind === 'image') return imageLabels([...new Set(stdout.split('\n').filter(Boolean))])
  return labelLines(stdout)
}

/** `id<TAB>run<TAB>owner` lines, as every listing here formats them. */
function labelLines(stdout: string): { id: string; run: string; owner: string }[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', run = '', owner = ''] = line.split('\t')
      return { id, run, owner }
    })
}

async function imageLabels(ids: readonly string[]): Promise<{ id: string; run: string; owner: string }[]> {
  if (ids.length === 0) return []
  const format = `{{.Id}}\t{{index .Config.Labels "${RUN_LABEL}"}}\t{{index .Config.Labels "${OWNER_LABEL}"}}`
  const { exitCode, stdout, stderr } = await docker(['image', 'inspect', '--format', format, ...ids])
  if (exitCode !== 0) throw new Error(`docker image inspect failed: ${stderr.trim()}`)
  return labelLines(stdout)
}

/** The labelled Swarm services and their labels; none where the engine manages no swarm. */
async function serviceLabels(): Promise<{ id: string; run: string; owner: string }[]> {
  const listed = await docker(['service', 'ls', '--filter', `label=${RUN_LABEL}`, '--format', '{{.ID}}'])
  if (listed.exitCode !== 0) {
    if (/not a swarm manager/.test(listed.stderr)) return []
    throw new Error(`docker service ls failed: ${listed.stderr.trim()}`)
  }
  const ids = listed.stdout.split('\n').filter(Boolean)
  if (ids.length === 0) return []
  const format = `{{.ID}}\t{{index .Spec.Labels "${RUN_LABEL}"}}\t{{index .Spec.Labels "${OWNER_LABEL}"}}`
  const { exitCode, stdout, stderr } = await docker(['service', 'inspect', '--format', format, ...ids])
  if (exitCode !== 0) throw new Error(`docker service inspect failed: ${stderr.trim()}`)
  return labelLines(stdout)
}

function selected(selector: Selector, item: { run: string; owner: string }): boolean {
  if (selector === 'all') return true
  if (selector === 'orphans') return ownerIsGone(item.owner)
  return item.run === selector.run
}

/**
 * Removes the labelled containers, then networks, volumes and images (in that order, since a
 * network, volume or image in use cannot go) of one run, of runs whose owner process is gone, or
 * all of them. The images are the new versions an update check built from a service's own.
 */
export async function sweep(selector: Selector): Promise<SweepResult> {
  const result: SweepResult = { services: 0, containers: 0, networks: 0, volumes: 0, images: 0, swarms: 0 }
  const removals: [Kind, string[], keyof SweepResult][] = [
    ['service', ['service', 'rm'], 'services'],
    ['container', ['rm', '-f', '-v'], 'containers'],
    ['network', ['network', 'rm'], 'networks'],
    ['volume', ['volume', 'rm', '-f'], 'volumes'],
    ['image', ['image', 'rm', '-f'], 'images'],
  ]
  for (const [kind, remove, counter] of removals) {
    const ids = (await labelled(kind)).filter((item) => selected(selector, item)).map((item) => item.id)
    if (ids.length === 0) continue
    const { exitCode, stderr } = await docker([...remove, ...ids])
    // A removed service's containers are being removed by Swarm too: one already on its way out is gone.
    const failures = stderr
      .split('\n')
      .filter(
        (line) => line.trim() !== '' && !/removal of container \S+ is already in progress|No such container/.test(line),
      )
    if (exitCode !== 0 && failures.length > 0)
      throw new Error(`sweep could not remove every ${kind}: ${failures.join(' ').trim()}`)
    result[counter] = ids.length
  }
  const swarm = await madeSwarm()
  if (swarm !== null && selected(selector, swarm)) {
    await leaveSwarm(swarm.membership)
    result.swarms = 1
  }
  return result
}

export function describeSweep({ services, containers, networks, volumes, images, swarms }: SweepResult): string | null {
  if (services + containers + networks + volumes + images + swarms === 0) return null
  return `${services === 0 ? '' : `${services} services, `}${containers} containers, ${networks} networks, ${volumes} volumes${images === 0 ? '' : `, ${images} images`}${swarms === 0 ? '' : ', and left the swarm a run had made'}`
}

/**
 * How long a run's sweep goes on finding nothing before it is done. Stopping the processes that
 * create things does not stop the engine: a create it had already been asked for (a Compose `up`
 * interrupted by Ctrl-C) finishes after the request's sender is gone, and a CI run saw two gateway
 * containers appear after the one sweep had looked.
 */
const SETTLED_MS = 3_000
/** A run whose things go on appearing for this long has something of its own still running. */
const SWEEP_GIVES_UP_MS = 60_000

/** A run's sweep, again and again until a pass has found nothing for SETTLED_MS: what it removed in all. */
export async function sweepRun(run: string): Promise<SweepResult> {
  const total: SweepResult = { services: 0, containers: 0, networks: 0, volumes: 0, images: 0, swarms: 0 }
  const started = Date.now()
  let lastFound = Date.now()
  for (;;) {
    const pass = await sweep({ run })
    for (const key of Object.keys(total) as (keyof SweepResult)[]) total[key] += pass[key]
    if (describeSweep(pass) !== null) lastFound = Date.now()
    else if (Date.now() - lastFound >= SETTLED_MS) return total
    if (Date.now() - started > SWEEP_GIVES_UP_MS)
      throw new Error(
        `run ${run}'s containers, networks or volumes went on appearing for ${SWEEP_GIVES_UP_MS / 1000} s of sweeping`,
      )
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}
