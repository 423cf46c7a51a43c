// Measures what the suite costs over the plainest way to start and stop the same stack: the main
// job's wall time against `docker compose up --wait` plus `down -v` of the same topology, with
// the same run override (labels, health interval), in the same invocation, rounds alternating.
// Prints ratios, asserts nothing: speed is watched, not gated.
//
// Usage: pnpm bench [rounds]   (default 3)
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { composeFileArgs } from '../helpers/compose.ts'
import { loadConfig, ROOT } from '../helpers/config.ts'
import { docker, firstLine, run } from '../helpers/docker.ts'
import { preflight } from '../helpers/preflight.ts'
import { newRunEnvironment, readyRun } from '../helpers/run.ts'
import { sweep } from '../helpers/sweep.ts'

const rounds = Number(process.argv[2] ?? 3)
const config = loadConfig()

async function timed(work: () => Promise<void>): Promise<number> {
  const start = performance.now()
  await work()
  return performance.now() - start
}

async function bare(): Promise<number> {
  const runEnv = newRunEnvironment()
  const checked = await preflight(config, runEnv)
  // Built before the clock starts, as the main job does: both time the stack, not the build.
  const context = await readyRun(config, checked, runEnv)
  const compose = [...composeFileArgs({ ...config, composeFiles: context.composeFiles }), '-p', context.runId]
  const env = { ...process.env, ...context.composeEnv }
  try {
    return await timed(async () => {
      const up = await docker(['compose', ...compose, 'up', '-d', '--wait'], {
        env,
        timeoutMs: context.startupBudgetMs,
      })
      if (up.exitCode !== 0) throw new Error(`bare compose up failed: ${firstLine(up.stderr)}`)
      const down = await docker(['compose', ...compose, 'down', '-v'], { env })
      if (down.exitCode !== 0) throw new Error(`bare compose down failed: ${firstLine(down.stderr)}`)
    })
  } finally {
    await sweep({ run: context.runId })
  }
}

async function suite(): Promise<number> {
  const reports = mkdtempSync(join(tmpdir(), 'banyan-bench-'))
  return timed(async () => {
    const { exitCode, stderr } = await run(process.execPath, [join(ROOT, 'scripts/banyan.ts'), 'verify'], {
      env: { ...process.env, BANYAN_REPORTS: reports },
      timeoutMs: 1_800_000,
    })
    if (exitCode !== 0) throw new Error(`the main job failed (exit ${exitCode}), so its time means nothing:\n${stderr}`)
  })
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

const times = { bare: [] as number[], suite: [] as number[] }
for (let round = 1; round <= rounds; round++) {
  // Alternate which goes first, so a warm cache or a busy daemon favours neither.
  const order = round % 2 === 1 ? (['bare', 'suite'] as const) : (['suite', 'bare'] as const)
  for (const which of order) times[which].push(which === 'bare' ? await bare() : await suite())
  process.stderr.write(
    `bench: round ${round}/${rounds}: bare ${seconds(times.bare.at(-1) ?? 0)}, suite ${seconds(times.suite.at(-1) ?? 0)}\n`,
  )
}

const row = (label: string, values: number[]): string =>
  `${label.padEnd(34)}${seconds(median(values)).padStart(9)}${seconds(Math.min(...values)).padStart(9)}${seconds(Math.max(...values)).padStart(9)}`
const ratio = median(times.suite) / median(times.bare)
console.log(`\n${''.padEnd(34)}   median      min      max   (${rounds} rounds, ${config.composeFiles.join(':')})`)
console.log(row('docker compose up --wait + down -v', times.bare))
console.log(row('main job (pnpm test:stack)', times.suite))
console.log(`${'ratio main job / bare'.padEnd(34)}${ratio.toFixed(2).padStart(9)}`)
writeFileSync(join(config.reportsDir, 'bench.json'), JSON.stringify({ rounds, times, ratio }, null, 2))
