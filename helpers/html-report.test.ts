import { describe, expect, it } from 'vitest'
import { CLAIMS } from './claims.ts'
import { GUIDE_COMMANDS } from './guide-commands.ts'
import { barChart, chartsOf, escapeHtml, renderReport, timelineChart } from './html-report.ts'
import type { Summary } from './report.ts'

const summary: Summary = {
  run: 'bv-0123abcd',
  outcome: 'failed',
  startedAt: '2026-12-01T14:00:00.000Z',
  wallMs: 412_000,
  setup: { engine: '26.1.5', compose: '2.26.1', images: 'offline', healthInterval: 'as declared' },
  claims: [
    {
      id: 'LB-2',
      status: 'verified',
      tests: [{ name: '[LB-2] nginx spreads requests', status: 'passed' }],
      figures: { requests: 300, replica1Requests: 100, replica2Requests: 99, replica3Requests: 101, pValue: 0.99 },
    },
    {
      id: 'LB-3',
      status: 'refuted',
      tests: [
        {
          name: '[LB-3] a slow replica gets fewer',
          status: 'failed',
          message: 'share <0.5> & "more"',
          evidence: '/r/runs/bv-0123abcd/evidence/LB-3-a-slow-replica',
        },
      ],
      figures: {
        requests: 240,
        delayMs: 300,
        evenShare: 0.333,
        replica1Requests: 80,
        replica2Requests: 80,
        replica3Requests: 80,
      },
    },
    { id: 'NI-3', status: 'waived', tests: [{ name: '[NI-3] no way out', status: 'failed' }], waivers: ['the host'] },
    { id: 'UP-30', status: 'refuted', tests: [{ name: '[UP-30] a typo', status: 'failed', message: 'no such claim' }] },
  ],
  costs: [
    { name: 'stack start-up', wallMs: 16_000, cpuSeconds: 17 },
    { name: 'suites/disruptive/scaling.test.ts', wallMs: 105_000, cpuSeconds: 130 },
  ],
}

describe('the run page', () => {
  const page = renderReport({ summary, reportsDir: '/r' })

  it('answers every claim of CLAIMS.md, in its order, those without a test as not checked, then any other', () => {
    const rows = [...page.matchAll(/<tr class="claim" id="([A-Z]{2}-\d+)" data-status="([^"]+)"/g)]
    expect(rows.map(([, id]) => id)).toEqual([...CLAIMS.map(({ id }) => id), 'UP-30'])
    expect(Object.fromEntries(rows.map(([, id, status]) => [id, status]))).toMatchObject({
      'LB-2': 'verified',
      'LB-3': 'refuted',
      'NI-3': 'waived',
      'LC-1': 'not checked',
    })
  })

  it('says the verdict first, and escapes what the failures say', () => {
    expect(page.indexOf('id="verdict"')).toBeLessThan(page.indexOf('class="claim"'))
    expect(page).toContain('share &#60;0.5&#62; &#38; &#34;more&#34;')
    expect(page).not.toContain('<0.5>')
  })

  it('links evidence relative to the page, so the reports folder can move', () => {
    expect(page).toContain('href="runs/bv-0123abcd/evidence/LB-3-a-slow-replica/"')
  })

  it('fetches nothing: no script, no stylesheet or image from anywhere', () => {
    expect(page).not.toMatch(/<script|<link|src=|url\(/)
  })

  it('charts the figures there are: replicas, shares against the even share, time per suite', () => {
    const charts = chartsOf(summary)
    expect(charts.map(({ id }) => id)).toEqual(['LB-2', 'LB-3', 'costs'])
    expect(charts[1]?.bars.map(({ value }) => Number(value.toFixed(3)))).toEqual([0.333, 0.333, 0.333])
    expect(charts[1]?.reference).toEqual({ label: 'even share', value: 0.333 })
    expect(charts[2]?.bars).toEqual([
      { label: 'stack start-up', value: 16 },
      { label: 'disruptive/scaling', value: 105 },
    ])
  })

  it('draws a bar to scale with its value written beside it', () => {
    const svg = barChart({
      id: 'x',
      title: 'x',
      unit: 'ms',
      bars: [
        { label: 'a', value: 50 },
        { label: 'b', value: 100 },
      ],
    })
    const widths = [...svg.matchAll(/<rect [^>]*width="([\d.]+)"/g)].map(([, width]) => Number(width))
    expect(widths[1]).toBeCloseTo(2 * (widths[0] ?? 0), 5)
    expect(svg).toContain('>100 ms</text>')
  })

  it("marks a bar's own limit across its row, and scales the chart to take it in", () => {
    const svg = barChart({ id: 'x', title: 'x', unit: 'ms', bars: [{ label: 'a', value: 50, limit: 100 }] })
    const [limitX] = [...svg.matchAll(/<line class="limit" x1="([\d.]+)"/g)].map(([, x]) => Number(x))
    const [width] = [...svg.matchAll(/<rect [^>]*width="([\d.]+)"/g)].map(([, w]) => Number(w))
    // The bar reaches half way to the limit's mark, which sits at the plot's end.
    expect({ limitX, width }).toEqual({ limitX: 200 + 360, width: 180 })
  })

  it('draws a timeline a column a bucket, failures stacked in their colour, events as lines', () => {
    const svg = timelineChart('LB-5-stopped', 'LB-5: stopped', {
      bucketMs: 100,
      ok: [4, 0, 2],
      failed: [0, 4, 1],
      events: [{ label: 'replica stopped', atMs: 100 }],
    })
    expect({
      okColumns: [...svg.matchAll(/<rect class="ok"/g)].length,
      failedColumns: [...svg.matchAll(/<rect class="failed"/g)].length,
      events: [...svg.matchAll(/<g class="event">.*?<text [^>]*>([^<]+)<\/text>/g)].map(([, label]) => label),
      caption: /<figcaption>([^<]+)<\/figcaption>/.exec(svg)?.[1],
      titles: [...svg.matchAll(/<title>([^<]+)<\/title>/g)].map(([, title]) => title),
    }).toEqual({
      okColumns: 3,
      failedColumns: 2,
      events: ['replica stopped'],
      caption: 'LB-5: stopped: 6 answered, 5 failed, by when sent (100 ms a column)',
      titles: ['0.0 s: 4 answered, 0 failed', '0.1 s: 0 answered, 4 failed', '0.2 s: 2 answered, 1 failed'],
    })
  })

  it("lists the guide's commands with what the suite does with each, their claims coloured by this run", () => {
    const rows = [...page.matchAll(/<tr class="command" data-use="([^"]+)">/g)]
    expect(rows.length).toBe(GUIDE_COMMANDS.length)
    expect(page).toContain('<code>docker compose up -d --no-deps --scale api-gateway=3 api-gateway</code>')
    expect(page).toMatch(
      /<code>docker compose pull<\/code><\/td><td><span class="use not-run">not run<\/span> no registry/,
    )
  })

  it('draws the page when a figure is not a number (a service never healthy), leaving that bar out', () => {
    const never: Summary = {
      ...summary,
      claims: [
        {
          id: 'HC-1',
          status: 'refuted',
          tests: [{ name: '[HC-1] healthy in time', status: 'failed', message: 'nginx: no health check' }],
          // What JSON made of Infinity in summaries written before figures were kept finite.
          figures: { nginxHealthyMs: null as unknown as number, redisHealthyMs: 1308, redisBudgetMs: 50_000 },
        },
      ],
    }
    expect(chartsOf(never).find(({ id }) => id === 'HC-1')?.bars).toEqual([
      { label: 'redis', value: 1308, limit: 50_000 },
    ])
    expect(renderReport({ summary: never, reportsDir: '/r' })).toContain('data-chart="HC-1"')
  })

  it('escapes every character HTML reads as markup', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;')
  })

  it('shows a claim CLAIMS.md lacks after the guide, never drops it', () => {
    expect(page).toMatch(/Not in CLAIMS\.md[\s\S]*<tr class="claim" id="UP-30" data-status="refuted"/)
  })

  it('colours the guide map by each claim’s status', () => {
    expect(page).toContain('<span class="status refuted">LB-3 refuted</span>')
    expect(page).toContain('<span class="status not-checked">LC-1 not checked</span>')
  })
})
