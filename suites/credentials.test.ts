// Default credentials are not accepted (CF-3): each store is asked, from outside, with the logins
// an image ships with or a careless configuration leaves, and must refuse them. A refusal counts
// only as the store's own answer (an error code, a NOAUTH, a failed authentication); a store that
// gave no answer at all (not reachable, a tool that could not run) fails the check, never passes.
import { connect as amqpConnect } from 'amqplib'
import pg from 'pg'
import { beforeEach, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { redisReplies } from '../helpers/probes.ts'
import { credential, reachable, execIn, failIfDown, runningContainerOf, stackDatabase } from '../helpers/stack.ts'

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
    ...(await reachable(await runningContainerOf('postgres'), 'backend', portOf('postgres'))),
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
  const { host, port } = await reachable(await runningContainerOf('rabbitmq'), 'backend', portOf('rabbitmq'))
  try {
    const connection = await amqpConnect(`amqp://${user}:${password}@${host}:${port}`, {
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
    // RabbitMQ lets guest in from localhost only unless told otherwise, so a refusal over the
    // network alone proves nothing about a guest user that is still there: the broker is asked
    // itself, and must accept the configured login the same way (a CLI that cannot reach its
    // node fails both, which is no answer).
    const broker = await runningContainerOf('rabbitmq')
    const authenticate = async (user: string, password: string): Promise<string> => {
      const { exitCode, stdout, stderr } = await execIn(broker, ['rabbitmqctl', 'authenticate_user', user, password])
      const said = `${stdout}${stderr}`.trim().replaceAll('\n', ' ')
      if (exitCode === 0 && /Success/.test(said)) return 'accepted'
      if (new RegExp(`failed to authenticate user "${user}"`).test(said)) return 'refused'
      return `no answer (exit ${exitCode}: ${said})`
    }
    const found = {
      byBroker: await authenticate('guest', 'guest'),
      configured: await authenticate(credential('RABBITMQ_USER'), credential('RABBITMQ_PASSWORD')),
      overAmqp: await amqpAnswer('guest', 'guest'),
    }
    expect(found, `RabbitMQ's answers: guest/guest ${found.byBroker}, over AMQP ${found.overAmqp}`).toEqual({
      byBroker: 'refused',
      configured: 'accepted',
      overAmqp: 'refused',
    })
  })

  it('[CF-3] PostgreSQL takes only the configured user, with its password', async () => {
    const user = credential('DATABASE_USER')
    const found = {
      // The image's default superuser, with the password guides and images often give it.
      postgres: await postgresAnswer({ user: 'postgres', password: 'postgres' }),
      // The configured user with another password: a server that trusts its network lets it in.
      wrongPassword: await postgresAnswer({ user, password: `${credential('DATABASE_PASSWORD')}-not-it` }),
      // And with its own: the refusals above are about the logins, not a server that refuses all.
      configured: await postgresAnswer({ user, password: credential('DATABASE_PASSWORD') }),
    }
    // What the server itself holds, asked as the configured user: no other login role (one made
    // by an init script with a password of its own), and no network rule that asks for none.
    await using client = await stackDatabase()
    const { rows: roles } = await client.query<{ name: string }>(
      'SELECT rolname AS name FROM pg_roles WHERE rolcanlogin ORDER BY rolname',
    )
    const { rows: rules } = await client.query<{ rule: string }>(
      "SELECT concat_ws(' ', type, database, user_name, address, auth_method) AS rule FROM pg_hba_file_rules WHERE type LIKE 'host%' AND auth_method = 'trust'",
    )
    expect(
      { ...found, loginRoles: roles.map(({ name }) => name), trustedFromTheNetwork: rules.map(({ rule }) => rule) },
      `PostgreSQL's answer to each login: the configured one ${found.configured}, another password ${found.wrongPassword}, postgres/postgres ${found.postgres}`,
    ).toEqual({
      postgres: 'refused',
      wrongPassword: 'refused',
      configured: 'accepted',
      loginRoles: [user],
      trustedFromTheNetwork: [],
    })
  })

  it('[CF-3] Redis refuses commands without its password, and with a wrong one', async () => {
    const endpoint = await reachable(await runningContainerOf('redis'), 'backend', portOf('redis'))
    const first = async (commands: string[][]): Promise<string> => (await redisReplies(endpoint, commands)).at(-1) ?? ''
    const found = {
      none: await first([['PING']]),
      wrong: await first([['AUTH', `${credential('REDIS_PASSWORD')}-not-it`], ['PING']]),
      configured: await first([['AUTH', credential('REDIS_PASSWORD')], ['PING']]),
    }
    expect(
      found,
      `Redis's answer to each client: no password ${found.none}, a wrong one ${found.wrong}, its own ${found.configured}`,
    ).toEqual({
      none: expect.stringMatching(/^-NOAUTH/),
      // Refused as a whole: the PING after a failed AUTH is not let through either.
      wrong: expect.stringMatching(/^-NOAUTH/),
      configured: '+PONG',
    })
  })
})
