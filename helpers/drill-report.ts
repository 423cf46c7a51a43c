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
}

export interface DrillReport {
  runId: string
  startedAt: string
  passed: boolean
  /** From the start of recovery (after the disaster) until the stack is healthy and serving. */
  rtoMs: number
  /** Writes acknowledged before the backup point that the restored stack does not hold. */
  rpoLostWrites: number
  /** Writes acknowledged after the backup point, before the disaster: what a backup taken then cannot hold. */
  writesAfterBackupPoint: number
  /** From the backup point to the disaster: the window of writes no backup holds. */
  exposureMs: number
  writesAcknowledged: number
  wallMs: number
  steps: DrillStep[]
  failures: string[]
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

export function drillMarkdown(report: DrillReport, history: readonly DrillReport[]): string {
  const lines = [
    `# Disaster-recovery drill ${report.startedAt}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `Run ${report.runId}. The guide's procedure (stop, restore volumes, restore the database, up -d, check health) on a throwaway stack under steady writes.`,
    '',
    `- **RTO** ${seconds(report.rtoMs)}: from the start of recovery to healthy and serving.`,
    `- **RPO** ${report.rpoLostWrites} writes lost of those acknowledged before the backup point; ${report.writesAfterBackupPoint} writes came after it (${seconds(report.exposureMs)} between the backup and the disaster), which no backup could hold.`,
    `- ${report.writesAcknowledged} writes acknowledged in all; the drill took ${seconds(report.wallMs)}.`,
    ...(report.failures.length > 0 ? ['', '## What failed', '', ...report.failures.map((line) => `- ${line}`)] : []),
    '',
    '## Steps',
    '',
    '| step | command | time | note |',
    '|---|---|---|---|',
    ...report.steps.map(
      (step) =>
        `| ${step.name} | \`${step.command.replaceAll('|', '\\|')}\` | ${seconds(step.ms)} | ${step.note ?? ''} |`,
    ),
  ]
  if (history.length > 1) {
    lines.push('', '## History (newest first)', '', '| when | result | RTO | RPO (lost) |', '|---|---|---|---|')
    for (const earlier of history.slice(-10).reverse()) {
      lines.push(
        `| ${earlier.startedAt} | ${earlier.passed ? 'passed' : 'FAILED'} | ${seconds(earlier.rtoMs)} | ${earlier.rpoLostWrites} |`,
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
