// One page per run, reports/index.html: the verdict first, then every claim of CLAIMS.md in the
// guide's order and sections with its tests, failure, evidence and figures, and charts where a
// person would rather look than read. Self-contained (inline CSS and SVG, no script, nothing
// fetched), so it opens from disk, from a CI artefact or a mail, years later.
//
// Charts are inline SVG bars drawn here rather than a charting library: every chart the figures
// support is a bar chart with at most a reference line, which is some forty lines of SVG, where a
// library would add a script to inline and a dependency to keep for the same bars.
import { relative } from 'node:path'
import { CLAIMS, SECTIONS } from './claims.ts'
import { GUIDE_COMMANDS } from './guide-commands.ts'
import type { Timeline } from './figures.ts'
import type { ClaimResult, ClaimStatus, Summary } from './report.ts'

const STATUSES: readonly ClaimStatus[] = ['verified', 'refuted', 'waived', 'not verifiable here', 'not checked']

/** Text as HTML shows it, whatever it holds (a failure message quotes markup, paths, <angle brackets>). */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)

export interface Bar {
  label: string
  value: number
  /** This bar's own bound (a service's health budget), marked across its row. */
  limit?: number
}

export interface Chart {
  /** The claim the chart shows, or a name of its own (time per suite). */
  id: string
  title: string
  unit: string
  bars: Bar[]
  /** A line across the bars: the even share, a budget. */
  reference?: Bar
}

const BAR_HEIGHT = 22
const LABEL_WIDTH = 200
const PLOT_WIDTH = 360

// A figure that is no finite number (null in a summary written before figures were kept finite).
const formatted = (value: number): string =>
  !Number.isFinite(value) ? 'not measured' : Number.isInteger(value) ? String(value) : value.toFixed(value < 1 ? 3 : 1)

/** A horizontal bar chart: one bar a label, its value written beside it, an optional reference line. */
export function barChart({ id, title, unit, bars, reference }: Chart): string {
  const largest = Math.max(
    ...bars.map(({ value, limit }) => Math.max(value, limit ?? 0)),
    reference?.value ?? 0,
    Number.MIN_VALUE,
  )
  const x = (value: number): number => LABEL_WIDTH + (value / largest) * PLOT_WIDTH
  const height = bars.length * BAR_HEIGHT + (reference === undefined ? 8 : 28)
  const rows = bars.map(
    ({ label, value, limit }, index) =>
      `<g class="bar"><text x="${LABEL_WIDTH - 8}" y="${index * BAR_HEIGHT + 15}" text-anchor="end">${escapeHtml(label)}</text>` +
      `<rect x="${LABEL_WIDTH}" y="${index * BAR_HEIGHT + 3}" width="${Math.max(1, x(value) - LABEL_WIDTH).toFixed(1)}" height="${BAR_HEIGHT - 6}"></rect>` +
      (limit === undefined
        ? ''
        : `<line class="limit" x1="${x(limit).toFixed(1)}" x2="${x(limit).toFixed(1)}" y1="${index * BAR_HEIGHT + 1}" y2="${index * BAR_HEIGHT + BAR_HEIGHT - 1}"><title>${escapeHtml(`budget ${formatted(limit)} ${unit}`)}</title></line>`) +
      `<text class="value" x="${(x(value) + 6).toFixed(1)}" y="${index * BAR_HEIGHT + 15}">${escapeHtml(formatted(value))} ${escapeHtml(unit)}</text></g>`,
  )
  const line =
    reference === undefined
      ? ''
      : `<g class="reference"><line x1="${x(reference.value).toFixed(1)}" x2="${x(reference.value).toFixed(1)}" y1="0" y2="${bars.length * BAR_HEIGHT}"></line>` +
        `<text x="${x(reference.value).toFixed(1)}" y="${bars.length * BAR_HEIGHT + 18}" text-anchor="middle">${escapeHtml(reference.label)} ${escapeHtml(formatted(reference.value))}</text></g>`
  return (
    `<figure class="chart" data-chart="${escapeHtml(id)}"><figcaption>${escapeHtml(title)}</figcaption>` +
    `<svg role="img" aria-label="${escapeHtml(title)}" width="${LABEL_WIDTH + PLOT_WIDTH + 110}" height="${height}" viewBox="0 0 ${LABEL_WIDTH + PLOT_WIDTH + 110} ${height}">` +
    `${rows.join('')}${line}</svg></figure>`
  )
}

const TIMELINE_HEIGHT = 120

/**
 * Request outcomes over time: a column a bucket, answered requests below and failed ones stacked
 * on them in the failure colour, the events as labelled lines across. Counts are read from the
 * bars' titles (hover) and the axis: the shape is what a person looks for.
 */
export function timelineChart(id: string, title: string, { bucketMs, ok, failed, events }: Timeline): string {
  const width = LABEL_WIDTH + PLOT_WIDTH + 110
  const left = 50
  const plot = width - left - 10
  const column = plot / Math.max(1, ok.length)
  const largest = Math.max(1, ...ok.map((count, index) => count + (failed[index] ?? 0)))
  const y = (count: number): number => (count / largest) * TIMELINE_HEIGHT
  const columns = ok.map((answered, index) => {
    const lost = failed[index] ?? 0
    const x = (left + index * column).toFixed(1)
    const w = Math.max(1, column - 1).toFixed(1)
    const from = `${((index * bucketMs) / 1000).toFixed(1)} s`
    return (
      `<g class="bucket"><title>${escapeHtml(`${from}: ${answered} answered, ${lost} failed`)}</title>` +
      `<rect class="ok" x="${x}" y="${(20 + TIMELINE_HEIGHT - y(answered)).toFixed(1)}" width="${w}" height="${y(answered).toFixed(1)}"></rect>` +
      (lost === 0
        ? ''
        : `<rect class="failed" x="${x}" y="${(20 + TIMELINE_HEIGHT - y(answered) - y(lost)).toFixed(1)}" width="${w}" height="${y(lost).toFixed(1)}"></rect>`) +
      '</g>'
    )
  })
  const marks = events.map(({ label, atMs }) => {
    const x = (left + (atMs / bucketMs) * column).toFixed(1)
    return (
      `<g class="event"><line x1="${x}" x2="${x}" y1="14" y2="${20 + TIMELINE_HEIGHT}"></line>` +
      `<text x="${x}" y="10" text-anchor="middle">${escapeHtml(label)}</text></g>`
    )
  })
  const totalFailed = failed.reduce((sum, count) => sum + count, 0)
  const totalOk = ok.reduce((sum, count) => sum + count, 0)
  const seconds = ((ok.length * bucketMs) / 1000).toFixed(1)
  return (
    `<figure class="chart timeline" data-chart="${escapeHtml(id)}"><figcaption>${escapeHtml(title)}: ${totalOk} answered, ${totalFailed} failed, by when sent (${bucketMs} ms a column)</figcaption>` +
    `<svg role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${TIMELINE_HEIGHT + 40}" viewBox="0 0 ${width} ${TIMELINE_HEIGHT + 40}">` +
    `<text class="axis" x="${left - 6}" y="24" text-anchor="end">${largest}</text><text class="axis" x="${left - 6}" y="${20 + TIMELINE_HEIGHT}" text-anchor="end">0</text>` +
    `${columns.join('')}${marks.join('')}` +
    `<text class="axis" x="${left}" y="${TIMELINE_HEIGHT + 36}">0 s</text><text class="axis" x="${width - 10}" y="${TIMELINE_HEIGHT + 36}" text-anchor="end">${seconds} s</text>` +
    `</svg></figure>`
  )
}

/** Every timeline the run's claims recorded, titled by claim and name. */
function timelinesOf(summary: Summary): string[] {
  const titles: Record<string, string> = {
    'LB-5 stopped': 'LB-5: a gateway replica stopped under steady load',
    'LB-5 crashed': 'LB-5: a gateway replica crashed under steady load',
    'UP-1 guide': "UP-1: the guide's rolling update under load",
    'UP-1 readme': "UP-1: the README's rolling update under load",
  }
  return summary.claims.flatMap(({ id, timelines }) =>
    Object.entries(timelines ?? {}).map(([name, timeline]) =>
      timelineChart(`${id}-${name}`, titles[`${id} ${name}`] ?? `${id}: ${name}`, timeline),
    ),
  )
}

/** The figures of a claim whose names match `pattern`, one bar each, named by the pattern's first group. */
function barsOf(figures: Record<string, number> | undefined, pattern: RegExp, label = (name: string) => name): Bar[] {
  return Object.entries(figures ?? {}).flatMap(([name, value]) => {
    const match = pattern.exec(name)
    // A summary written before figures were kept finite may hold null for one.
    return match?.[1] === undefined || !Number.isFinite(value) ? [] : [{ label: label(match[1]), value }]
  })
}

/** The charts this run's figures make; a claim that measured nothing of the kind makes none. */
export function chartsOf(summary: Summary): Chart[] {
  const figures = (id: string) => summary.claims.find((claim) => claim.id === id)?.figures
  const charts: Chart[] = []
  const add = (chart: Chart) => {
    if (chart.bars.length > 0) charts.push(chart)
  }
  add({
    id: 'LB-2',
    title: 'LB-2: requests per gateway replica, sent one at a time through nginx',
    unit: 'requests',
    bars: barsOf(figures('LB-2'), /^replica(\d+)Requests$/, (n) => `replica ${n}`),
  })
  const slow = figures('LB-3')
  const requests = slow?.requests ?? 0
  add({
    id: 'LB-3',
    title: `LB-3: each replica's share of the requests, replica 1 slowed by ${slow?.delayMs ?? '?'} ms`,
    unit: '',
    bars:
      requests > 0
        ? barsOf(slow, /^replica(\d+)Requests$/, (n) => `replica ${n}`).map((bar) => ({
            ...bar,
            value: bar.value / requests,
          }))
        : [],
    ...(slow?.evenShare === undefined ? {} : { reference: { label: 'even share', value: slow.evenShare } }),
  })
  add({
    id: 'MB-1',
    title: 'MB-1: commands handled per user-service instance',
    unit: 'commands',
    bars: barsOf(figures('MB-1'), /^instance(\d+)Commands$/, (n) => `instance ${n}`),
  })
  const health = figures('HC-1')
  add({
    id: 'HC-1',
    title: 'HC-1: time to healthy per service at start-up, against its budget (the red mark)',
    unit: 'ms',
    bars: barsOf(health, /^(.+)HealthyMs$/).map((bar) => {
      const budget = health?.[`${bar.label}BudgetMs`]
      return budget === undefined ? bar : { ...bar, limit: budget }
    }),
  })
  add({
    id: 'HC-3',
    title: "HC-3: a dependency stopped, then started: until the gateway's /health says so",
    unit: 'ms',
    bars: [
      ...barsOf(figures('HC-3'), /^(.+)DetectMs$/, (name) => `${name} stopped: detected`),
      ...barsOf(figures('HC-3'), /^(.+)RecoverMs$/, (name) => `${name} back: recovered`),
    ],
  })
  add({
    id: 'HC-4',
    title: 'HC-4: a main process killed: until restarted, and until healthy again',
    unit: 'ms',
    bars: [
      ...barsOf(figures('HC-4'), /^(.+)RestartedMs$/, (name) => `${name} restarted`),
      ...barsOf(figures('HC-4'), /^(.+)HealthyMs$/, (name) => `${name} healthy`),
    ],
  })
  add({
    id: 'costs',
    title: 'Time per suite (wall seconds)',
    unit: 's',
    bars: (summary.costs ?? [])
      .filter(({ wallMs }) => wallMs > 0)
      .map(({ name, wallMs }) => ({
        label: name.replace(/^suites\//, '').replace(/\.test\.ts$/, ''),
        value: wallMs / 1000,
      })),
  })
  return charts
}

/** A claim's text as CLAIMS.md writes it: `commands` in backticks shown as code. */
const claimText = (text: string): string =>
  escapeHtml(text).replace(/`([^`]+)`/g, (_, code: string) => `<code>${code}</code>`)

/** A status as a coloured label; `text` in place of the status's own words. */
const badge = (status: string, text = status): string =>
  `<span class="status ${status.replaceAll(' ', '-')}">${escapeHtml(text)}</span>`

function claimRow(claim: ClaimResult, text: string, reportsDir: string): string {
  const tests = claim.tests
    .map(({ name, status, message, evidence }) => {
      const link =
        evidence === undefined
          ? ''
          : ` <a class="evidence" href="${escapeHtml(relative(reportsDir, evidence))}/">evidence</a>`
      const why = message === undefined ? '' : `<pre>${escapeHtml(message)}</pre>`
      return `<li>${badge(status)} ${escapeHtml(name)}${link}${why}</li>`
    })
    .join('')
  const figures = Object.entries(claim.figures ?? {})
    .map(([name, value]) => `<span class="figure">${escapeHtml(name)} <b>${escapeHtml(formatted(value))}</b></span>`)
    .join(' ')
  const waivers = (claim.waivers ?? []).map((reason) => `<p class="waiver">waived: ${escapeHtml(reason)}</p>`).join('')
  return (
    `<tr class="claim" id="${escapeHtml(claim.id)}" data-status="${escapeHtml(claim.status)}">` +
    `<th>${escapeHtml(claim.id)}</th><td>${badge(claim.status)}</td>` +
    `<td><p>${claimText(text)}</p>${waivers}${tests === '' ? '' : `<ul>${tests}</ul>`}${figures === '' ? '' : `<p class="figures">${figures}</p>`}</td></tr>`
  )
}

/** The pages' one stylesheet, inline in each. */
export const PAGE_CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #1b1f24; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #d0d7de; }
.verdict { padding: 1em 1.2em; border-radius: 6px; }
.verdict.passed { background: #dafbe1; } .verdict.failed { background: #ffebe9; } .verdict.interrupted { background: #fff8c5; }
.counts span { margin-right: 1.2em; }
table { border-collapse: collapse; width: 100%; } th { white-space: nowrap; } th, td { text-align: left; vertical-align: top; padding: .4em .6em; border-top: 1px solid #eaeef2; }
.claim p { margin: 0 0 .3em; } .claim ul { margin: .2em 0; padding-left: 1.2em; }
pre { white-space: pre-wrap; background: #f6f8fa; padding: .4em; margin: .2em 0; font-size: 12px; }
.status { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: 12px; background: #eaeef2; white-space: nowrap; }
.status.verified, .status.passed { background: #aceebb; } .status.refuted, .status.failed { background: #ffcecb; }
.status.waived { background: #fff1a8; } .status.not-verifiable-here, .status.skipped { background: #ddf4ff; }
.figure { display: inline-block; margin-right: 1em; color: #57606a; } .waiver { color: #7d4e00; }
.chart { margin: 1em 0; } .chart figcaption { font-weight: 600; margin-bottom: .3em; }
.chart rect { fill: #54aeff; } .chart text { font-size: 12px; fill: #1b1f24; } .chart .reference line { stroke: #cf222e; stroke-dasharray: 4 3; }
.chart .reference text { fill: #cf222e; }
.timeline rect.failed { fill: #cf222e; } .timeline .event line { stroke: #1b1f24; stroke-dasharray: 3 3; } .timeline .axis { fill: #57606a; }
.chart .limit { stroke: #cf222e; stroke-width: 2; }
.commands code { font-size: 12px; word-break: break-all; } .use { font-weight: 600; } .use.changed { color: #7d4e00; } .use.not-run { color: #57606a; }
dl.setup { display: grid; grid-template-columns: max-content 1fr; gap: .1em 1em; } dl.setup dt { color: #57606a; }
`

export interface ReportInput {
  summary: Summary
  /** Where the page is written: evidence is linked relative to it. */
  reportsDir: string
}

/** The run's page, as one string of HTML. */
export function renderReport({ summary, reportsDir }: ReportInput): string {
  const byId = new Map(summary.claims.map((claim) => [claim.id, claim]))
  const counts = STATUSES.map(
    (status) => `<span>${badge(status)} ${summary.claims.filter((claim) => claim.status === status).length}</span>`,
  ).join('')
  const setup = Object.entries(summary.setup)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(String(value))}</dd>`)
    .join('')
  const coverage = Object.entries(SECTIONS)
    .map(([prefix, section]) => {
      const claims = CLAIMS.filter(({ id }) => id.startsWith(`${prefix}-`))
      const cells = claims
        .map(
          ({ id }) =>
            `<a href="#${id}">${badge(byId.get(id)?.status ?? 'not checked', `${id} ${byId.get(id)?.status ?? 'not checked'}`)}</a>`,
        )
        .join(' ')
      return `<tr><th>${escapeHtml(section)}</th><td>${cells}</td></tr>`
    })
    .join('')
  // The guide's commands, each with how the suite used it and the claims it serves, coloured by this run's verdicts.
  const commands = GUIDE_COMMANDS.map(
    ({ section, command, claims, use, how }) =>
      `<tr class="command" data-use="${escapeHtml(use)}"><td>${escapeHtml(section)}</td><td><code>${escapeHtml(command)}</code></td>` +
      `<td><span class="use ${use.replaceAll(' ', '-')}">${escapeHtml(use)}</span> ${escapeHtml(how)}</td>` +
      `<td>${claims.map((id) => `<a href="#${id}">${badge(byId.get(id)?.status ?? 'not checked', id)}</a>`).join(' ')}</td></tr>`,
  ).join('')
  const sections = Object.entries(SECTIONS)
    .map(([prefix, section]) => {
      const rows = CLAIMS.filter(({ id }) => id.startsWith(`${prefix}-`)).map(({ id, text }) =>
        claimRow(byId.get(id) ?? { id, status: 'not checked', tests: [] }, text, reportsDir),
      )
      return `<h3>${escapeHtml(section)}</h3><table>${rows.join('')}</table>`
    })
    .join('')
  // A claim the summary has and CLAIMS.md has not (a test that names an ID the guide lacks) is
  // shown after the guide's, never dropped.
  const known = new Set(CLAIMS.map(({ id }) => id))
  const strays = summary.claims.filter(({ id }) => !known.has(id))
  const strayRows =
    strays.length === 0
      ? ''
      : `<h3>Not in CLAIMS.md</h3><table>${strays.map((claim) => claimRow(claim, 'a claim CLAIMS.md does not list', reportsDir)).join('')}</table>`
  const charts = [...chartsOf(summary).map(barChart), ...timelinesOf(summary)].join('')
  const wall = `${(summary.wallMs / 1000).toFixed(1)} s`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>banyan-verify ${escapeHtml(summary.run)}: ${escapeHtml(summary.outcome)}</title>
<style>${PAGE_CSS}</style></head><body>
<h1>banyan-verify: run ${escapeHtml(summary.run)}</h1>
<section class="verdict ${escapeHtml(summary.outcome)}" id="verdict"><p><b>The gate ${escapeHtml(summary.outcome === 'interrupted' ? 'was interrupted: no verdict' : summary.outcome)}</b>, started ${escapeHtml(summary.startedAt)}, ${escapeHtml(wall)}.</p>
<p class="counts">${counts}</p><dl class="setup">${setup}</dl></section>
<h2>The guide, section by section</h2><table class="coverage">${coverage}</table>
<h3>The guide's commands: run as written, changed, or not run</h3><table class="commands"><tr><th>section</th><th>command</th><th>what the suite does</th><th>claims</th></tr>${commands}</table>
<h2>Charts</h2>${charts === '' ? '<p>No figures this run to chart.</p>' : charts}
<h2>Every claim</h2>${sections}${strayRows}
</body></html>
`
}
