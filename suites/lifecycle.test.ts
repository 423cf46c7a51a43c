import { beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { redisReplies } from '../helpers/probes.ts'
import {
  containerOf,
  credential,
  failIfDown,
  stack,
  stackBroker,
  stackDatabase,
  stateOf,
  reachable,
} from '../helpers/stack.ts'

describe('topology and lifecycle', () => {
  beforeEach(({ task }) => {
    // The start-up claim itself says why the stack did not come up; the rest are blocked by it.
    if (!task.name.includes('every service')) failIfDown()
  })

  it('[LC-1] every service comes up: each replica healthy, each one-shot service done with exit 0', async () => {
    // The reason is the assertion's message: vitest would shorten it inside the diff.
    expect(stack().failure, `the stack did not come up: ${stack().failure ?? ''}`).toBeNull()
    const states = async (service: string): Promise<string[]> =>
      Promise.all((stack().containers[service] ?? []).map((container) => stateOf(container)))
    const found = Object.fromEntries(
      await Promise.all(stack().services.map(async (service) => [service, await states(service)] as const)),
    )
    const expected = Object.fromEntries(
      stack().services.map((service) => [
        service,
        Array<string>(policy.replicas[service] ?? 1).fill(policy.oneShot.includes(service) ? 'exited 0' : 'healthy'),
      ]),
    )
    expect(found).toEqual(expected)
  })

  it('[LC-1] postgres takes a write and serves it back to the configured user, in the event store', async () => {
    await using client = await stackDatabase()
    // A temporary table: this session's own, gone when it ends, seen by no other test.
    await client.query('CREATE TEMPORARY TABLE lifecycle_probe (written text)')
    await client.query('INSERT INTO lifecycle_probe VALUES ($1)', ['lifecycle'])
    const { rows } = await client.query(
      'SELECT written, current_database() AS database, current_user AS login FROM lifecycle_probe',
    )
    expect(rows).toEqual([
      { written: 'lifecycle', database: credential('DATABASE_NAME'), login: credential('DATABASE_USER') },
    ])
  })

  it('[LC-1] rabbitmq takes and delivers a message for the configured user', async () => {
    await using connection = await stackBroker()
    const channel = await connection.createChannel()
    const { queue } = await channel.assertQueue('', { exclusive: true })
    channel.sendToQueue(queue, Buffer.from('lifecycle'))
    await expect
      .poll(async () => (await channel.get(queue, { noAck: true })) !== false, {
        timeout: 5_000,
        message: 'the message never arrived',
      })
      .toBe(true)
  })

  it('[LC-1] redis serves commands to a client with its password', async () => {
    const endpoint = await reachable(containerOf('redis'), 'backend', 6379)
    expect(await redisReplies(endpoint, [['AUTH', credential('REDIS_PASSWORD')], ['PING']])).toEqual(['+OK', '+PONG'])
  })
})
