// Default credentials are not accepted (CF-3): each store is asked, from outside, with the logins
// an image ships with or a careless configuration leaves, and must refuse them. A refusal counts
// only as the store's own answer (an error code, a NOAUTH, a failed authentication); a store that
// gave no answer at all (not reachable, a tool that could not run) fails the check, never passes.
import { connect as amqpConnect } from 'amqplib'
import pg from 'pg'
import { beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { redisReplies } from '../helpers/probes.ts'
import { addressOf, credential, execIn, failIfDown, runningContainerOf } from '../helpers/stack.ts'

type Answer = 'accepted' | 'refused'

/** Where a store listens, as the policy says. */
function portOf(store: string): number {
  const port = policy.listens[store]
  if (port === undefined) throw new Error(`policy.listens names no port for ${store}`)
  return port
}

/** PostgreSQL's answer to one login over TCP, from this machine. */
async function postgresAnswer(login: { user: string; password: string }): Promise<Answer> {
  const client = new pg.Client({
    host: await addressOf(await runningContainerOf('postgres'), 'backend'),
    port: portOf('postgres'),
    database: credential('DATABASE_NAME'),
    connectionTimeoutMillis: 10_000,
    ...login,
  })
  try {
    await client.connect()
    await client.end()
    return 'accepted'
  } catch (error) {
    // 28P01 wrong password, 28000 no such role or not allowed: the server's own refusals.
    const code = (error as { code?: string }).code
    if (code === '28P01' || code === '28000') return 'refused'
    throw new Error(`PostgreSQL gave no answer to ${login.user}: ${(error as Error).message}`, { cause: error })
  }
}

/** RabbitMQ's answer to an AMQP login from this machine. */
async function amqpAnswer(user: string, password: string): Promise<Answer> {
  const host = await addressOf(await runningContainerOf('rabbitmq'), 'backend')
  try {
    const connection = await amqpConnect(`amqp://${user}:${password}@${host}:${portOf('rabbitmq')}`, {
      timeout: 10_000,
    })
    await connection.close()
    return 'accepted'
  } catch (error) {
    if (/ACCESS_REFUSED|403/.test((error as Error).message)) return 'refused'
    throw new Error(`RabbitMQ gave no answer to ${user}: ${(error as Error).message}`, { cause: error })
  }
}

describe('default credentials', () => {
  beforeEach(failIfDown)

  it('[CF-3] RabbitMQ refuses guest/guest, by its own authentication and over AMQP from outside', async () => {
    // RabbitMQ lets guest in from localhost only, so a refusal over the network alone proves
    // nothing about a guest user that is still there: the broker is also asked itself.
    const { exitCode, stdout, stderr } = await execIn(await runningContainerOf('rabbitmq'), [
      'rabbitmqctl',
      'authenticate_user',
      'guest',
      'guest',
    ])
    const said = `${stdout}${stderr}`
    const byBroker: Answer | 'no answer' =
      exitCode === 0 ? 'accepted' : /refused|failed|invalid/i.test(said) ? 'refused' : 'no answer'
    expect(
      { byBroker, overAmqp: await amqpAnswer('guest', 'guest') },
      `RabbitMQ's answer to guest/guest (${said.trim().replaceAll('\n', ' ')})`,
    ).toEqual({
      byBroker: 'refused',
      overAmqp: 'refused',
    })
  })

  it('[CF-3] PostgreSQL takes only the configured user, with its password', async () => {
    const user = credential('DATABASE_USER')
    expect(
      {
        // The image's default superuser, with the password guides and images often give it.
        postgres: await postgresAnswer({ user: 'postgres', password: 'postgres' }),
        // The configured user with another password: a server that trusts its network lets it in.
        wrongPassword: await postgresAnswer({ user, password: `${credential('DATABASE_PASSWORD')}-not-it` }),
        // And with its own: the refusals above are about the logins, not a server that refuses all.
        configured: await postgresAnswer({ user, password: credential('DATABASE_PASSWORD') }),
      },
      "PostgreSQL's answer to each login",
    ).toEqual({ postgres: 'refused', wrongPassword: 'refused', configured: 'accepted' })
  })

  it('[CF-3] Redis refuses commands without its password, and with a wrong one', async () => {
    const endpoint = { host: await addressOf(await runningContainerOf('redis'), 'backend'), port: portOf('redis') }
    const first = async (commands: string[][]): Promise<string> => (await redisReplies(endpoint, commands)).at(-1) ?? ''
    expect(
      {
        none: await first([['PING']]),
        wrong: await first([['AUTH', `${credential('REDIS_PASSWORD')}-not-it`], ['PING']]),
        configured: await first([['AUTH', credential('REDIS_PASSWORD')], ['PING']]),
      },
      "Redis's answer to each client",
    ).toEqual({
      none: expect.stringMatching(/^-NOAUTH/),
      // Refused as a whole: the PING after a failed AUTH is not let through either.
      wrong: expect.stringMatching(/^-NOAUTH/),
      configured: '+PONG',
    })
  })
})
