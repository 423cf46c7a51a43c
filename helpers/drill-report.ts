// The disaster-recovery drill's report: JSON for machines, a Markdown page for the person on call,
// and one line a drill appended to a history, so a trend in RTO and RPO can be seen.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { barChart, escapeHtml, PAGE_CSS } from './html-report.ts'

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

/**
 * How much slower than the earlier drills' median RTO the latest may be before it is marked: these
 * machines are shared, and the same drill's RTO moved by half between two runs of one day, so a
 * smaller margin would mark the neighbours' load rather than the deployment.
 */
export const RTO_REGRESSION_MARGIN = 0.5
/** Earlier drills needed before a median means anything. */
const TREND_MINIMUM = 3

export interface DrillTrend {
  /** The latest drill failed (it did not recover, or lost what the backup held): an alert by itself. */
  failed: boolean
  /** The latest drill's RTO is worse than the earlier drills' median by more than the margin. */
  regressed: boolean
  latestRtoMs: number | null
  /** The median RTO of the earlier drills that recovered; null while there are too few. */
  medianRtoMs: number | null
  margin: number
  drills: number
}

const median = (values: readonly number[]): number | null => {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] ?? null) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

/** The latest drill against the earlier ones that passed. A failed drill is a failure of its own, not a trend. */
export function drillTrend(history: readonly DrillReport[]): DrillTrend {
  const latest = history.at(-1)
  const earlier = history.slice(0, -1).flatMap(({ rtoMs, passed }) => (rtoMs === null || !passed ? [] : [rtoMs]))
  const typical = earlier.length >= TREND_MINIMUM ? median(earlier) : null
  const latestRtoMs = latest?.rtoMs ?? null
  return {
    failed: latest !== undefined && !latest.passed,
    regressed: typical !== null && latestRtoMs !== null && latestRtoMs > typical * (1 + RTO_REGRESSION_MARGIN),
    latestRtoMs,
    medianRtoMs: typical,
    margin: RTO_REGRESSION_MARGIN,
    drills: history.length,
  }
}

/** The drill history's page: RTO and exposure per drill, the latest drill's steps, and the trend's mark. */
export function drillPage(history: readonly DrillReport[]): string {
  const latest = history.at(-1)
  const trend = drillTrend(history)
  const when = (report: DrillReport) => report.startedAt.replace('T', ' ').slice(0, 19)
  const recent = history.slice(-20)
  const charts = [
    barChart({
      id: 'rto',
      title: 'RTO per drill (s), oldest first',
      unit: 's',
      // A drill that never recovered has no RTO: no bar; its row below says FAILED.
      bars: recent.flatMap((report) =>
        report.rtoMs === null ? [] : [{ label: when(report), value: report.rtoMs / 1000 }],
      ),
      ...(trend.medianRtoMs === null
        ? {}
        : { reference: { label: 'earlier median', value: trend.medianRtoMs / 1000 } }),
    }),
    barChart({
      id: 'exposure',
      title: 'Exposure per drill (s): from the backup point to the disaster',
      unit: 's',
      bars: recent.map((report) => ({ label: when(report), value: (report.exposureMs ?? 0) / 1000 })),
    }),
    ...(latest === undefined
      ? []
      : [
          barChart({
            id: 'steps',
            title: `The latest drill's steps (s), ${when(latest)}`,
            unit: 's',
            bars: latest.steps.map((step) => ({ label: step.name, value: step.ms / 1000 })),
          }),
        ]),
  ]
  const failedMark =
    latest !== undefined && trend.failed
      ? `<p class="regressed" id="failed">The latest drill FAILED: ${escapeHtml(latest.failures.join('; ') || 'see its report')}.</p>`
      : ''
  const mark = trend.regressed
    ? `<p class="regressed" id="trend">RTO regressed: the latest drill took ${seconds(trend.latestRtoMs)}, more than ${Math.round(trend.margin * 100)}% over the earlier drills' median of ${seconds(trend.medianRtoMs)}.</p>`
    : `<p id="trend">RTO ${trend.medianRtoMs === null ? `not judged: fewer than ${TREND_MINIMUM} earlier drills recovered` : `within ${Math.round(trend.margin * 100)}% of the earlier drills' median of ${seconds(trend.medianRtoMs)}`}.</p>`
  const rows = [...history]
    .reverse()
    .map(
      (report) =>
        `<tr class="drill"><td>${escapeHtml(report.startedAt)}</td><td>${report.passed ? 'passed' : 'FAILED'}</td><td>${seconds(report.rtoMs)}</td><td>${report.rpoLostWrites ?? 'n/a'}</td><td>${seconds(report.exposureMs)}</td><td>${escapeHtml(report.failures.join('; '))}</td></tr>`,
    )
    .join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>banyan-verify: disaster-recovery drills</title>
<style>${PAGE_CSS} .regressed { background: #ffebe9; padding: .8em; font-weight: 600; }</style></head><body>
<h1>Disaster-recovery drills: ${history.length}</h1>
${failedMark}${mark}
${charts.join('')}
<h2>Every drill, newest first</h2>
<table><tr><th>when</th><th>result</th><th>RTO</th><th>RPO (lost writes)</th><th>exposure</th><th>what failed</th></tr>${rows}</table>
</body></html>
`
}

/**
 * Writes drill-<time>.json and .md under dir, appends to history.jsonl, rewrites the history's
 * page (index.html) and trend.json (the flags a nightly job alerts on: `failed`, `regressed`), and returns
 * the Markdown page's path.
 */
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
  writeFileSync(join(dir, 'index.html'), drillPage(history))
  writeFileSync(join(dir, 'trend.json'), `${JSON.stringify(drillTrend(history), null, 2)}\n`)
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
