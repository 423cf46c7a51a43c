// Runs last, after the disruptive suites have made every service log its errors.
import { describe, expect, it } from 'vitest'
import { docker } from '../../helpers/docker.ts'
import { skipIfDown, stack } from '../../helpers/stack.ts'

const SECRETS = ['DATABASE_PASSWORD', 'RABBITMQ_PASSWORD', 'REDIS_PASSWORD', 'JWT_SECRET'] as const

describe('secrets', () => {
  it('[CF-1] no container of the stack writes a credential to its log', async ({ skip }) => {
    skipIfDown({ skip })
    const secrets = SECRETS.flatMap((name) => (process.env[name] ? [[name, process.env[name]] as const] : []))
    expect(secrets.length, 'the run has no credentials to look for').toBe(SECRETS.length)
    const leaks = await Promise.all(
      Object.entries(stack().containers).flatMap(([service, ids]) =>
        ids.map(async (id) => {
          const { stdout, stderr } = await docker(['logs', id])
          // Names only: the values stay out of the failure message.
          return secrets
            .filter(([, value]) => `${stdout}${stderr}`.includes(value))
            .map(([name]) => `${service} logs ${name}`)
        }),
      ),
    )
    expect(leaks.flat()).toEqual([])
  })
})
