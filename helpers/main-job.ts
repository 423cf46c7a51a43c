// The main job as a user runs it (`node scripts/banyan.ts verify`), for the project's own tests
// that judge it whole: the negative controls, the busy-machine control, the minimal stack.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import type { TestContext } from 'vitest'
import { ROOT } from './config.ts'
import { run } from './docker.ts'
import { leftoversOf } from './leftovers.ts'
import type { Summary } from './report.ts'

/**
 * The main job on the stack `composeFiles` make (COMPOSE_FILE), with its own reports folder: kept
 * when the test that ran it fails, for its reader (the failure names it), and removed when it passes.
 */
export async function mainJob(
  composeFiles: readonly string[],
  args: readonly string[],
  {
    env = {},
    timeoutMs,
    onTestFinished,
  }: {
    env?: NodeJS.ProcessEnv
    timeoutMs: number
    /** The calling test's own hook, from its context: the global one, in concurrent tests, names whichever test started last. */
    onTestFinished: TestContext['onTestFinished']
  },
) {
  const reports = mkdtempSync(join(tmpdir(), 'banyan-control-'))
  onTestFinished(({ task }) => {
    if (task.result?.state === 'pass') rmSync(reports, { recursive: true, force: true })
  })
  const { exitCode, stderr } = await run(process.execPath, [join(ROOT, 'scripts/banyan.ts'), 'verify', ...args], {
    env: { ...process.env, COMPOSE_FILE: composeFiles.join(':'), BANYAN_REPORTS: reports, ...env },
    timeoutMs,
  })
  const summary = JSON.parse(readFileSync(join(reports, 'summary.json'), 'utf8')) as Summary
  return { exitCode, stderr, summary, reports, leftovers: await leftoversOf(summary.run) }
}

/**
 * Every file under a run's reports holding a string shaped like the run's secrets (32 hex digits
 * standing alone, as helpers/run.ts makes them): masking must have replaced each one. Container
 * ids and hashes are 64 digits, so they do not match. The CF-1 control's gateway prints the
 * database password into the logs its evidence keeps, which makes that control the hard case.
 */
export function secretShaped(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => /(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/.test(readFileSync(file, 'utf8')))
}

/**
 * What is wrong with a run's page (reports/index.html) for a reader of a failed run: it says the
 * gate failed, each refuted claim shows as refuted with a link to each piece of evidence its
 * failed tests kept, and every evidence link on it opens a folder holding what the run wrote.
 */
export function pageProblems(reports: string, summary: Summary): string[] {
  const file = join(reports, 'index.html')
  if (!existsSync(file)) return ['no index.html']
  const page = readFileSync(file, 'utf8')
  const links = new Set([...page.matchAll(/href="(runs\/[^"]+\/evidence\/[^"]+)"/g)].map(([, href = '']) => href))
  const refuted = summary.claims.filter(({ status }) => status === 'refuted')
  return [
    ...(page.includes('<section class="verdict failed"') ? [] : ['the verdict is not shown failed']),
    ...refuted
      .filter(({ id }) => !page.includes(`<tr class="claim" id="${id}" data-status="refuted"`))
      .map(({ id }) => `${id} not shown refuted`),
    ...refuted.flatMap(({ id, tests }) =>
      tests
        .flatMap(({ evidence }) => (evidence === undefined ? [] : [`${relative(reports, evidence)}/`]))
        .filter((href) => !links.has(href))
        .map((href) => `${id}'s evidence ${href} not linked`),
    ),
    ...[...links]
      .filter((href) => !existsSync(join(reports, href)) || readdirSync(join(reports, href)).length === 0)
      .map((href) => `${href} opens nothing`),
  ]
}
