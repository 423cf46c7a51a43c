import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { docker } from './docker.ts'
import { mask } from './mask.ts'
import { runFromEnv, secretsOf } from './run.ts'

const INDEX = 'index.jsonl'
/** Where the logs of a stack that never came up are kept (helpers/stack-setup.ts), beside the tests' folders. */
export const STARTUP_EVIDENCE = 'startup'

/**
 * Writes the logs and inspected state of every container of the run's stack into a folder of its
 * own for one failed test, secrets masked, and notes it in the run's evidence index. Only once a
 * test: the first call wins.
 */
export async function saveEvidence(test: string): Promise<string> {
  const run = runFromEnv()
  const root = join(run.runDir, 'evidence')
  const dir = join(
    root,
    test
      .replace(/[^\w.-]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 80),
  )
  // The first evidence of a test is the one taken at its failure; a later call (after the test
  // put the stack back) would only show the repair.
  if (existsSync(dir)) return dir
  mkdirSync(dir, { recursive: true })
  const secrets = secretsOf(run.composeEnv)
  const { stdout } = await docker([
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${run.runId}`,
    '--format',
    '{{.ID}} {{.Names}}',
  ])
  const listed = stdout.split('\n').filter(Boolean)
  // A folder that opens onto nothing tells its reader nothing: it says why it holds no container.
  if (listed.length === 0)
    writeFileSync(
      join(dir, 'no-containers.txt'),
      `No container of ${run.runId} existed when this test failed: the stack did not come up, and what ` +
        `Compose had started was taken down with it. The logs read from its containers as they ran are in ` +
        `../${STARTUP_EVIDENCE}/.\n`,
    )
  await Promise.all(
    listed.map(async (line) => {
      const [id = '', name = ''] = line.split(' ')
      const [state, logs] = await Promise.all([
        docker(['inspect', '--format', '{{json .State}}', id]),
        docker(['logs', '--tail', '200', '--timestamps', id]),
      ])
      const text = `${name}\n--- state ---\n${state.stdout}\n--- last 200 log lines ---\n${logs.stdout}${logs.stderr}`
      writeFileSync(join(dir, `${name}.txt`), mask(text, secrets))
    }),
  )
  appendFileSync(join(root, INDEX), `${JSON.stringify({ test, dir })}\n`)
  return dir
}

/** The evidence folder saved for a test, by the name the summary knows it by (its describe path and title). */
export function evidenceFor(runDir: string, fullName: string): string | undefined {
  const index = join(runDir, 'evidence', INDEX)
  if (!existsSync(index)) return undefined
  return readFileSync(index, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { test: string; dir: string })
    .find(({ test }) => fullName.endsWith(test))?.dir
}
