import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { claimFilter, CLAIMS } from './claims.ts'
import { ROOT } from './config.ts'

// The project's claim list is data kept beside the code; CLAIMS.md in the shared folder beside the
// repository is where the team writes them. Where that folder is not there (a clone on its own),
// there is nothing to hold the list to.
const CLAIMS_MD = join(ROOT, '../shared/CLAIMS.md')

describe('the claim list', () => {
  it.skipIf(!existsSync(CLAIMS_MD))('holds every claim of CLAIMS.md, in its order, word for word', () => {
    const written = [...readFileSync(CLAIMS_MD, 'utf8').matchAll(/^- ([A-Z]{2}-\d+) (.+)$/gm)].map(([, id, text]) => ({
      id,
      text,
    }))
    expect(CLAIMS.map(({ id, text }) => ({ id, text }))).toEqual(written)
  })

  it('names every section and no claim twice', () => {
    expect(CLAIMS.filter(({ section }) => section === '')).toEqual([])
    expect(new Set(CLAIMS.map(({ id }) => id)).size).toBe(CLAIMS.length)
  })
})

describe('claim IDs as a filter of the main job', () => {
  it('become a test-name pattern for those claims, and leave other arguments be', () => {
    expect(claimFilter(['LB-3', 'HC-2'])).toEqual({ args: ['-t', '\\[(LB-3|HC-2)\\]'], claims: ['LB-3', 'HC-2'] })
    expect(claimFilter(['isolation'])).toEqual({ args: ['isolation'], claims: [] })
    expect(claimFilter(['recovery', '-t', 'HC-4']), 'the value of -t is its pattern').toEqual({
      args: ['recovery', '-t', 'HC-4'],
      claims: [],
    })
  })

  it('refuse an ID CLAIMS.md does not have, and IDs beside -t', () => {
    expect(() => claimFilter(['LB-9'])).toThrow('no claim LB-9 in CLAIMS.md')
    expect(() => claimFilter(['LB-3', '-t', 'x'])).toThrow('claim IDs and -t both filter the tests')
  })
})
