import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLAIMS } from './claims.ts'
import { ROOT } from './config.ts'
import { GUIDE_COMMANDS } from './guide-commands.ts'

// The guide the claims come from, beside the project as its README says (../shared).
const guide = readFileSync(join(ROOT, '..', 'shared', 'seed', 'deployment-guide.md'), 'utf8')

describe("the guide's commands", () => {
  it('are each the guide’s own words, under one of its headings, with claims CLAIMS.md lists', () => {
    const known = new Set(CLAIMS.map(({ id }) => id))
    const headings = new Set([...guide.matchAll(/^#+ (.+)$/gm)].map(([, heading]) => heading?.trim()))
    expect(
      GUIDE_COMMANDS.flatMap(({ section, command, claims }) => [
        ...(guide.includes(command) ? [] : [`not in the guide: ${command}`]),
        ...(headings.has(section) ? [] : [`no such heading: ${section}`]),
        ...claims.filter((id) => !known.has(id)).map((id) => `no such claim: ${id}`),
      ]),
    ).toEqual([])
  })
})
