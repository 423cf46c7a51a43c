// Resource limits as the running containers carry them (docker inspect), against the guide's
// table: what is declared is only a promise until the engine applies it.
import { beforeEach, describe, expect, it } from 'vitest'
import { policy, type Resources } from '../fixtures/policy.ts'
import { docker } from '../helpers/docker.ts'
import { credential, failIfDown, stack } from '../helpers/stack.ts'
import { recordFigures } from '../helpers/figures.ts'
import { runFromEnv } from '../helpers/run.ts'
import { cpuScaleOf, reservedByTasks, taskReservations, untilPendingForResources } from '../helpers/swarm-target.ts'
import { memoryBytes } from '../helpers/units.ts'

interface Applied {
  memory: number
  nanoCpus: number
  memoryReservation: number
  cpuShares: number
}

async function applied(container: string): Promise<Applied> {
  const format =
    '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.MemoryReservation}} {{.HostConfig.CpuShares}}'
  const { stdout } = await docker(['inspect', '--format', format, container])
  const [memory = 0, nanoCpus = 0, memoryReservation = 0, cpuShares = 0] = stdout.trim().split(' ').map(Number)
  // Swarm's reservations are its scheduler's, not the container's: the task carries them.
  if (stack().target === 'swarm')
    return { memory, nanoCpus, memoryReservation: (await taskReservations(container)).memory, cpuShares }
  return { memory, nanoCpus, memoryReservation, cpuShares }
}

const bytes = (memory: string | undefined): number | undefined =>
  memory === undefined ? undefined : memoryBytes(memory)

/** Each container of every service the guide's table names, with what it was given and what it runs with. */
async function replicasOf(
  pick: (limits: Resources | undefined, reservations: Resources | undefined, found: Applied) => object,
) {
  const expected: Record<string, object> = {}
  const found: Record<string, object> = {}
  for (const [service, { limits, reservations }] of Object.entries(policy.resources)) {
    for (const [index, id] of (stack().containers[service] ?? []).entries()) {
      const running = await applied(id)
      const wanted: Applied = {
        memory: bytes(limits?.memory) ?? running.memory,
        nanoCpus: limits?.cpus === undefined ? running.nanoCpus : limits.cpus * 1e9,
        memoryReservation: bytes(reservations?.memory) ?? running.memoryReservation,
        cpuShares: running.cpuShares,
      }
      expected[`${service}-${index + 1}`] = pick(limits, reservations, wanted)
      found[`${service}-${index + 1}`] = pick(limits, reservations, running)
    }
  }
  return { expected, found }
}

describe('resource limits', () => {
  beforeEach(failIfDown)

  const reservedBy = stack().target === 'swarm' ? 'and its Swarm task the' : 'and'
  it(`[RL-2] every running container carries the guide’s memory and CPU limits ${reservedBy} memory reservation`, async () => {
    const { expected, found } = await replicasOf((_limits, _reservations, { memory, nanoCpus, memoryReservation }) => ({
      memory,
      nanoCpus,
      memoryReservation,
    }))
    expect(Object.keys(found), 'no container of a service the guide sets limits for').not.toEqual([])
    expect(found).toEqual(expected)
  })

  const inForce =
    stack().target === 'swarm'
      ? 'in Swarm’s scheduler: each task carries the guide’s (scaled to fit a smaller node), and one the node cannot give waits pending'
      : 'in the running containers'
  it(`[RL-2] the guide’s CPU reservations are in force ${inForce}`, async () => {
    if (stack().target === 'swarm') {
      // Swarm's rule: a CPU reservation is what its scheduler places a task by. Each running
      // task carries its service's, and a task that reserves more than the node has left is not
      // placed at all: it waits, pending, for room that never comes.
      const cpuScale = cpuScaleOf(runFromEnv().runDir)
      recordFigures('RL-2', { cpuReservationScale: cpuScale })
      const { declared, carried, left } = await reservedByTasks(stack().containers, cpuScale)
      expect(
        carried,
        `a running task does not carry the guide's CPU reservation${cpuScale < 1 ? ` (scaled by ${cpuScale.toFixed(2)} to fit the node)` : ''}`,
      ).toEqual(declared)
      await untilPendingForResources(stack().project, left, credential('TOOLS_IMAGE'))
      return
    }
    // Docker has one knob a CPU reservation could become outside Swarm: CPU shares, relative
    // weight under contention. A reservation that reaches none of it is declared, not applied.
    const { found } = await replicasOf((_limits, reservations, { cpuShares }) => ({
      reserved: reservations?.cpus ?? 0,
      inForce: reservations?.cpus === undefined || cpuShares > 0,
    }))
    const notApplied = Object.entries(found).filter(([, value]) => !(value as { inForce: boolean }).inForce)
    expect(
      notApplied.map(([replica]) => replica),
      'CPU reservation declared but nothing at runtime carries it (HostConfig.CpuShares is 0)',
    ).toEqual([])
  })

  it('[RL-4] every running container has a memory limit', async () => {
    const unlimited = (
      await Promise.all(
        Object.entries(stack().containers).flatMap(([service, ids]) =>
          ids.map(async (id) => ((await applied(id)).memory > 0 ? [] : [service])),
        ),
      )
    ).flat()
    expect(unlimited).toEqual([])
  })
})
