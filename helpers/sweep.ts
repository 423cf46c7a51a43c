import { docker } from './docker.ts'
import { OWNER_LABEL, ownerIsGone, RUN_LABEL } from './labels.ts'

export interface SweepResult {
  containers: number
  networks: number
  volumes: number
  images: number
}

type Kind = 'container' | 'network' | 'volume' | 'image'
type Selector = { run: string } | 'orphans' | 'all'

async function labelled(kind: Kind): Promise<{ id: string; run: string; owner: string }[]> {
  const list = kind === 'container' ? ['ps', '-a'] : [kind, 'ls']
  // `docker image ls` has no .Label for its format: the labels are read from the images themselves.
  const format =
    kind === 'image'
      ? '{{.ID}}'
      : `{{.${kind === 'volume' ? 'Name' : 'ID'}}}\t{{.Label "${RUN_LABEL}"}}\t{{.Label "${OWNER_LABEL}"}}`
  const { exitCode, stdout, stderr } = await docker([...list, '--filter', `label=${RUN_LABEL}`, '--format', format])
  if (exitCode !== 0) throw new Error(`docker ${list.join(' ')} failed: ${stderr.trim()}`)
  if (kind === 'image') return imageLabels([...new Set(stdout.split('\n').filter(Boolean))])
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
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
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', run = '', owner = ''] = line.split('\t')
      return { id, run, owner }
    })
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
  const result: SweepResult = { containers: 0, networks: 0, volumes: 0, images: 0 }
  const removals: [Kind, string[], keyof SweepResult][] = [
    ['container', ['rm', '-f', '-v'], 'containers'],
    ['network', ['network', 'rm'], 'networks'],
    ['volume', ['volume', 'rm', '-f'], 'volumes'],
    ['image', ['image', 'rm', '-f'], 'images'],
  ]
  for (const [kind, remove, counter] of removals) {
    const ids = (await labelled(kind)).filter((item) => selected(selector, item)).map((item) => item.id)
    if (ids.length === 0) continue
    const { exitCode, stderr } = await docker([...remove, ...ids])
    if (exitCode !== 0) throw new Error(`sweep could not remove every ${kind}: ${stderr.trim()}`)
    result[counter] = ids.length
  }
  return result
}

export function describeSweep({ containers, networks, volumes, images }: SweepResult): string | null {
  if (containers + networks + volumes + images === 0) return null
  return `${containers} containers, ${networks} networks, ${volumes} volumes${images === 0 ? '' : `, ${images} images`}`
}
