// Measures what the suite costs over the plainest way to start and stop the same stack: the main
// job's wall time and the CPU seconds the whole machine spent meanwhile (/proc/stat: the engine
// and the containers count too) against `docker compose up --wait` plus `down -v` of the same
// topology, with the same run override (labels, health interval), in the same invocation, rounds
// alternating; and what the stack's start-up and each suite cost, from the main job's summary.
// Prints ratios, asserts nothing: speed is watched, not gated.
//
// Usage: pnpm bench [rounds]   (default 3)
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { composeFileArgs } from '../helpers/compose.ts'
import { loadConfig, ROOT } from '../helpers/config.ts'
import { docker, firstLine, run } from '../helpers/docker.ts'
import type { Cost } from '../helpers/costs-reporter.ts'
import { machineCpu } from '../helpers/machine.ts'
import { preflight } from '../helpers/preflight.ts'
import type { Summary } from '../helpers/report.ts'
import { newRunEnvironment, readyRun } from '../helpers/run.ts'
import { sweep } from '../helpers/sweep.ts'

const rounds = Number(process.argv[2] ?? 3)
const config = loadConfig()

interface Measured {
  ms: number
  cpuSeconds: number
}

async function timed(work: () => Promise<void>): Promise<Measured> {
  const start = performance.now()
  const cpu = machineCpu().busy
  await work()
  return { ms: performance.now() - start, cpuSeconds: machineCpu().busy - cpu }
}

async function bare(): Promise<Measured> {
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

/** The main job, measured, with what its start-up and each suite cost (from its summary). */
async function suite(): Promise<Measured & { costs: Cost[] }> {
  const reports = mkdtempSync(join(tmpdir(), 'banyan-bench-'))
  const measured = await timed(async () => {
    const { exitCode, stderr } = await run(process.execPath, [join(ROOT, 'scripts/banyan.ts'), 'verify'], {
      env: { ...process.env, BANYAN_REPORTS: reports },
      timeoutMs: 1_800_000,
    })
    if (exitCode !== 0) throw new Error(`the main job failed (exit ${exitCode}), so its time means nothing:\n${stderr}`)
  })
  const summary = JSON.parse(readFileSync(join(reports, 'summary.json'), 'utf8')) as Summary
  return { ...measured, costs: summary.costs ?? [] }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const cpu = (value: number): string => `${value.toFixed(1)} cpu-s`

const measured = { bare: [] as Measured[], suite: [] as (Measured & { costs: Cost[] })[] }
for (let round = 1; round <= rounds; round++) {
  // Alternate which goes first, so a warm cache or a busy daemon favours neither.
  const order = round % 2 === 1 ? (['bare', 'suite'] as const) : (['suite', 'bare'] as const)
  for (const which of order) {
    if (which === 'bare') measured.bare.push(await bare())
    else measured.suite.push(await suite())
  }
  const [lastBare, lastSuite] = [measured.bare.at(-1), measured.suite.at(-1)]
  process.stderr.write(
    `bench: round ${round}/${rounds}: bare ${seconds(lastBare?.ms ?? 0)} ${cpu(lastBare?.cpuSeconds ?? 0)}, main job ${seconds(lastSuite?.ms ?? 0)} ${cpu(lastSuite?.cpuSeconds ?? 0)}\n`,
  )
}

const wall = (values: Measured[]): number[] => values.map(({ ms }) => ms)
const cpuSeconds = (values: Measured[]): number[] => values.map(({ cpuSeconds: spent }) => spent)
const row = (label: string, values: Measured[]): string =>
  `${label.padEnd(36)}${seconds(median(wall(values))).padStart(9)}${seconds(Math.min(...wall(values))).padStart(9)}${seconds(Math.max(...wall(values))).padStart(9)}${cpu(median(cpuSeconds(values))).padStart(13)}`
const ratio = median(wall(measured.suite)) / median(wall(measured.bare))
const cpuRatio = median(cpuSeconds(measured.suite)) / median(cpuSeconds(measured.bare))
// Each suite's median over the rounds, in the order the main job ran them.
const names = [...new Set(measured.suite.flatMap(({ costs }) => costs.map(({ name }) => name)))]
const suites = names.map((name) => {
  const seen = measured.suite.flatMap(({ costs }) => costs.filter((cost) => cost.name === name))
  return {
    name,
    wallMs: Math.round(median(seen.map(({ wallMs }) => wallMs))),
    cpuSeconds: Math.round(median(seen.map(({ cpuSeconds: spent }) => spent)) * 10) / 10,
  }
})

console.log(
  `\n${''.padEnd(36)}   median      min      max   median CPU   (${rounds} rounds, ${config.composeFiles.join(':')}, ${availableParallelism()} cores)`,
)
console.log(row('docker compose up --wait + down -v', measured.bare))
console.log(row('main job (pnpm test:stack)', measured.suite))
console.log(
  `${'ratio main job / bare'.padEnd(36)}${ratio.toFixed(2).padStart(9)}${''.padStart(18)}${cpuRatio.toFixed(2).padStart(13)}`,
)
console.log('\nmain job, by part (medians)')
for (const { name, wallMs, cpuSeconds: spent } of suites)
  console.log(`  ${name.padEnd(44)}${seconds(wallMs).padStart(9)}${cpu(spent).padStart(13)}`)
writeFileSync(
  join(config.reportsDir, 'bench.json'),
  JSON.stringify({ rounds, cores: availableParallelism(), measured, ratio, cpuRatio, suites }, null, 2),
)
