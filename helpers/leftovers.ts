import { docker } from './docker.ts'
import { RUN_LABEL } from './labels.ts'

/** Every container, network, volume and image of one run that still exists, as "kind name" lines. */
export async function leftoversOf(runId: string): Promise<string[]> {
  const filter = ['--filter', `label=${RUN_LABEL}=${runId}`]
  const lists = await Promise.all([
    docker(['ps', '-a', ...filter, '--format', 'container {{.Names}}']),
    docker(['network', 'ls', ...filter, '--format', 'network {{.Name}}']),
    docker(['volume', 'ls', ...filter, '--format', 'volume {{.Name}}']),
    docker(['image', 'ls', ...filter, '--format', 'image {{.Repository}}:{{.Tag}}']),
  ])
  return lists.flatMap(({ stdout }) => stdout.split('\n').filter(Boolean))
}
