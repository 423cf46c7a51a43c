// The run page as a person sees it: opened from disk in Debian's Chromium (scripts/setup installs
// it; playwright-core drives it, with no browser of its own), no console error, every claim row
// and chart drawn with the run's numbers, an evidence link that opens. The screenshot is kept
// under reports/ for a person to look at.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { CLAIMS } from './claims.ts'
import { ROOT } from './config.ts'
import { drillPage, type DrillReport } from './drill-report.ts'
import { renderReport } from './html-report.ts'
import type { Summary } from './report.ts'
import { scratchDir } from './scratch.ts'

/** Flags for a root user on a machine with no network: no sandbox, and nothing reaching out at start. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The page at `file` in Chromium: what `look` finds there, the console's errors, and a screenshot kept as `shot`. */
async function inBrowser<T>(
  file: string,
  shot: string,
  look: (tab: Page) => Promise<T>,
): Promise<{ errors: string[]; seen: T }> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS })
  try {
    const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    const errors: string[] = []
    tab.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    tab.on('pageerror', (error) => errors.push(error.message))
    await tab.goto(`file://${file}`)
    mkdirSync(join(ROOT, 'reports'), { recursive: true })
    await tab.screenshot({ path: join(ROOT, 'reports', shot), fullPage: true })
    return { errors, seen: await look(tab) }
  } finally {
    await browser.close()
  }
}

/** Each chart on a page: its name, how many bars, the values written beside them, and whether it takes room. */
async function chartsOn(tab: Page) {
  const charts = []
  for (const figure of await tab.locator('figure.chart').all())
    charts.push({
      chart: await figure.getAttribute('data-chart'),
      bars: await figure.locator('rect').count(),
      values: await figure.locator('text.value').allTextContents(),
      limits: await figure.locator('line.limit').count(),
      drawn: ((await figure.locator('svg').boundingBox())?.width ?? 0) > 0,
    })
  return charts
}

describe('the run page in a browser', () => {
  it('renders every claim and chart with the run’s numbers, with no console error, and its evidence opens', async () => {
    const dir = scratchDir('page')
    const evidence = join(dir, 'runs', 'bv-0badf00d', 'evidence', 'LB-3-a-slow-replica')
    mkdirSync(evidence, { recursive: true })
    writeFileSync(join(evidence, 'bv-0badf00d-nginx-1.txt'), 'nginx state and logs')
    const summary: Summary = {
      run: 'bv-0badf00d',
      outcome: 'failed',
      startedAt: '2026-12-01T14:00:00.000Z',
      wallMs: 412_000,
      setup: { engine: '26.1.5', compose: '2.26.1', images: 'offline' },
      claims: [
        {
          id: 'LB-2',
          status: 'verified',
          tests: [{ name: '[LB-2] spread', status: 'passed' }],
          figures: { requests: 300, replica1Requests: 100, replica2Requests: 97, replica3Requests: 103 },
        },
        {
          id: 'LB-3',
          status: 'refuted',
          tests: [{ name: '[LB-3] slow replica', status: 'failed', message: 'share 0.33 <= 0.2', evidence }],
          figures: {
            requests: 240,
            delayMs: 300,
            evenShare: 0.333,
            replica1Requests: 80,
            replica2Requests: 81,
            replica3Requests: 79,
          },
        },
        {
          id: 'HC-1',
          status: 'verified',
          tests: [{ name: '[HC-1] healthy', status: 'passed' }],
          figures: { nginxHealthyMs: 1086, nginxBudgetMs: 40_000, rabbitmqHealthyMs: 7723, rabbitmqBudgetMs: 40_000 },
        },
        {
          id: 'LB-5',
          status: 'refuted',
          tests: [{ name: '[LB-5] a replica stopped', status: 'failed', message: '5 of 18 requests failed' }],
          timelines: {
            stopped: {
              bucketMs: 100,
              ok: [5, 5, 0, 3],
              failed: [0, 0, 4, 1],
              events: [{ label: 'replica stopped', atMs: 150 }],
            },
          },
        },
      ],
      costs: [{ name: 'suites/health.test.ts', wallMs: 21_500, cpuSeconds: 17 }],
    }
    const page = join(dir, 'index.html')
    writeFileSync(page, renderReport({ summary, reportsDir: dir }))

    const { errors, seen } = await inBrowser(page, 'report-page.png', async (tab) => {
      const rows: [string | null, string | null, boolean][] = []
      for (const row of await tab.locator('tr.claim').all())
        rows.push([await row.getAttribute('id'), await row.getAttribute('data-status'), await row.isVisible()])
      const charts = await chartsOn(tab)
      await tab.getByRole('link', { name: 'evidence' }).click()
      return { rows, charts, opened: await tab.textContent('body') }
    })
    expect({
      errors,
      rows: seen.rows.length,
      statuses: Object.fromEntries(seen.rows.map(([id, status]) => [id, status])),
      hidden: seen.rows.filter(([, , shown]) => !shown).map(([id]) => id),
      charts: seen.charts,
      evidenceOpens: seen.opened?.includes('bv-0badf00d-nginx-1.txt'),
    }).toEqual({
      errors: [],
      rows: CLAIMS.length,
      statuses: expect.objectContaining({ 'LB-2': 'verified', 'LB-3': 'refuted', 'LC-1': 'not checked' }),
      hidden: [],
      charts: [
        { chart: 'LB-2', bars: 3, values: ['100 requests', '97 requests', '103 requests'], limits: 0, drawn: true },
        { chart: 'LB-3', bars: 3, values: ['0.333 ', '0.338 ', '0.329 '], limits: 0, drawn: true },
        { chart: 'HC-1', bars: 2, values: ['1086 ms', '7723 ms'], limits: 2, drawn: true },
        { chart: 'costs', bars: 1, values: ['21.5 s'], limits: 0, drawn: true },
        // Four columns of answered requests, two with failures on them.
        { chart: 'LB-5-stopped', bars: 6, values: [], limits: 0, drawn: true },
      ],
      evidenceOpens: true,
    })
  })

  it('shows the drill history: RTO and exposure per drill, the latest steps, and the mark of a slower recovery', async () => {
    const drill = (day: number, rtoMs: number): DrillReport => ({
      runId: `bv-drill${day}`,
      startedAt: `2026-11-0${day}T02:00:00.000Z`,
      passed: true,
      rtoMs,
      rpoLostWrites: 10,
      rpoWindowMs: 1_000,
      lostBeforeBackupPoint: 0,
      exposureMs: 1_500,
      writesAcknowledged: 2_000,
      wallMs: 30_000,
      steps: [
        { name: 'stop', command: 'docker compose down', ms: 2_000 },
        { name: 'restore', command: 'docker compose up -d', ms: 9_500 },
      ],
      failures: [],
    })
    const dir = scratchDir('drills')
    const page = join(dir, 'index.html')
    writeFileSync(page, drillPage([drill(1, 20_000), drill(2, 22_000), drill(3, 21_000), drill(4, 40_000)]))
    const { errors, seen } = await inBrowser(page, 'drill-page.png', async (tab) => ({
      mark: await tab.locator('.regressed').textContent(),
      drills: await tab.locator('tr.drill').count(),
      charts: await chartsOn(tab),
    }))
    expect({ errors, ...seen }).toEqual({
      errors: [],
      mark: "RTO regressed: the latest drill took 40.0 s, more than 50% over the earlier drills' median of 21.0 s.",
      drills: 4,
      charts: [
        { chart: 'rto', bars: 4, values: ['20 s', '22 s', '21 s', '40 s'], limits: 0, drawn: true },
        { chart: 'exposure', bars: 4, values: ['1.5 s', '1.5 s', '1.5 s', '1.5 s'], limits: 0, drawn: true },
        { chart: 'steps', bars: 2, values: ['2 s', '9.5 s'], limits: 0, drawn: true },
      ],
    })
  })
})
