import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runFromEnv } from './run.ts'

const FILE = 'figures.jsonl'

/**
 * Records what a test measured for a claim (times in ms, counts); the summary shows it under the
 * claim. A figure that is not a finite number (a service never healthy measures Infinity) is left
 * out: JSON would write it as null, which is no measurement.
 */
export function recordFigures(claim: string, figures: Record<string, number>): void {
  const measured = Object.fromEntries(Object.entries(figures).filter(([, value]) => Number.isFinite(value)))
  appendFileSync(join(runFromEnv().runDir, FILE), `${JSON.stringify({ claim, figures: measured })}\n`)
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

/**
 * Request outcomes over time, for a chart: how many requests sent in each bucket were answered
 * (a 2xx) and how many failed, and the moments that matter (a replica stopped, an update begun),
 * all in ms from the start of the traffic.
 */
export interface Timeline {
  bucketMs: number
  ok: number[]
  failed: number[]
  events: { label: string; atMs: number }[]
}

const TIMELINES = 'timelines.jsonl'

/** Records a timeline a test measured for a claim, under a name of its own (`stopped`, `guide`). */
export function recordTimeline(claim: string, name: string, timeline: Timeline): void {
  appendFileSync(join(runFromEnv().runDir, TIMELINES), `${JSON.stringify({ claim, name, timeline })}\n`)
}

/** Every timeline recorded in a run, by claim and name. */
export function readTimelines(runDir: string): Record<string, Record<string, Timeline>> {
  const file = join(runDir, TIMELINES)
  if (!existsSync(file)) return {}
  const byClaim: Record<string, Record<string, Timeline>> = {}
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const { claim, name, timeline } = JSON.parse(line) as { claim: string; name: string; timeline: Timeline }
    byClaim[claim] = { ...byClaim[claim], [name]: timeline }
  }
  return byClaim
}
