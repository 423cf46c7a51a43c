import { docker } from './docker.ts'
import { RUN_LABEL } from './labels.ts'

/** Every container, network, volume, image and Swarm service of one run that still exists, as "kind name" lines. */
export async function leftoversOf(runId: string): Promise<string[]> {
  const filter = ['--filter', `label=${RUN_LABEL}=${runId}`]
  const lists = await Promise.all([
    docker(['ps', '-a', ...filter, '--format', 'container {{.Names}}']),
    docker(['network', 'ls', ...filter, '--format', 'network {{.Name}}']),
    docker(['volume', 'ls', ...filter, '--format', 'volume {{.Name}}']),
    docker(['image', 'ls', ...filter, '--format', 'image {{.Repository}}:{{.Tag}}']),
    // Fails, and lists nothing, where the engine manages no swarm: there is no service to leave.
    docker(['service', 'ls', ...filter, '--format', 'service {{.Name}}']),
  ])
  return lists.flatMap(({ exitCode, stdout, stderr }) => {
    if (exitCode !== 0 && !/not a swarm manager/.test(stderr))
      throw new Error(`could not list what run ${runId} left: ${stderr.trim()}`)
    return stdout.split('\n').filter(Boolean)
  })
}
