// Runs last, after the disruptive suites and the drill have made every service log its errors.
// The run's log scan (helpers/log-watch.ts) read every container's log as it was written, the
// ones scaling, restarts and the drill started and removed included.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectResources } from '../../helpers/compose.ts'
import { LOG_SCAN, scanGaps, type LogScanEntry } from '../../helpers/log-watch.ts'
import { namedSecretsOf, runFromEnv } from '../../helpers/run.ts'
import { failIfDown, stack } from '../../helpers/stack.ts'

describe('secrets', () => {
  it('[CF-1] no container the run started writes a credential to its log', async () => {
    failIfDown()
    const run = runFromEnv()
    expect(namedSecretsOf(run.composeEnv).length, 'the run has no credentials to look for').toBeGreaterThan(0)
    const file = join(run.runDir, LOG_SCAN)
    const scan = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as LogScanEntry)
      : []
    const followed = new Set(scan.filter(({ event }) => event === 'followed').map(({ container }) => container))
    // The scan must have read every container there was: those of start-up and those there are now.
    const everyContainer = [
      ...Object.values(stack().containers).flat(),
      ...(await projectResources(stack().project, 'containers')).map(([id]) => id),
    ]
    expect(
      everyContainer.filter((id) => ![...followed].some((full) => full.startsWith(id))),
      'containers whose logs the scan never read',
    ).toEqual([])
    expect(scanGaps(scan), 'logs the scan could not read to their end').toEqual([])
    // Names only: the values stay out of the failure message.
    expect(
      scan.filter(({ event }) => event === 'leak').map(({ service, secret }) => `${service} logs ${secret ?? ''}`),
    ).toEqual([])
  })
})
