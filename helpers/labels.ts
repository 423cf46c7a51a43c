import { hostname } from 'node:os'

// Everything a run creates carries RUN_LABEL (its run id) and OWNER_LABEL (the host and process
// that owns it). The sweep at start removes what a crashed run left: resources whose owner
// process is gone. The sweep at the end removes this run's own.
export const RUN_LABEL = 'io.banyan-verify.run'
export const OWNER_LABEL = 'io.banyan-verify.owner'

export function ownerOf(pid: number = process.pid): string {
  return `${hostname()}:${pid}`
}

export function runLabels(runId: string, owner: string): Record<string, string> {
  return { [RUN_LABEL]: runId, [OWNER_LABEL]: owner }
}

/** Is the process named by an owner label gone? Owners on other hosts are never judged gone. */
export function ownerIsGone(owner: string): boolean {
  const [host, pidText] = owner.split(':')
  const pid = Number(pidText)
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/** A test's labels (and any others) as `docker run` or `docker volume create` flags. */
export function labelArgs(extra: Record<string, string> = {}): string[] {
  return Object.entries({ ...testLabels(), ...extra }).flatMap(([key, value]) => ['--label', `${key}=${value}`])
}

/**
 * The labels for what a test creates outside compose (testcontainers' own containers). Inside a
 * run the CLI names the run; a test started by hand labels its containers with its own process,
 * so the next run's sweep still finds them if it crashes.
 */
export function testLabels(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return runLabels(env.BANYAN_RUN_ID ?? 'manual', env.BANYAN_OWNER ?? ownerOf())
}
