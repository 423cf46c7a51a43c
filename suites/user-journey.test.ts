// One user's way through the whole stack, where the stack's API offers one (offers.json beside its
// compose file, helpers/offers.ts): created through nginx, published to every subscriber of its
// event, read back through other replicas, and refused without a valid token. The guide promises
// no API, so a stack that describes none has these claims "not verifiable here" (decided in
// preflight, saying what is missing) and these tests do not run. Which replica served a request is
// counted in the replicas' own namespaces (helpers/counting.ts), never read off the answer.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { countRequests } from '../helpers/counting.ts'
import { recordFigures } from '../helpers/figures.ts'
import { call, create as createThrough, type Answer } from '../helpers/api.ts'
import { at, type Route } from '../helpers/offers.ts'
import {
  addressOf,
  apiAuthorization,
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
/** MB-2's burst: enough users that a lost, doubled or reordered event shows. */
const EVENT_BURST = 20
const { create, read, token: tokens, event } = api

describe('a user through the whole stack', () => {
  let nginx: string
  beforeAll(async () => {
    if (stack().failure !== null) return
    nginx = `http://${await publishedAddress('nginx', 80)}`
  })
  beforeEach(failIfDown)

  /** A valid token, made for each request (apiAuthorization). */
  const token = apiAuthorization

  /** One of the API's routes, through nginx; a fresh valid token unless told, none when `authorization` is null. */
  const send = async (route: Route, authorization?: string | null, id = ''): Promise<Answer> => {
    const given = authorization === undefined ? await token() : authorization
    return call(nginx, route, { ...(given === null || given === undefined ? {} : { authorization: given }), id })
  }

  /** What `create` made, named as its answer names it. */
  const created = async (): Promise<{ id: string; body: unknown }> => {
    if (create === undefined) throw new Error('the stack offers no api.create')
    const { id, answer } = await createThrough(nginx, create, await token())
    return { id, body: answer.body }
  }

  // A burst of creates, and two subscribers of the suite's own, each with its own queue bound as
  // the offers say: each must get its own copy of every event, exactly once. Not in the order the
  // users were made: the guide promises no order between users, and competing user-services may
  // publish two users' events in either order (each user has one event, so no order within one).
  it.runIf(create !== undefined && event !== undefined)(
    `[MB-2] a burst of ${EVENT_BURST} users created through nginx is published to every subscriber of its event, each with its own copy of each`,
    async () => {
      if (event === undefined || create === undefined) return
      await using connection = await stackBroker()
      const channel = await connection.createChannel()
      const subscribers = await Promise.all(
        [1, 2].map(async () => {
          const { queue } = await channel.assertQueue('', { exclusive: true })
          await channel.bindQueue(queue, event.exchange, event.routingKey)
          return queue
        }),
      )
      const made: string[] = []
      for (let user = 0; user < EVENT_BURST; user++) made.push((await created()).id)
      const delivered = async (queue: string): Promise<string[]> => {
        const ids: string[] = []
        for (let message = await channel.get(queue, { noAck: true }); message !== false;) {
          ids.push(String(at(JSON.parse(message.content.toString()) as unknown, event.id)))
          message = await channel.get(queue, { noAck: true })
        }
        return ids
      }
      const ours = new Set(made)
      for (const queue of subscribers) {
        const got: string[] = []
        // Until every one of the burst came, then what came of ours: each exactly once.
        await expect
          .poll(
            async () => {
              got.push(...(await delivered(queue)))
              return made.filter((id) => !got.includes(id)).length
            },
            { timeout: 30_000, message: `subscriber ${queue} never got every ${event.routingKey} of the burst` },
          )
          .toBe(0)
        // Once more: a copy too many that came with the last ones is in the queue by now.
        got.push(...(await delivered(queue)))
        const copies = got.filter((id) => ours.has(id))
        expect(
          copies.toSorted(),
          `the ${event.routingKey} events subscriber ${queue} got (${copies.length}), against the ${made.length} users made`,
        ).toEqual(made.toSorted())
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
      const expected = at(made.body, read.field)
      if (expected === undefined) throw new Error(`${create?.path ?? ''} answered no ${read.field} to read back`)
      // least_conn over idle replicas takes them in turn: one read for each replica, each received once.
      await using counters = await countRequests(replicas, policy.gatewayPort, from)
      const answers: Answer[] = []
      for (const _ of replicas) answers.push(await send(read, undefined, made.id))
      const counts = await counters.read()
      expect(answers.map(({ status, body }) => [status, at(body, read.field)])).toEqual(
        answers.map(() => [read.status, expected]),
      )
      // Each replica answered one read: the ones that did not create it among them.
      expect(
        { perReplica: replicas.map((replica) => counts[replica] ?? 0), creator: creator !== undefined },
        `reads each replica received: ${JSON.stringify(counts)}`,
      ).toEqual({ perReplica: replicas.map(() => 1), creator: true })
    },
  )

  it.runIf(create !== undefined && tokens !== undefined)(
    '[CF-5] tokens are checked against JWT_SECRET, accepted until JWT_EXPIRATION and refused once older',
    async () => {
      if (create === undefined || tokens === undefined) return
      // The lifetime the run asked for in JWT_EXPIRATION: a stack that ignores it is refuted.
      const expiration = Number(credential('JWT_EXPIRATION'))
      const statusWith = async (authorization: string | null) => (await send(create, authorization)).status
      const unsigned = `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({
          sub: 'banyan-verify',
          iat: Math.floor(Date.now() / 1000),
          exp: Math.floor(Date.now() / 1000) + 60,
        }),
      ).toString('base64url')}.`
      recordFigures('CF-5', { jwtExpirationSeconds: expiration })
      expect({
        valid: await statusWith((await token()) ?? ''),
        // A gateway that expires tokens sooner than the operator asked refuses this one.
        nearlyExpired: await statusWith(
          await bearer(credential('JWT_SECRET'), {
            issuedSecondsAgo: expiration - 15,
            validForSeconds: expiration * 10,
          }),
        ),
        none: await statusWith(null),
        garbage: await statusWith('Bearer not-a-token'),
        // Signed with nothing at all: a gateway that takes `alg` from the token accepts it.
        unsigned: await statusWith(unsigned),
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
        none: tokens.refused,
        garbage: tokens.refused,
        unsigned: tokens.refused,
        otherSecret: tokens.refused,
        tooOld: tokens.refused,
        expired: tokens.refused,
      })
    },
  )
})
