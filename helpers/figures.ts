import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runFromEnv } from './run.ts'

const FILE = 'figures.jsonl'

/** Records what a test measured for a claim (times in ms, counts); the summary shows it under the claim. */
export function recordFigures(claim: string, figures: Record<string, number>): void {
  appendFileSync(join(runFromEnv().runDir, FILE), `${JSON.stringify({ claim, figures })}\n`)
}

/** Every figure recorded in a run, by claim. */
export function readFigures(runDir: string): Record<string, Record<string, number>> {
  const file = join(runDir, FILE)
  if (!existsSync(file)) return {}
  const byClaim: Record<string, Record<string, number>> = {}
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const { claim, figures } = JSON.parse(line) as { claim: string; figures: Record<string, number> }
    byClaim[claim] = { ...byClaim[claim], ...figures }
  }
  return byClaim
}
