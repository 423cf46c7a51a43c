// LB-2's measure: requests sent one at a time through nginx, counted from outside at each gateway
// replica (helpers/counting.ts), must reach every replica and spread evenly. In a file of its own
// because it is taken twice on Swarm: as the stack came up, and once Swarm has replaced every task.
import { expect } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { countRequests } from './counting.ts'
import { docker } from './docker.ts'
import { recordFigures } from './figures.ts'
import { addressOf, containerOf, replicasOf } from './stack.ts'
import { burst, evenSpread, unanswered } from './traffic.ts'

/**
 * The significance of the spread test: an even spread is refuted only when p falls below it.
 * 0.001, so a gate that runs every day does not fail once a year by chance; a replica left out
 * (p < 1e-60 at 300 requests) or one taking twice the others' share (p < 1e-8) still fails.
 */
export const SIGNIFICANCE = 0.001
export const REQUESTS = 300

/**
 * Each container's replica number, as Compose numbers them (1, 2, 3), or a Swarm task its slot
 * (`<stack>_<service>.<slot>.<task id>`): Swarm's containers carry no Compose number, and without
 * one every replica's count would land under the same name.
 */
async function replicaNumber(container: string): Promise<string> {
  const format =
    '{{index .Config.Labels "com.docker.compose.container-number"}} {{index .Config.Labels "com.docker.swarm.task.name"}}'
  // Not trimmed first: with no Compose number the line starts with the space between the two.
  const [number = '', task = ''] = (await docker(['inspect', '--format', format, container])).stdout
    .replace(/\n$/, '')
    .split(' ')
  const found = number || (/\.(\d+)\.[^.]+$/.exec(task)?.[1] ?? '')
  if (found === '') throw new Error(`container ${container} carries neither a Compose replica number nor a Swarm slot`)
  return found
}

/**
 * Sends LB-2's requests to `health` through nginx and holds them to its promise. A second measure
 * in one run records its figures with a prefix of its own (LB-2's figures of a run are merged).
 */
export async function spreadsOverEveryReplica(health: string, prefix = ''): Promise<void> {
  const replicas = await replicasOf('api-gateway')
  expect(replicas.length, 'the stack runs no api-gateway replica to balance over').toBeGreaterThan(0)
  await using counters = await countRequests(
    replicas,
    policy.gatewayPort,
    await addressOf(containerOf('nginx'), 'frontend'),
  )
  // One request at a time: every replica is then equally idle, and least_conn falls back to
  // round robin among them, so the split must be even. Under concurrent load it must not be:
  // least_conn sends more to whichever replica answers faster (measured here, 130, 90 and 80 of
  // 300 with three clients on two cores), which is LB-3's promise, checked there.
  const replies = await burst(health, REQUESTS, 1)
  const counts = await counters.read()
  const perReplica: Record<string, number> = Object.fromEntries(
    await Promise.all(
      replicas.map(
        async (replica) => [`replica${await replicaNumber(replica)}Requests`, counts[replica] ?? 0] as const,
      ),
    ),
  )
  const spread = evenSpread(Object.values(perReplica))
  const failed = unanswered(replies)
  const figures: Record<string, number> = {
    requests: REQUESTS,
    failed: failed.length,
    ...perReplica,
    chiSquare: Number(spread.statistic.toFixed(3)),
    pValue: Number(spread.pValue.toFixed(4)),
  }
  recordFigures(
    'LB-2',
    Object.fromEntries(
      Object.entries(figures).map(([key, value]) => [
        prefix === '' ? key : `${prefix}${key[0]?.toUpperCase() ?? ''}${key.slice(1)}`,
        value,
      ]),
    ),
  )
  expect(
    failed.map(({ status, error }) => error ?? `HTTP ${status}`),
    'requests failed',
  ).toEqual([])
  // Every request the client sent reached one replica: none was answered by nginx alone.
  const received = Object.values(counts).reduce((sum, count) => sum + count, 0)
  expect(received, 'requests the replicas received, of those sent').toBe(REQUESTS)
  expect(
    spread.pValue,
    `spread ${JSON.stringify(perReplica)} is uneven: chi-square ${spread.statistic.toFixed(2)}`,
  ).toBeGreaterThanOrEqual(SIGNIFICANCE)
}
