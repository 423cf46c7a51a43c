// A folder for one test's own files, removed when the test ends, passed or failed: the project's
// tests leave nothing in the machine's temporary folder. Called inside a test.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'

export function scratchDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `banyan-${name}-`))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
