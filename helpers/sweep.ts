import { docker } from './docker.ts'
import { OWNER_LABEL, ownerIsGone, RUN_LABEL } from './labels.ts'

export interface SweepResult {
  containers: number
  networks: number
  volumes: number
}

type Kind = 'container' | 'network' | 'volume'
type Selector = { run: string } | 'orphans' | 'all'

async function labelled(kind: Kind): Promise<{ id: string; run: string; owner: string }[]> {
  const list = kind === 'container' ? ['ps', '-a'] : [kind, 'ls']
  const format = `{{.${kind === 'volume' ? 'Name' : 'ID'}}}\t{{.Label "${RUN_LABEL}"}}\t{{.Label "${OWNER_LABEL}"}}`
  const { exitCode, stdout, stderr } = await docker([...list, '--filter', `label=${RUN_LABEL}`, '--format', format])
  if (exitCode !== 0) throw new Error(`docker ${list.join(' ')} failed: ${stderr.trim()}`)
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
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
 * Removes the labelled containers, then networks, then volumes (in that order, since a network
 * or volume in use cannot go) of one run, of runs whose owner process is gone, or all of them.
 */
export async function sweep(selector: Selector): Promise<SweepResult> {
  const result: SweepResult = { containers: 0, networks: 0, volumes: 0 }
  const removals: [Kind, string[], keyof SweepResult][] = [
    ['container', ['rm', '-f', '-v'], 'containers'],
    ['network', ['network', 'rm'], 'networks'],
    ['volume', ['volume', 'rm', '-f'], 'volumes'],
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

export function describeSweep({ containers, networks, volumes }: SweepResult): string | null {
  if (containers + networks + volumes === 0) return null
  return `${containers} containers, ${networks} networks, ${volumes} volumes`
}
