import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { beforeDeadline, drillTrend, writeDrillReport, type DrillReport, type DrillTrend } from './drill-report.ts'
import { scratchDir } from './scratch.ts'

const drill = (startedAt: string, rtoMs: number, passed = true): DrillReport => ({
  runId: 'bv-test',
  startedAt,
  passed,
  rtoMs,
  rpoLostWrites: passed ? 12 : 15,
  rpoWindowMs: 900,
  lostBeforeBackupPoint: passed ? 0 : 3,
  exposureMs: 900,
  writesAcknowledged: 300,
  wallMs: 25_000,
  steps: [{ name: 'back up the database', command: 'pg_dump | gzip', ms: 200 }],
  failures: passed ? [] : ['3 writes acknowledged before the backup point are missing'],
})

describe('the drill report', () => {
  it('writes JSON and a Markdown page, and keeps every drill in a history shown as a trend', () => {
    const dir = scratchDir('drill')
    writeDrillReport(dir, drill('2026-11-26T02:00:00.000Z', 14_000))
    const page = writeDrillReport(dir, drill('2026-11-27T02:00:00.000Z', 16_500, false))
    const markdown = readFileSync(page, 'utf8')
    expect(markdown).toContain('# Disaster-recovery drill 2026-11-27T02:00:00.000Z: FAILED')
    expect(markdown).toContain('**RTO** 16.5 s')
    expect(markdown).toContain('- 3 writes acknowledged before the backup point are missing')
    // A pipe in a command would end its table cell.
    expect(markdown).toContain('`pg_dump \\| gzip`')
    expect(markdown).toContain('| 2026-11-26T02:00:00.000Z | passed | 14.0 s | 12 |')
    const history = readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n')
    expect(history).toHaveLength(2)
    const json = JSON.parse(readFileSync(page.replace(/\.md$/, '.json'), 'utf8')) as DrillReport
    expect(json.lostBeforeBackupPoint).toBe(3)
  })

  it('reports a drill that failed part way: the step that failed, with what it said, and no RTO', () => {
    const dir = scratchDir('drill')
    const page = writeDrillReport(dir, {
      ...drill('2026-11-28T02:00:00.000Z', 0, false),
      rtoMs: null,
      rpoLostWrites: null,
      rpoWindowMs: null,
      steps: [
        { name: 'start the database', command: 'docker compose up -d --wait postgres', ms: 60_000, error: 'exit 1' },
      ],
      failures: ['step "start the database" failed: exit 1'],
      keptFiles: '/tmp/drill-files',
    })
    const markdown = readFileSync(page, 'utf8')
    expect(markdown).toContain('**RTO** n/a')
    expect(markdown).toContain(
      '| start the database | `docker compose up -d --wait postgres` | 60.0 s | FAILED: exit 1 |',
    )
    expect(markdown).toContain('kept in /tmp/drill-files')
  })
})

describe('a drill against its deadline', () => {
  it('gives up with what was under way, and never keeps a finished one waiting', async () => {
    const never = new Promise<string>(() => undefined)
    await expect(beforeDeadline(never, 20, () => 'under way: restore the volumes')).rejects.toThrow(
      'under way: restore the volumes',
    )
    await expect(beforeDeadline(Promise.resolve('done'), 60_000, () => 'late')).resolves.toBe('done')
  })

  it('marks a drill whose RTO is more than half again the earlier median, on its page and in trend.json', () => {
    const dir = scratchDir('drill')
    for (const [day, rto] of [
      [1, 20_000],
      [2, 22_000],
      [3, 21_000],
    ] as const)
      writeDrillReport(dir, drill(`2026-11-0${day}T02:00:00.000Z`, rto))
    const steady = readFileSync(join(dir, 'index.html'), 'utf8')
    expect(steady).toContain('RTO not judged: fewer than 3 earlier drills recovered')
    writeDrillReport(dir, drill('2026-11-04T02:00:00.000Z', 31_600))
    const page = readFileSync(join(dir, 'index.html'), 'utf8')
    expect(page).toContain('RTO regressed: the latest drill took 31.6 s, more than 50% over the earlier drills')
    expect(page.match(/<tr class="drill">/g)).toHaveLength(4)
    expect(JSON.parse(readFileSync(join(dir, 'trend.json'), 'utf8'))).toEqual({
      failed: false,
      regressed: true,
      latestRtoMs: 31_600,
      medianRtoMs: 21_000,
      margin: 0.5,
      drills: 4,
    } satisfies DrillTrend)
  })

  it('judges no trend on fewer than three earlier drills, and counts no drill that never recovered', () => {
    const never = { ...drill('2026-11-02T02:00:00.000Z', 0, false), rtoMs: null }
    expect(
      drillTrend([drill('2026-11-01T02:00:00.000Z', 20_000), never, drill('2026-11-03T02:00:00.000Z', 90_000)]),
    ).toMatchObject({
      regressed: false,
      medianRtoMs: null,
    })
    expect(
      drillTrend([20_000, 20_000, 20_000, 30_000].map((rto, day) => drill(`2026-11-0${day + 1}T02:00:00.000Z`, rto))),
    ).toMatchObject({ regressed: false, medianRtoMs: 20_000 })
  })

  it('flags a drill that failed, on its page and in trend.json, and leaves failed drills out of the median', () => {
    const dir = scratchDir('drill')
    for (const day of [1, 2, 3]) writeDrillReport(dir, drill(`2026-11-0${day}T02:00:00.000Z`, 20_000))
    // Failed, though quick: its RTO must not pull the median down.
    writeDrillReport(dir, drill('2026-11-04T02:00:00.000Z', 1_000, false))
    writeDrillReport(dir, { ...drill('2026-11-05T02:00:00.000Z', 0, false), rtoMs: null, failures: ['never healthy'] })
    const page = readFileSync(join(dir, 'index.html'), 'utf8')
    expect(page).toContain('The latest drill FAILED: never healthy.')
    // Four bars: the drill that never recovered has none, rather than the best one of 0 s.
    expect(page.match(/data-chart="rto"[\s\S]*?<\/figure>/)?.[0].match(/<rect /g)).toHaveLength(4)
    expect(JSON.parse(readFileSync(join(dir, 'trend.json'), 'utf8'))).toMatchObject({
      failed: true,
      regressed: false,
      medianRtoMs: 20_000,
    })
  })
})
