// A container's CPU limit, read and judged by the kernel's own counters rather than by a share of
// a CPU that other work on a shared machine also wants: the CFS bandwidth controller counts every
// period in which the cgroup ran and every one in which it used up its quota, and those counts
// hold whatever else the machine is doing.
import { getContainerRuntimeClient } from 'testcontainers'
import { docker, runHelper } from './docker.ts'

/** The cgroup's cumulative CPU counters, as the engine reads them (the stats API, cgroup v1 or v2). */
export interface CpuCounters {
  /** CPU time the cgroup used, in nanoseconds. */
  usageNs: number
  /** Enforcement periods in which the cgroup had work to run. */
  periods: number
  /** Periods in which it used up its quota and was held back until the next one. */
  throttledPeriods: number
}

interface EngineStats {
  cpu_stats: {
    cpu_usage: { total_usage: number }
    throttling_data: { periods: number; throttled_periods: number }
  }
}

/** From the engine, not from /sys on this host: the engine may be elsewhere, or rootless. */
export async function cpuCounters(container: string): Promise<CpuCounters> {
  const client = await getContainerRuntimeClient()
  const stats = (await client.container.dockerode
    .getContainer(container)
    .stats({ stream: false, 'one-shot': true })) as unknown as EngineStats
  const { cpu_usage, throttling_data } = stats.cpu_stats
  return {
    usageNs: cpu_usage.total_usage,
    periods: throttling_data.periods,
    throttledPeriods: throttling_data.throttled_periods,
  }
}

/** A container's CPU limit as Docker runs it, in CPUs (0: none), and the `docker update` flags that set it. */
export async function cpuLimitOf(
  container: string,
): Promise<{ cpus: number; periodUs: number; flags: (cpus: number) => string[] }> {
  const format = '{{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}}'
  const { stdout } = await docker(['inspect', '--format', format, container])
  const [nanoCpus = 0, quota = 0, period = 0] = stdout.trim().split(' ').map(Number)
  // `deploy.resources.limits.cpus` becomes NanoCpus; `cpu_quota` sets the quota itself. Docker
  // refuses to mix the two on one container, so the limit is changed the way it was given.
  const periodUs = period > 0 ? period : 100_000
  if (nanoCpus > 0) return { cpus: nanoCpus / 1e9, periodUs, flags: (cpus) => ['--cpus', String(cpus)] }
  return {
    cpus: quota > 0 ? quota / periodUs : 0,
    periodUs,
    flags: (cpus) => ['--cpu-quota', String(Math.round(cpus * periodUs)), '--cpu-period', String(periodUs)],
  }
}

/**
 * A container's cgroup, as the cgroupfs driver names it (/docker/<id> unless a parent is set): where
 * a helper nests its own to be held by the container's limits, and where the engine host keeps
 * the container's counters.
 */
async function cgroupOf(container: string): Promise<string> {
  const { exitCode, stdout, stderr } = await docker([
    'inspect',
    '--format',
    '{{.Id}} {{.HostConfig.CgroupParent}}',
    container,
  ])
  const [id = '', parent = ''] = stdout.trim().split(' ')
  // A container that is gone has no cgroup: a path made of nothing would read someone else's.
  if (exitCode !== 0 || !/^[0-9a-f]{64}$/.test(id))
    throw new Error(`no cgroup for container ${container}: ${stderr.trim() || 'docker inspect named no id'}`)
  const driver = (await docker(['info', '--format', '{{.CgroupDriver}}'])).stdout.trim()
  if (driver !== 'cgroupfs')
    throw new Error(`reaching a container's cgroup from outside needs the cgroupfs driver; this engine runs ${driver}`)
  return `${parent === '' ? '/docker' : parent}/${id}`
}

/**
 * Busy work inside a container's cgroup, from outside it: a helper container whose cgroup is a
 * child of the target's, so the target's quota holds it and the target's counters count it,
 * whatever the target's image has in it (a distroless one has no shell to loop in).
 */
export async function busyInside(container: string, image: string, seconds: number, loops: number): Promise<number> {
  const loop = `timeout ${seconds} sh -c 'while :; do :; done'`
  // Then the helper's own CPU time, from its own cgroup (a child of the container's): the busy
  // work's, apart from whatever the service did meanwhile under the same quota.
  const usage =
    'cat /sys/fs/cgroup/cpuacct/cpuacct.usage 2>/dev/null || cat /sys/fs/cgroup/cpu,cpuacct/cpuacct.usage 2>/dev/null' +
    " || awk '/^usage_usec/ { print $2 * 1000 }' /sys/fs/cgroup/cpu.stat"
  const { exitCode, stdout, stderr } = await runHelper(
    image,
    ['sh', '-c', `for i in $(seq ${loops}); do ${loop} & done; wait; ${usage}`],
    {
      flags: ['--cgroup-parent', await cgroupOf(container)],
      timeoutMs: (seconds + 20) * 1000,
    },
  )
  const usedNs = Number(stdout.trim().split('\n').at(-1))
  if (exitCode !== 0 || !Number.isFinite(usedNs))
    throw new Error(`the busy helper in ${container}'s cgroup failed: ${stderr.trim() || stdout.trim()}`)
  return usedNs
}

export interface MemoryCounters {
  /** Processes the kernel killed in this cgroup for going past a memory limit. */
  oomKills: number
  /** Times the cgroup's usage hit its own limit: a kill that came from the host running out counts none. */
  limitHits: number
  /** The most memory the cgroup ever used, in bytes. */
  maxUsageBytes: number
}

/**
 * Each container's memory counters (cgroup v1): its cgroup's oom_kill count, how often it hit its
 * limit (memory.failcnt) and its peak use, read on the engine host by one helper with the memory
 * hierarchy mounted read-only, so the containers' images need no shell or awk of their own. A
 * counter that cannot be read (cgroup v2 has none of these files) is no count at all, never 0.
 */
export async function memoryCountersOf(containers: readonly string[], image: string): Promise<MemoryCounters[]> {
  const paths = await Promise.all(containers.map((container) => cgroupOf(container)))
  const script = paths.map(
    (path) =>
      `echo "$(awk '/^oom_kill /{print $2}' /memcg${path}/memory.oom_control) $(cat /memcg${path}/memory.failcnt) $(cat /memcg${path}/memory.max_usage_in_bytes)"`,
  )
  const { stdout, stderr } = await runHelper(image, ['sh', '-c', script.join('; ')], {
    flags: ['-v', '/sys/fs/cgroup/memory:/memcg:ro'],
  })
  const lines = stdout.trim().split('\n')
  return containers.map((container, index) => {
    const line = lines[index] ?? ''
    if (!/^\d+ \d+ \d+$/.test(line))
      throw new Error(`could not read ${container}'s memory counters: ${stderr.trim() || line || 'no answer'}`)
    const [oomKills = 0, limitHits = 0, maxUsageBytes = 0] = line.split(' ').map(Number)
    return { oomKills, limitHits, maxUsageBytes }
  })
}

/**
 * How a CPU limit held while `busySeconds` of busy work ran, from the counters before and after.
 * In every period the cgroup may use its quota and no more, so the CPU it used cannot exceed
 * periods × quota; the kernel charges in slices, so a period can run over by a little (10 % and
 * one period allowed). The busy work must have been held back in at least half of its periods and
 * used at least half its quota over them: that is the work itself meeting the limit, not some
 * other process of the container (a health probe) meeting it once, nor a helper that ran
 * somewhere the limit does not reach.
 */
export function quotaVerdict(
  before: CpuCounters,
  after: CpuCounters,
  limit: { cpus: number; periodUs: number; busySeconds: number },
  /** The busy work's own CPU time (busyInside's), in ns. */
  busyNs: number,
) {
  const periods = after.periods - before.periods
  const throttledPeriods = after.throttledPeriods - before.throttledPeriods
  const usedNs = after.usageNs - before.usageNs
  const quotaNs = limit.cpus * limit.periodUs * 1000
  const busyPeriods = (limit.busySeconds * 1e6) / limit.periodUs
  return {
    figures: {
      periods,
      throttledPeriods,
      usedMs: Math.round(usedNs / 1e6),
      quotaMsPerPeriod: quotaNs / 1e6,
      usedOfAllowed: periods > 0 ? Number((usedNs / (periods * quotaNs)).toFixed(3)) : 0,
      busyWorkMs: Math.round(busyNs / 1e6),
    },
    verdict: {
      heldBack: throttledPeriods >= busyPeriods / 2,
      // The busy work itself, not the service's own work under the same quota: a low quota is
      // reached by the service's own health probe alone.
      reachedQuota: busyNs >= (busyPeriods * quotaNs) / 2,
      withinQuota: usedNs <= periods * quotaNs * 1.1 + quotaNs,
    },
  }
}
