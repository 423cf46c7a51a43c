// The disaster-recovery drill's report: JSON for machines, a Markdown page for the person on call,
// and one line a drill appended to a history, so a trend in RTO and RPO can be seen.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface DrillStep {
  name: string
  /** What was run, as an operator would type it (credentials left out). */
  command: string
  ms: number
  note?: string
  /** Why the step failed; the drill stopped there. */
  error?: string
}

export interface DrillReport {
  runId: string
  startedAt: string
  passed: boolean
  /** From the start of recovery (after the disaster) until the stack is healthy and serving; null if it never got there. */
  rtoMs: number | null
  /** RPO as a user means it: writes acknowledged before the disaster that the restored stack lacks. */
  rpoLostWrites: number | null
  /** The time those lost writes span, from the first one's acknowledgement to the disaster. */
  rpoWindowMs: number | null
  /** Writes acknowledged before the backup point that the restored stack lacks: the backup failed to hold them. */
  lostBeforeBackupPoint: number | null
  /** From the backup point to the disaster: the window of writes no backup holds. */
  exposureMs: number | null
  writesAcknowledged: number | null
  wallMs: number
  steps: DrillStep[]
  failures: string[]
  /** Where the drill's dump and tars were kept, when it failed. */
  keptFiles?: string
}

const seconds = (ms: number | null): string => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(1)} s`)

export function drillMarkdown(report: DrillReport, history: readonly DrillReport[]): string {
  const lines = [
    `# Disaster-recovery drill ${report.startedAt}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `Run ${report.runId}. The guide's procedure (stop, restore volumes, restore the database, up -d, check health) on a throwaway stack under steady writes.`,
    '',
    `- **RTO** ${seconds(report.rtoMs)}: from the start of recovery to healthy and serving.`,
    `- **RPO** ${report.rpoLostWrites ?? 'n/a'} acknowledged writes lost, spanning ${seconds(report.rpoWindowMs)} before the disaster (the backup was taken ${seconds(report.exposureMs)} before it); ${report.lostBeforeBackupPoint ?? 'n/a'} of the writes acknowledged before the backup point are missing.`,
    `- ${report.writesAcknowledged ?? 'n/a'} writes acknowledged in all; the drill took ${seconds(report.wallMs)}.`,
    ...(report.keptFiles === undefined ? [] : [`- Its dump and tars are kept in ${report.keptFiles}.`]),
    ...(report.failures.length > 0 ? ['', '## What failed', '', ...report.failures.map((line) => `- ${line}`)] : []),
    '',
    '## Steps',
    '',
    '| step | command | time | note |',
    '|---|---|---|---|',
    ...report.steps.map(
      (step) =>
        `| ${step.name} | \`${step.command.replaceAll('|', '\\|')}\` | ${seconds(step.ms)} | ${step.error === undefined ? (step.note ?? '') : `FAILED: ${step.error.replaceAll('|', '\\|')}`} |`,
    ),
  ]
  if (history.length > 1) {
    lines.push('', '## History (newest first)', '', '| when | result | RTO | RPO (lost) |', '|---|---|---|---|')
    for (const earlier of history.slice(-10).reverse()) {
      lines.push(
        `| ${earlier.startedAt} | ${earlier.passed ? 'passed' : 'FAILED'} | ${seconds(earlier.rtoMs)} | ${earlier.rpoLostWrites ?? 'n/a'} |`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}

/** Writes drill-<time>.json and .md under dir, appends to history.jsonl, and returns the Markdown page's path. */
export function writeDrillReport(dir: string, report: DrillReport): string {
  mkdirSync(dir, { recursive: true })
  const historyFile = join(dir, 'history.jsonl')
  appendFileSync(historyFile, `${JSON.stringify(report)}\n`)
  const history = readFileSync(historyFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DrillReport)
  const stamp = report.startedAt.replaceAll(':', '-')
  writeFileSync(join(dir, `drill-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`)
  const page = join(dir, `drill-${stamp}.md`)
  writeFileSync(page, drillMarkdown(report, history))
  writeFileSync(join(dir, 'latest.md'), drillMarkdown(report, history))
  return page
}

/**
 * `work`, or a rejection saying `late()` once `ms` have passed: a test timeout would end the test
 * without running its own reporting, so a drill stops waiting a little before it.
 */
export async function beforeDeadline<T>(work: Promise<T>, ms: number, late: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(late())), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}
