// One user's way through the whole stack: nginx, a gateway replica, RabbitMQ, user-service, the
// event store, the event exchange, Redis, and back through another replica.
import type { Channel } from 'amqplib'
import { request } from 'undici'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { credential, publishedAddress, failIfDown, stack, stackBroker, stackDatabase } from '../helpers/stack.ts'
import { bearer } from '../helpers/tokens.ts'

interface UserResponse {
  ok: boolean
  user: { id: string; name: string; email: string; version: number }
  servedBy: string
  source?: 'cache' | 'query'
}

describe('a user through the whole stack', () => {
  let nginx: string
  let token: string
  beforeAll(async () => {
    if (stack().failure !== null) return
    nginx = `http://${await publishedAddress('nginx', 80)}`
    token = await bearer(credential('JWT_SECRET'))
  })
  beforeEach(failIfDown)

  const createUser = async (authorization: string) => {
    const { statusCode, body } = await request(`${nginx}/api/users`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.test' }),
    })
    return { statusCode, body: (await body.json()) as UserResponse }
  }

  it('[NI-4] [MB-2] a user created through nginx is stored, published to every subscriber, and read back through another replica', async () => {
    await using connection = await stackBroker()
    // Two subscribers of our own, each with its own queue: each must get its own copy.
    const channel = await connection.createChannel()
    const subscribers = await Promise.all(
      [1, 2].map(async () => {
        const { queue } = await channel.assertQueue('', { exclusive: true })
        await channel.bindQueue(queue, 'banyan.events', 'user.created')
        return queue
      }),
    )

    const created = await createUser(token)
    expect(created.statusCode, JSON.stringify(created.body)).toBe(201)
    const { id } = created.body.user

    const delivered = async (ch: Channel, queue: string): Promise<string[]> => {
      const message = await ch.get(queue, { noAck: true })
      return message === false ? [] : [(JSON.parse(message.content.toString()) as { user: { id: string } }).user.id]
    }
    for (const queue of subscribers) {
      await expect
        .poll(() => delivered(channel, queue), {
          timeout: 10_000,
          message: `subscriber ${queue} never got user.created`,
        })
        .toEqual([id])
    }

    await using db = await stackDatabase()
    const stored = await db.query('SELECT stream_id, version, type FROM events WHERE stream_id = $1', [`user-${id}`])
    expect(stored.rows).toEqual([{ stream_id: `user-${id}`, version: 1, type: 'user.created' }])

    // least_conn over idle replicas takes them in turn: a few reads reach one that did not create it.
    const reads = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const { statusCode, body } = await request(`${nginx}/api/users/${id}`, { headers: { authorization: token } })
        return { statusCode, body: (await body.json()) as UserResponse }
      }),
    )
    expect(reads.map((read) => [read.statusCode, read.body.user.email])).toEqual(
      Array(3).fill([200, 'ada@example.test']),
    )
    expect(reads.map((read) => read.body.servedBy)).toContainEqual(expect.not.stringMatching(created.body.servedBy))
  })

  it('[CF-5] tokens are checked against JWT_SECRET, accepted until JWT_EXPIRATION and refused once older', async () => {
    // The lifetime the run asked for in JWT_EXPIRATION: a stack that ignores it is refuted.
    const expiration = Number(credential('JWT_EXPIRATION'))
    const statusWith = async (authorization: string) => (await createUser(authorization)).statusCode
    expect({
      valid: await statusWith(token),
      // A gateway that expires tokens sooner than the operator asked refuses this one.
      nearlyExpired: await statusWith(
        await bearer(credential('JWT_SECRET'), { issuedSecondsAgo: expiration - 15, validForSeconds: expiration * 10 }),
      ),
      otherSecret: await statusWith(await bearer('not-the-secret-at-all')),
      // Still within its own exp, but issued longer ago than the gateway accepts.
      tooOld: await statusWith(
        await bearer(credential('JWT_SECRET'), { issuedSecondsAgo: expiration + 5, validForSeconds: expiration * 10 }),
      ),
      expired: await statusWith(await bearer(credential('JWT_SECRET'), { issuedSecondsAgo: 60, validForSeconds: 30 })),
    }).toEqual({ valid: 201, nearlyExpired: 201, otherSecret: 401, tooOld: 401, expired: 401 })
  })
})
