// The static checks: the stack's configuration, as Compose resolves it and as its files are
// written, held to the policy from the guide. No container starts; it takes seconds. The main job
// runs the same checks in-process before it starts anything; `pnpm test:static` runs this file.
import { beforeAll, describe, expect, it } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { loadConfig } from '../helpers/config.ts'
import { loadStaticInput, STATIC_CLAIMS, staticFindings } from '../helpers/static-checks.ts'

let findings = new Map<string, string[]>()

beforeAll(async () => {
  findings = staticFindings(await loadStaticInput(loadConfig(), process.env, policy))
})

describe('configuration', () => {
  it.for(STATIC_CLAIMS)('[%s] %s', ([claim]) => {
    const lines = findings.get(claim) ?? []
    expect(lines, lines.join('\n')).toEqual([])
  })
})
