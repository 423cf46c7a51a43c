import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLAIMS } from './claims.ts'
import { ROOT } from './config.ts'
import { GUIDE_COMMANDS } from './guide-commands.ts'

// The guide the claims come from, beside the project as its README says (../shared).
const guide = readFileSync(join(ROOT, '..', 'shared', 'seed', 'deployment-guide.md'), 'utf8')

/**
 * Every command line of the guide's shell blocks with the heading above it: a line that starts
 * with a command the guide has the reader run (not a variable of .env, not a JSON body, not `cd`).
 */
function guideCommands(): { section: string; line: string }[] {
  const found: { section: string; line: string }[] = []
  let section = ''
  let block: string | null = null
  for (const line of guide.split('\n')) {
    if (line.startsWith('```')) {
      block = block === null ? line.slice(3).trim() : null
      continue
    }
    if (block === null && line.startsWith('#')) section = line.replace(/^#+\s*/, '').trim()
    const command = line.trim()
    if (block === 'bash' && /^(git|docker|curl|pnpm|\d+ \d+ )/.test(command)) found.push({ section, line: command })
  }
  return found
}

describe("the guide's commands", () => {
  it('list every command of the guide’s shell blocks, under its heading, in its words', () => {
    expect(
      guideCommands()
        .filter(
          ({ section, line }) =>
            !GUIDE_COMMANDS.some((command) => command.section === section && line.startsWith(command.command)),
        )
        .map(({ section, line }) => `${section}: ${line}`),
    ).toEqual([])
  })

  it('are each the guide’s own words under one of its headings, with claims CLAIMS.md lists', () => {
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
