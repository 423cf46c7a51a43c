// One user's way through the whole stack, where the stack's API offers one (offers.json beside its
// compose file, helpers/offers.ts): created through nginx, published to every subscriber of its
// event, read back through other replicas, and refused without a valid token. The guide promises
// no API, so a stack that describes none has these claims "not verifiable here" (decided in
// preflight, saying what is missing) and these tests do not run. Which replica served a request is
// counted in the replicas' own namespaces (helpers/counting.ts), never read off the answer.
import { request } from 'undici'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { countRequests } from '../helpers/counting.ts'
import { at, type Route } from '../helpers/offers.ts'
import {
  addressOf,
  containerOf,
  credential,
  failIfDown,
  offers,
  publishedAddress,
  replicasOf,
  stack,
  stackBroker,
} from '../helpers/stack.ts'
import { bearer } from '../helpers/tokens.ts'

const api = offers().api ?? {}
const { create, read, token: tokens, event } = api

interface Answer {
  status: number
  body: unknown
}

describe('a user through the whole stack', () => {
  let nginx: string
  let token: string | undefined
  beforeAll(async () => {
    if (stack().failure !== null) return
    nginx = `http://${await publishedAddress('nginx', 80)}`
    if (tokens !== undefined) token = await bearer(credential('JWT_SECRET'))
  })
  beforeEach(failIfDown)

  /** One of the API's routes, through nginx, `{id}` in its path filled in. */
  const call = async (route: Route, authorization = token, id = ''): Promise<Answer> => {
    const { statusCode, body } = await request(`${nginx}${route.path.replace('{id}', encodeURIComponent(id))}`, {
      method: route.method as 'GET',
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(route.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) }),
      headersTimeout: 10_000,
    })
    const text = await body.text()
    try {
      return { status: statusCode, body: JSON.parse(text) as unknown }
    } catch {
      return { status: statusCode, body: text }
    }
  }

  /** What `create` made, named as its answer names it; fails with the answer when it made nothing. */
  const created = async (): Promise<{ id: string; body: unknown }> => {
    if (create === undefined) throw new Error('the stack offers no api.create')
    const answer = await call(create)
    expect(answer.status, `${create.method} ${create.path}: ${JSON.stringify(answer.body)}`).toBe(create.status)
    const id = at(answer.body, create.id)
    if (typeof id !== 'string' && typeof id !== 'number')
      throw new Error(`${create.method} ${create.path} answered no ${create.id}: ${JSON.stringify(answer.body)}`)
    return { id: String(id), body: answer.body }
  }

  it.runIf(create !== undefined && event !== undefined)(
    '[MB-2] a user created through nginx is published to every subscriber of its event, each with its own copy',
    async () => {
      if (event === undefined || create === undefined) return
      await using connection = await stackBroker()
      // Two subscribers of our own, each with its own queue: each must get its own copy.
      const channel = await connection.createChannel()
      const subscribers = await Promise.all(
        [1, 2].map(async () => {
          const { queue } = await channel.assertQueue('', { exclusive: true })
          await channel.bindQueue(queue, event.exchange, event.routingKey)
          return queue
        }),
      )
      const { id } = await created()
      const delivered = async (queue: string): Promise<string[]> => {
        const ids: string[] = []
        for (let message = await channel.get(queue, { noAck: true }); message !== false;) {
          ids.push(String(at(JSON.parse(message.content.toString()) as unknown, event.id)))
          message = await channel.get(queue, { noAck: true })
        }
        return ids
      }
      for (const queue of subscribers) {
        const got: string[] = []
        await expect
          .poll(
            async () => {
              got.push(...(await delivered(queue)))
              return got
            },
            { timeout: 10_000, message: `subscriber ${queue} never got ${event.routingKey} for ${id}` },
          )
          .toContain(id)
        expect(
          got.filter((delivery) => delivery === id),
          `copies subscriber ${queue} got`,
        ).toHaveLength(1)
      }
    },
  )

  it.runIf(create !== undefined && read !== undefined)(
    '[NI-4] what one gateway replica created through nginx is read back through the others',
    async () => {
      if (read === undefined) return
      const replicas = await replicasOf('api-gateway')
      const from = await addressOf(containerOf('nginx'), 'frontend')
      let creator: string | undefined
      let made: { id: string; body: unknown }
      {
        await using counters = await countRequests(replicas, policy.gatewayPort, from)
        made = await created()
        creator = Object.entries(await counters.read()).find(([, count]) => count > 0)?.[0]
      }
      // least_conn over idle replicas takes them in turn: one read for each replica reaches one that did not create it.
      await using counters = await countRequests(replicas, policy.gatewayPort, from)
      const answers: Answer[] = []
      for (const _ of replicas) answers.push(await call(read, token, made.id))
      const counts = await counters.read()
      expect(answers.map(({ status, body }) => [status, at(body, read.field)])).toEqual(
        answers.map(() => [read.status, at(made.body, read.field)]),
      )
      expect(
        Object.entries(counts)
          .filter(([replica]) => replica !== creator)
          .reduce((sum, [, count]) => sum + count, 0),
        `reads each replica received (the creator: ${creator ?? 'none counted'}): ${JSON.stringify(counts)}`,
      ).toBeGreaterThan(0)
    },
  )

  it.runIf(create !== undefined && tokens !== undefined)(
    '[CF-5] tokens are checked against JWT_SECRET, accepted until JWT_EXPIRATION and refused once older',
    async () => {
      if (create === undefined || tokens === undefined) return
      // The lifetime the run asked for in JWT_EXPIRATION: a stack that ignores it is refuted.
      const expiration = Number(credential('JWT_EXPIRATION'))
      const statusWith = async (authorization: string) => (await call(create, authorization)).status
      expect({
        valid: await statusWith(token ?? ''),
        // A gateway that expires tokens sooner than the operator asked refuses this one.
        nearlyExpired: await statusWith(
          await bearer(credential('JWT_SECRET'), {
            issuedSecondsAgo: expiration - 15,
            validForSeconds: expiration * 10,
          }),
        ),
        otherSecret: await statusWith(await bearer('not-the-secret-at-all')),
        // Still within its own exp, but issued longer ago than the gateway accepts.
        tooOld: await statusWith(
          await bearer(credential('JWT_SECRET'), {
            issuedSecondsAgo: expiration + 5,
            validForSeconds: expiration * 10,
          }),
        ),
        expired: await statusWith(
          await bearer(credential('JWT_SECRET'), { issuedSecondsAgo: 60, validForSeconds: 30 }),
        ),
      }).toEqual({
        valid: create.status,
        nearlyExpired: create.status,
        otherSecret: tokens.refused,
        tooOld: tokens.refused,
        expired: tokens.refused,
      })
    },
  )
})
