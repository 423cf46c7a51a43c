import { describe, expect, it } from 'vitest'
import { imageVariables } from '../images/kit.ts'
import { composeConfig, composeFailureCause } from './compose.ts'
import { loadConfig } from './config.ts'
import { newRunEnvironment } from './run.ts'

const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  ...imageVariables('offline'),
  ...newRunEnvironment({}),
  ...extra,
})

describe('the reference stack configuration', () => {
  it('[LC-5] is valid as Compose resolves it, without the observability profile', async () => {
    const model = await composeConfig(loadConfig({}), env())
    expect(Object.keys(model.services).sort()).toEqual([
      'api-gateway',
      'migrations',
      'nginx',
      'postgres',
      'rabbitmq',
      'redis',
      'user-service',
    ])
  })

  it('[LC-5] is valid with the observability profile, which adds jaeger, grafana and elasticsearch', async () => {
    const model = await composeConfig(loadConfig({}), env({ COMPOSE_PROFILES: 'observability' }))
    expect(Object.keys(model.services)).toEqual(expect.arrayContaining(['jaeger', 'grafana', 'elasticsearch']))
  })
})

describe('a failed compose up', () => {
  it('is told by its cause, not by the progress lines before it', () => {
    const output = [
      'Network bv-1_backend  Creating',
      ' Volume "bv-1_redis-data"  Created',
      ' Container bv-1-redis-1  Error',
      'dependency failed to start: container bv-1-redis-1 is unhealthy',
    ].join('\n')
    expect(composeFailureCause(output)).toBe('dependency failed to start: container bv-1-redis-1 is unhealthy')
  })
})
