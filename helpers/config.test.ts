import { describe, expect, it } from 'vitest'
import { loadConfig, REFERENCE_STACK } from './config.ts'

describe('loadConfig', () => {
  it('defaults to the reference stack, health timings chosen by the engine and the stack left to be removed', () => {
    expect(loadConfig({}, '/')).toMatchObject({ composeFiles: [REFERENCE_STACK], healthInterval: 'auto', keep: false })
  })

  it('reads COMPOSE_FILE as Compose does: paths joined by the separator, relative to the working folder', () => {
    const config = loadConfig(
      { COMPOSE_FILE: 'fixtures/stack/compose.yaml:fixtures/mutants/lc1-redis-never-healthy.yaml' },
      `${REFERENCE_STACK}/../../..`,
    )
    expect(config.composeFiles.map((file) => file.split('/fixtures/')[1])).toEqual([
      'stack/compose.yaml',
      'mutants/lc1-redis-never-healthy.yaml',
    ])
  })

  it.for([
    [{ COMPOSE_FILE: '/nowhere/compose.yaml' }, /COMPOSE_FILE names \/nowhere\/compose\.yaml, which does not exist/],
    [{ BANYAN_HEALTH_INTERVAL: 'fast' }, /BANYAN_HEALTH_INTERVAL must be auto, declared, or a duration/],
    [{ BANYAN_IMAGES: 'docker-hub' }, /BANYAN_IMAGES must be auto, official or offline, not 'docker-hub'/],
    [{ BANYAN_KEEP: 'yes' }, /BANYAN_KEEP must be 1 or 0/],
  ] as const)('fails fast on %o, naming the variable', ([env, message]) => {
    expect(() => loadConfig(env, '/')).toThrow(message)
  })
})
