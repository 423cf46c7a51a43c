// banyan-verify's entry point.
//
//   node scripts/banyan.ts verify [vitest options]   the main job: verify the stack COMPOSE_FILE names
//   node scripts/banyan.ts static [vitest options]   the static checks alone: the configuration, in seconds
//   node scripts/banyan.ts test [vitest options]     the project's own tests, then the main job (--shard=i/n: a share)
//   node scripts/banyan.ts merge FOLDER...            the shards of a sharded `test` joined into one verdict
//   node scripts/banyan.ts sweep [--all | --run ID]  remove what crashed runs (or all runs) left behind
//
// Exit codes: 0 verified, 1 a test failed (a claim is refuted), 2 bad input, 3 the machine is not
// ready, 130 interrupted. Bad input and an unready machine are one line on stderr, before anything starts.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig, ROOT, type Config } from '../helpers/config.ts'
import { PreflightError } from '../helpers/errors.ts'
import { claimFilter } from '../helpers/claims.ts'
import type { Cost } from '../helpers/costs-reporter.ts'
import { evidenceFor } from '../helpers/evidence.ts'
import { LOG_SCAN, scanGaps, type LogScanEntry } from '../helpers/log-watch.ts'
import { readFigures, readTimelines } from '../helpers/figures.ts'
import { renderReport } from '../helpers/html-report.ts'
import { ownerOf } from '../helpers/labels.ts'
import { mask, maskingStream } from '../helpers/mask.ts'
import { dockerVersions, preflight, type Preflight } from '../helpers/preflight.ts'
import { STATIC_CLAIMS, staticFindings, staticInput } from '../helpers/static-checks.ts'
import { policy } from '../fixtures/policy.ts'
import { RUN_FOR, RUN_RANGE } from '../helpers/alerting.ts'
import { guideRequestOutcomes } from '../helpers/elasticsearch.ts'
import { describeTiming, newRunEnvironment, newRunId, readyRun, runToEnv, secretsOf } from '../helpers/run.ts'
import {
  applicableWaivers,
  claimIds,
  claimTable,
  describeClaims,
  gatePasses,
  parseWaivers,
  readOutcomes,
  staleWaivers,
  summariseClaims,
  type Summary,
  type TestOutcome,
  type Waiver,
} from '../helpers/report.ts'
import { describeSweep, sweep, sweepRun } from '../helpers/sweep.ts'
import { enterSwarm, keepSwarm, leaveSwarm, swarmArgs } from '../helpers/swarm-target.ts'

/** How the run's Prometheus times the stack's alerts (helpers/alerting.ts), in the report. */
const ALERT_TIMING = `every \`for\` at ${RUN_FOR} and every range at most ${RUN_RANGE} in the run's copy of the rules (alerts.run.yml); the declared ones are judged by promtool on the guide's series`

interface RunResult {
  code: number
  outcomes: TestOutcome[]
  /** Failed tests a committed waiver accepts. */
  waived?: number
}

/** The stack's committed waivers (Config.waiversFile); none when the file is not there. */
function loadWaivers(config: Config): Waiver[] {
  const file = config.waiversFile
  if (!existsSync(file)) return []
  try {
    return parseWaivers(readFileSync(file, 'utf8'), file)
  } catch (error) {
    throw new PreflightError(`waivers: ${error instanceof Error ? error.message : String(error)}`, 2)
  }
}

function say(message: string): void {
  process.stderr.write(`banyan-verify: ${message}\n`)
}

async function sweepLeftovers(): Promise<void> {
  const swept = describeSweep(await sweep('orphans'))
  if (swept !== null) say(`removed what earlier crashed runs left: ${swept}`)
}

/** The signal that interrupted this process's tests, once one has. */
const interruption: { signal: NodeJS.Signals | null } = { signal: null }

/**
 * Runs vitest in a process group of its own and masks every secret in what it prints. On Ctrl-C
 * or SIGTERM the whole group is stopped (testcontainers' compose processes with it) before the
 * caller sweeps, so nothing can create a container after the sweep has looked.
 */
async function runVitest(args: string[], env: NodeJS.ProcessEnv, secrets: readonly string[]): Promise<number> {
  // Two runs side by side (`test`'s last phase): a signal that stopped one stops the other from
  // starting later, so a Ctrl-C during one's preflight is not left to run a whole main job.
  if (interruption.signal !== null) return 130
  const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs')
  const child = spawn(process.execPath, [vitest, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  child.stdout.pipe(maskingStream(secrets)).pipe(process.stdout)
  child.stderr.pipe(maskingStream(secrets)).pipe(process.stderr)

  // An object, not a boolean: it is set by a signal handler while this function awaits.
  const state = { interrupted: false }
  const stop = (signal: NodeJS.Signals): void => {
    if (state.interrupted || child.pid === undefined) return
    state.interrupted = true
    interruption.signal = signal
    say(`${signal}: stopping the tests, then removing what this run started`)
    process.kill(-child.pid, 'SIGINT')
    // Vitest closes on SIGINT; a group that has not gone within 20 s is killed outright.
    setTimeout(() => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    }, 20_000).unref()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const code = await new Promise<number>((resolve) => {
    child.on('exit', (exitCode) => {
      resolve(exitCode ?? 1)
    })
  })
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
  return state.interrupted ? 130 : code
}

interface Startup {
  startupMs: number | null
  startupCpuSeconds?: number
  /** Why the stack did not come up, or null. */
  failure: string | null
}

/** What the stack's global setup recorded of its start-up; nothing recorded means it never got that far. */
function readStartup(runDir: string): Startup {
  const file = join(runDir, 'startup.json')
  if (!existsSync(file))
    return { startupMs: null, failure: 'the stack was never brought up (the test run ended before its set-up)' }
  return JSON.parse(readFileSync(file, 'utf8')) as Startup
}

/**
 * The reporters of every vitest run: the terminal's, JUnit for CI, and the outcomes the gate
 * judges (helpers/outcomes-reporter.ts, to the file BANYAN_OUTCOMES names).
 */
function reporting(junit: string): string[] {
  return [
    '--reporter=default',
    '--reporter=junit',
    `--reporter=${join(ROOT, 'helpers/outcomes-reporter.ts')}`,
    `--outputFile.junit=${junit}`,
  ]
}

function maskFile(file: string, secrets: readonly string[]): void {
  if (existsSync(file)) writeFileSync(file, mask(readFileSync(file, 'utf8'), secrets))
}

/**
 * The static checks, on the model preflight already resolved: milliseconds, before anything
 * starts. Each finding is printed as one line; each claim becomes one outcome in the summary.
 */
function checkConfiguration(config: Config, checked: Preflight): TestOutcome[] {
  const findings = staticFindings(staticInput(config, checked.staticModel, policy))
  return STATIC_CLAIMS.map(([claim, description]): TestOutcome => {
    const lines = findings.get(claim) ?? []
    lines.forEach((line) => {
      say(line)
    })
    const name = `configuration [${claim}] ${description}`
    return lines.length === 0 ? { name, status: 'passed' } : { name, status: 'failed', message: lines.join('\n') }
  })
}

/**
 * CF-1 again once everything has stopped: the log scan went on reading until the stack was down,
 * after CF-1's own test had looked. A secret a container logged after that (as it stopped, say)
 * is a failure of its own.
 */
function lateLeaks(runDir: string): TestOutcome[] {
  const file = join(runDir, LOG_SCAN)
  if (!existsSync(file)) return []
  const scan = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogScanEntry)
  const failures = [
    ...scan.filter(({ event }) => event === 'leak').map(({ service, secret }) => `${service} logs ${secret ?? ''}`),
    ...scanGaps(scan),
  ]
  return failures.map((message) => ({
    name: '[CF-1] no container wrote a credential to its log, to the end of the run',
    status: 'failed',
    message,
  }))
}

/**
 * What preflight established on the way, as the claims it answers: it got this far only because
 * Compose validated the files (LC-5; that it refuses a broken one is the CLI's own test) and the
 * versions are new enough (LC-6; older ones stop the run with exit 3 before this).
 */
function preflightOutcomes(checked: Preflight): TestOutcome[] {
  return [
    { name: 'configuration [LC-5] docker compose config validates the stack’s files', status: 'passed' },
    {
      name: `configuration [LC-6] Engine ${checked.engine} and Compose ${checked.compose} are at least ${policy.requirements.engine} and ${policy.requirements.compose}`,
      status: 'passed',
    },
  ]
}

/** The claims this run cannot check, each a skipped outcome carrying the reason, so the summary says why. */
function unverifiableOutcomes(checked: Preflight): TestOutcome[] {
  return checked.unverifiable.flatMap(({ claims, reason }) => {
    say(`not verifiable here: ${claims.join(', ')}: ${reason}`)
    return claims.map((claim): TestOutcome => ({
      name: `[${claim}] needs what this run lacks`,
      status: 'skipped',
      message: reason,
    }))
  })
}

interface SummaryInput {
  config: Config
  run: string
  code: number
  started: number
  setup: Summary['setup']
  outcomes: TestOutcome[]
  waivers: readonly Waiver[]
  secrets: readonly string[]
  /** What the stack's start-up and each suite cost (pnpm bench reads them). */
  costs?: Cost[]
}

function writeSummary({ config, run, code, started, setup, outcomes, waivers, secrets, costs }: SummaryInput): void {
  const runDir = join(config.reportsDir, 'runs', run)
  const figures = run.startsWith('bv-') ? readFigures(runDir) : {}
  const timelines = run.startsWith('bv-') ? readTimelines(runDir) : {}
  const claims = summariseClaims(outcomes, waivers).map((claim) => {
    const measured = figures[claim.id]
    const overTime = timelines[claim.id]
    return {
      ...claim,
      ...(measured === undefined ? {} : { figures: measured }),
      ...(overTime === undefined ? {} : { timelines: overTime }),
    }
  })
  const stale = staleWaivers(outcomes, waivers)
  for (const waiver of stale)
    say(`stale waiver: ${waiver.claim}${waiver.test ? ` (${waiver.test})` : ''} now holds; remove it`)
  const outcome = code === 130 ? 'interrupted' : code === 0 ? 'passed' : 'failed'
  const summary: Summary = {
    run,
    outcome,
    startedAt: new Date(started).toISOString(),
    wallMs: Date.now() - started,
    setup,
    claims,
    staleWaivers: stale,
    ...(costs === undefined ? {} : { costs }),
  }
  mkdirSync(config.reportsDir, { recursive: true })
  writeFileSync(join(config.reportsDir, 'summary.json'), mask(JSON.stringify(summary, null, 2), secrets))
  const page = join(config.reportsDir, 'index.html')
  // The page is for reading the verdict, never a part of it: one it cannot draw is said, and the
  // table below and the gate's exit code stand.
  let drawn = true
  try {
    writeFileSync(page, mask(renderReport({ summary, reportsDir: config.reportsDir }), secrets))
  } catch (error) {
    drawn = false
    say(`the run's page could not be written: ${error instanceof Error ? error.message : String(error)}`)
  }
  const prefix = outcome === 'interrupted' ? 'interrupted: no verdict; ' : ''
  // Every claim, every run: a person reads the verdict here without opening a file.
  process.stderr.write(`\n${mask(claimTable(claims).join('\n'), secrets)}\n\n`)
  say(`${prefix}${describeClaims(claims)}; reports in ${config.reportsDir}`)
  if (drawn) say(`the run's page: file://${page}`)
}

/**
 * Options that would let a run end early or judge a test twice, and still leave the gate to read
 * what ran as the whole: a bail or a shard leaves claims unchecked that the summary would not know
 * of, and a retry turns a failure into a pass. Refused before anything starts.
 */
const REFUSED_OPTIONS = ['--bail', '--shard', '--retry']

function refuseOptions(vitestArgs: readonly string[]): void {
  const refused = vitestArgs.find((arg) =>
    REFUSED_OPTIONS.some((option) => arg === option || arg.startsWith(`${option}=`)),
  )
  if (refused !== undefined)
    throw new PreflightError(`${refused} is refused: a run that stops early or retries cannot answer every claim`, 2)
}

async function verify(config: Config, givenArgs: string[]): Promise<RunResult> {
  refuseOptions(givenArgs)
  const { args: vitestArgs, claims: only } = claimFilter(givenArgs)
  // On Swarm, only the suites whose checks apply there: the other claims are not verifiable there (preflight says why).
  const suiteArgs = config.target === 'swarm' ? swarmArgs(vitestArgs) : vitestArgs
  if (only.length > 0) say(`checking ${only.join(', ')} only; the other claims are not checked in this run`)
  const started = Date.now()
  const runEnv = newRunEnvironment()
  const secrets = secretsOf(runEnv)
  const checked = await preflight(config, runEnv)
  const preflightMs = Date.now() - started
  const checkStart = performance.now()
  // Named claims narrow the configuration's answers too: every other claim reads "not checked".
  const configuration = [
    ...preflightOutcomes(checked),
    ...checkConfiguration(config, checked),
    ...unverifiableOutcomes(checked),
  ].filter(({ name }) => only.length === 0 || claimIds(name).some((id) => only.includes(id)))
  // The guide's own Elasticsearch commands, held to Elasticsearch's API: they need no stack, and
  // what they find is about the guide, so they never keep the stack from starting.
  const guide = (await guideRequestOutcomes()).filter(
    ({ name }) => only.length === 0 || claimIds(name).some((id) => only.includes(id)),
  )
  const setup: Summary['setup'] = {
    preflightMs,
    configurationCheckMs: Math.round((performance.now() - checkStart) * 10) / 10,
    engine: checked.engine,
    compose: checked.compose,
    images: checked.imageMode,
    composeFiles: config.composeFiles.join(':'),
    target: config.target,
  }
  const waivers = applicableWaivers(loadWaivers(config), checked, config.target)
  const refuted = !gatePasses(configuration, waivers)
  if (refuted && !config.continueAfterStatic) {
    say(
      'the configuration refutes the claims above, so no container was started (BANYAN_CONTINUE=1 goes on all the same)',
    )
    writeSummary({
      config,
      run: 'configuration only',
      code: 1,
      started,
      setup,
      outcomes: [...configuration, ...guide],
      waivers,
      secrets,
    })
    return {
      code: 1,
      outcomes: [...configuration, ...guide],
      waived: waivedCount([...configuration, ...guide], waivers),
    }
  }
  await sweepLeftovers()
  // On Swarm, the engine joins a swarm of the run's own when it is in none, and leaves it again
  // however the run ends, Ctrl-C included: the engine is left as it was found.
  const membership = config.target === 'swarm' ? await enterSwarm() : null
  let keptRun: string | null = null
  try {
    const run = await readyRun(config, checked, runEnv)
    keptRun = run.runId
    const services = Object.keys(checked.model.services).join(', ')
    say(
      `run ${run.runId}: ${services} on Engine ${checked.engine}, Compose ${checked.compose}, ${checked.imageMode} images${run.target === 'swarm' ? `, as a Swarm stack${membership?.made === true ? ' on a swarm made for the run' : ''} (what its stack file changes: ${join(run.runDir, 'stack-changes.txt')})` : ''}`,
    )
    say(`health checks run ${describeTiming(run.health)}; the declared timings are checked from the configuration`)
    if (run.declaredRules !== null) say(`alerts: ${ALERT_TIMING}`)

    const junit = join(config.reportsDir, 'junit.xml')
    const results = join(run.runDir, 'outcomes.json')
    const costsFile = join(run.runDir, 'costs.json')
    const env = { ...process.env, ...runToEnv(run), BANYAN_OUTCOMES: results, BANYAN_COSTS: costsFile }
    const tested = await runVitest(
      [
        'run',
        '--project',
        'stack',
        ...reporting(junit),
        `--reporter=${join(ROOT, 'helpers/costs-reporter.ts')}`,
        `--reporter=${join(ROOT, 'helpers/progress-reporter.ts')}`,
        ...suiteArgs,
      ],
      env,
      secrets,
    )
    maskFile(junit, secrets)
    maskFile(results, secrets)

    // A stack that did not come up fails the gate whatever suites ran: the tests that would have
    // said so may have been filtered out, and every other test skips.
    const startup = readStartup(run.runDir)
    const startupOutcome: TestOutcome[] =
      startup.failure === null || tested === 130
        ? []
        : [{ name: '[LC-1] the stack comes up', status: 'failed', message: startup.failure }]
    const checks = readOutcomes(results)
    // A filter that matched no check verified nothing: a typo must not read as a green run.
    // The guide's own outcomes count only when the claims were named: a misspelt suite matches no check whatever they say.
    const matchedNothing =
      vitestArgs.length > 0 && checks.length === 0 && !(only.length > 0 && guide.length > 0) && tested !== 130
    if (matchedNothing) say(`'${givenArgs.join(' ')}' matched no check: nothing was verified`)
    const teardownFile = join(run.runDir, 'teardown-error.txt')
    const teardown: TestOutcome[] = existsSync(teardownFile)
      ? [{ name: 'the stack is taken down', status: 'failed', message: readFileSync(teardownFile, 'utf8') }]
      : []
    const live = [...startupOutcome, ...checks, ...lateLeaks(run.runDir), ...teardown].map((outcome) => {
      const evidence = outcome.status === 'failed' ? evidenceFor(run.runDir, outcome.name) : undefined
      return evidence === undefined ? outcome : { ...outcome, evidence }
    })
    const outcomes = [...configuration, ...guide, ...live]
    // The gate is the outcomes, not vitest's exit code, so a waived failure does not fail it. A
    // vitest that failed without a failed test of its own to show for it (a crash) fails it all the
    // same, and so does a refuted configuration that BANYAN_CONTINUE went past.
    const unexplained = tested !== 0 && !live.some((outcome) => outcome.status === 'failed')
    const code =
      tested === 130 ? 130 : refuted || unexplained || !gatePasses(outcomes, waivers) ? 1 : matchedNothing ? 2 : 0
    setup.healthInterval = describeTiming(run.health)
    if (run.declaredRules !== null) setup.alertTiming = ALERT_TIMING
    setup.startupMs = startup.startupMs
    const costs: Cost[] = [
      { name: 'stack start-up', wallMs: startup.startupMs ?? 0, cpuSeconds: startup.startupCpuSeconds ?? 0 },
      ...(existsSync(costsFile) ? (JSON.parse(readFileSync(costsFile, 'utf8')) as Cost[]) : []),
    ]
    writeSummary({ config, run: run.runId, code, started, setup, outcomes, waivers, secrets, costs })

    if (run.keep && code !== 130) {
      say(`BANYAN_KEEP: stack ${run.runId} left running. Reach it with: docker compose -p ${run.runId} ps`)
      say(`remove it with: pnpm sweep --run ${run.runId}`)
    } else {
      const swept = describeSweep(await sweepRun(run.runId))
      if (swept !== null) say(`removed what this run left: ${swept}`)
    }
    return { code, outcomes, waived: waivedCount(outcomes, waivers) }
  } finally {
    // A kept stack keeps its swarm: leaving it would take the stack down with it.
    if (membership?.made === true && config.keep && keptRun !== null) {
      await keepSwarm(keptRun)
      say(
        `BANYAN_KEEP: the engine stays in the swarm this run made; pnpm sweep --run ${keptRun} leaves it with the stack`,
      )
    } else if (membership !== null) await leaveSwarm(membership)
  }
}

function waivedCount(outcomes: readonly TestOutcome[], waivers: readonly Waiver[]): number {
  return outcomes.filter((outcome) => outcome.status === 'failed' && gatePasses([outcome], waivers)).length
}

/** `pnpm test:static`: the configuration suite alone, through vitest, with the run's variables so Compose can resolve the files. */
async function staticOnly(config: Config, vitestArgs: string[]): Promise<RunResult> {
  const runEnv = newRunEnvironment()
  const results = join(config.reportsDir, 'outcomes-static.json')
  const code = await runVitest(
    ['run', '--project', 'static', ...reporting(join(config.reportsDir, 'junit-static.xml')), ...vitestArgs],
    { ...process.env, ...runEnv, BANYAN_OUTCOMES: results },
    secretsOf(runEnv),
  )
  return { code, outcomes: readOutcomes(results) }
}

/** `--shard=<index>/<count>` (or `--shard <index>/<count>`) among vitest's options, or null. */
function shardOf(args: readonly string[]): { index: number; count: number } | null {
  const at = args.findIndex((arg) => arg === '--shard' || arg.startsWith('--shard='))
  if (at < 0) return null
  const given = args[at] === '--shard' ? args[at + 1] : args[at]?.slice('--shard='.length)
  const [, index = '', count = ''] = /^([0-9]+)\/([0-9]+)$/.exec(given ?? '') ?? []
  if (index === '' || Number(index) < 1 || Number(index) > Number(count))
    throw new PreflightError(`--shard ${given ?? ''}: give <index>/<count>, 1 <= index <= count (--shard=2/3)`, 2)
  return { index: Number(index), count: Number(count) }
}

/** What one shard of `test` leaves for `merge`: its outcomes, and what it was a shard of. */
interface ShardResult extends RunResult {
  index: number
  count: number
  /** The checkout it ran (checkoutOf): shards of different checkouts split and test different files. */
  commit: string | null
  /** BANYAN_SHARD_RUN, where CI names the run: a shard of an earlier run, a retried one say, is not this run's. */
  run: string | null
  /** Its vitest options, --shard aside: shards of different runs split different files. */
  args: string[]
  /** The test files it was given, of every file the split saw (helpers/sequencer.ts), as `project:path`. */
  files: string[]
  of: string[]
}

const shardFile = (index: number, count: number): string => `shard-${index}-of-${count}.json`

/**
 * The checkout a shard ran, as git names it: HEAD, and a digest of what the working tree changes
 * and adds to it, so that runners with different uncommitted files do not pass for one run. Null
 * where git cannot tell (no repository, one git refuses), which merge refuses.
 */
function checkoutOf(): string | null {
  const git = (args: string[]): string =>
    execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe', maxBuffer: 64 * 1024 * 1024 })
  try {
    const head = git(['rev-parse', 'HEAD']).trim()
    const changes = git(['status', '--porcelain', '--untracked-files=all']) + git(['diff', 'HEAD'])
    return changes === '' ? head : `${head}+${createHash('sha256').update(changes).digest('hex').slice(0, 12)}`
  } catch {
    return null
  }
}

/**
 * The project's own tests, then (unless a project was named) the main job on the reference stack,
 * so a broken main job cannot pass, beside the minimal stack's main job (its own vitest project).
 * The two side by side, not one after the other: a main job alone leaves a third of a 2-core
 * machine idle (measured in README's "Speed"), and two stacks are fewer than the three controls
 * that run at once before them. Ends with one plain count line for CI.
 *
 * With `--shard=i/n`, this runner runs its share of the project's files (helpers/sequencer.ts
 * splits them by cost) and the first shard the two main jobs as well; each shard writes what it
 * found to reports/shard-i-of-n.json, and `merge` joins the n of them into one verdict.
 */
async function selfTest(config: Config, vitestArgs: string[]): Promise<RunResult> {
  const shard = shardOf(vitestArgs)
  await dockerVersions()
  await sweepLeftovers()
  const runId = newRunId()
  const named = vitestArgs.includes('--project')
  // The run's variables too: the static suite resolves the reference stack's compose files. The
  // sequencer gives the first shard the main job's cost, the same on every runner.
  const runEnv = newRunEnvironment()
  const env = {
    ...process.env,
    ...runEnv,
    BANYAN_RUN_ID: runId,
    BANYAN_OWNER: ownerOf(),
    BANYAN_MAIN_JOB_SHARD: named ? '' : '1',
  }
  const plan = shard === null ? null : join(config.reportsDir, `shard-plan-${shard.index}-of-${shard.count}.json`)
  const resultFile = shard === null ? null : join(config.reportsDir, shardFile(shard.index, shard.count))
  if (plan !== null && resultFile !== null) {
    // An earlier run's result must not stand in for this one if this one never gets to write its own.
    mkdirSync(config.reportsDir, { recursive: true })
    rmSync(plan, { force: true })
    rmSync(resultFile, { force: true })
  }
  const projectTests = async (name: string, args: string[]): Promise<RunResult> => {
    const results = join(config.reportsDir, `outcomes-${name}.json`)
    // An earlier run's outcomes must not stand in for a run that crashed before writing its own.
    rmSync(results, { force: true })
    const code = await runVitest(
      ['run', ...args, ...reporting(join(config.reportsDir, `junit-${name}.xml`))],
      { ...env, BANYAN_OUTCOMES: results, BANYAN_SHARD_PLAN: name === 'self' ? (plan ?? '') : '' },
      secretsOf(runEnv),
    )
    return { code, outcomes: readOutcomes(results) }
  }
  const finished = (result: RunResult): RunResult => {
    if (shard !== null && plan !== null && resultFile !== null) {
      const args = vitestArgs.filter((arg, at) => !/^--shard(=|$)/.test(arg) && vitestArgs[at - 1] !== '--shard')
      // No plan is a vitest that never split its files: a shard of nothing, which merge refuses.
      const split = existsSync(plan)
        ? (JSON.parse(readFileSync(plan, 'utf8')) as Pick<ShardResult, 'files' | 'of'>)
        : { files: [], of: [] }
      const written: ShardResult = {
        ...result,
        ...shard,
        commit: checkoutOf(),
        run: process.env['BANYAN_SHARD_RUN'] ?? null,
        args,
        ...split,
      }
      mkdirSync(config.reportsDir, { recursive: true })
      writeFileSync(resultFile, JSON.stringify(written, null, 2))
      say(
        `shard ${shard.index} of ${shard.count}: its result is in ${resultFile}; join the ${shard.count} with: pnpm test:merge <reports folder>...`,
      )
    }
    return result
  }
  const projects = ['unit', 'static', 'services', 'kit', 'controls', 'runs'].flatMap((name) => ['--project', name])
  // A shard may get no file at all: the first, when the main jobs are its share. That is not a
  // run that matched nothing; what every shard ran is checked whole by `merge`.
  const empty = shard === null ? [] : ['--passWithNoTests']
  const own = await sweptAfter(runId, await projectTests('self', [...(named ? [] : projects), ...empty, ...vitestArgs]))
  if (named || own.code === 130 || (shard !== null && shard.index !== 1)) return finished(own)
  // Both to their end, whatever one does: a main job that throws must not leave the other unwatched.
  const [minimal, settled] = await Promise.all([
    projectTests('minimal', ['--project', 'minimal']),
    verify(config, []).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    ),
  ])
  if ('error' in settled) {
    await sweptAfter(runId, minimal)
    throw settled.error
  }
  const main = settled.result
  const codes = [own.code, minimal.code, main.code]
  return finished(
    await sweptAfter(runId, {
      code: codes.includes(130) ? 130 : Math.max(...codes),
      outcomes: [...own.outcomes, ...minimal.outcomes, ...main.outcomes],
      waived: main.waived ?? 0,
    }),
  )
}

/**
 * `merge <folder>...`: the shards of one sharded `test`, each runner's reports folder, joined into
 * one verdict and closing line. Every shard of the run must be there once, from the same commit
 * and options: a missing shard is files nobody ran, and its controls would vanish from the count.
 */
function mergeShards(folders: readonly string[]): RunResult {
  if (folders.length === 0) throw new PreflightError('merge: name the reports folders of the shards to join', 2)
  const shards = folders.flatMap((folder) => {
    if (!existsSync(folder)) throw new PreflightError(`merge: ${folder} does not exist`, 2)
    return readdirSync(folder)
      .filter((file) => /^shard-[0-9]+-of-[0-9]+\.json$/.test(file))
      .map((file) => ({
        file: join(folder, file),
        ...(JSON.parse(readFileSync(join(folder, file), 'utf8')) as ShardResult),
      }))
  })
  const [first] = shards
  if (first === undefined) throw new PreflightError(`merge: no shard-<i>-of-<n>.json in ${folders.join(', ')}`, 2)
  const unknown = shards.find(({ commit }) => commit === null)
  if (unknown !== undefined)
    throw new PreflightError(`merge: ${unknown.file} says no commit (git could not tell its checkout)`, 2)
  const other = shards.find(
    (shard) =>
      shard.count !== first.count ||
      shard.commit !== first.commit ||
      shard.run !== first.run ||
      shard.args.join(' ') !== first.args.join(' '),
  )
  if (other !== undefined)
    throw new PreflightError(
      `merge: ${other.file} is of another run than ${first.file} (its shard count, checkout, BANYAN_SHARD_RUN or options differ)`,
      2,
    )
  const indexes = shards.map(({ index }) => index)
  const missing = Array.from({ length: first.count }, (_, at) => at + 1).filter((index) => !indexes.includes(index))
  const twice = indexes.filter((index, at) => indexes.indexOf(index) !== at)
  if (missing.length > 0 || twice.length > 0)
    throw new PreflightError(
      `merge: of ${first.count} shards, ${[...(missing.length > 0 ? [`${missing.join(', ')} missing`] : []), ...(twice.length > 0 ? [`${twice.join(', ')} given twice`] : [])].join('; ')}: a verdict without them would leave their files unanswered`,
      2,
    )
  // The files the shards ran make up every file the split saw, each once: shards that split
  // different sets of files (another checkout, another environment) leave some unrun.
  const whole = first.of.join('\n')
  const ran = shards.flatMap(({ files }) => files)
  const unsplit = shards.find(({ of }) => of.length === 0 || of.join('\n') !== whole)
  if (unsplit !== undefined)
    throw new PreflightError(`merge: ${unsplit.file} split another set of test files than ${first.file}, or none`, 2)
  const unrun = first.of.filter((file) => !ran.includes(file))
  const twiceRun = ran.filter((file, at) => ran.indexOf(file) !== at)
  if (unrun.length > 0 || twiceRun.length > 0)
    throw new PreflightError(
      `merge: the shards ran ${[...(unrun.length > 0 ? [`none of ${unrun.join(', ')}`] : []), ...(twiceRun.length > 0 ? [`${twiceRun.join(', ')} twice`] : [])].join(' and ')}`,
      2,
    )
  for (const shard of shards.sort((a, b) => a.index - b.index))
    say(`shard ${shard.index} of ${shard.count}: exit ${shard.code}, ${shard.outcomes.length} outcomes (${shard.file})`)
  const codes = shards.map(({ code }) => code)
  return {
    code: codes.includes(130) ? 130 : Math.max(...codes),
    outcomes: shards.flatMap(({ outcomes }) => outcomes),
    waived: shards.reduce((sum, { waived = 0 }) => sum + waived, 0),
  }
}

/** A self-test's result, once what its tests left (under the self-test's own run id) is removed. */
async function sweptAfter(runId: string, result: RunResult): Promise<RunResult> {
  const swept = describeSweep(await sweepRun(runId))
  if (swept !== null) say(`removed what the tests left: ${swept}`)
  return result
}

async function sweepCommand(args: string[]): Promise<number> {
  const runIndex = args.indexOf('--run')
  const selector = args.includes('--all') ? 'all' : runIndex >= 0 ? { run: args[runIndex + 1] ?? '' } : 'orphans'
  say(`removed ${describeSweep(await sweep(selector)) ?? 'nothing'}`)
  return 0
}

/**
 * The closing line, in the plain form any CI reads: "N passed, N failed, N skipped". A failure a
 * committed waiver accepts counts as skipped, and is said on a line of its own just before.
 */
function closingLine({ code, outcomes, waived = 0 }: RunResult): number {
  const count = (status: TestOutcome['status']): number =>
    outcomes.filter((outcome) => outcome.status === status).length
  if (waived > 0) say(`${waived} failed tests are waived (see summary.json)`)
  process.stdout.write(
    `banyan-verify: ${count('passed')} passed, ${count('failed') - waived} failed, ${count('skipped') + waived} skipped\n`,
  )
  return code
}

async function main(): Promise<number> {
  const [command = 'verify', ...rest] = process.argv.slice(2)
  try {
    const config = loadConfig()
    if (command === 'verify') return closingLine(await verify(config, rest))
    if (command === 'test') return closingLine(await selfTest(config, rest))
    if (command === 'static') return closingLine(await staticOnly(config, rest))
    if (command === 'merge') return closingLine(mergeShards(rest))
    if (command === 'sweep') return await sweepCommand(rest)
    say(`unknown command '${command}': use verify, static, test, merge or sweep`)
    return 2
  } catch (error) {
    if (error instanceof PreflightError) {
      say(error.message)
      return error.exitCode
    }
    throw error
  }
}

process.exitCode = await main()
