// A vitest reporter for a person watching a run: one line when a suite starts, and one when it
// ends with the claims settled so far (failing or holding, by the tests that ran), on stderr.
// Two lines a file, whatever the file does: the log of a long run stays readable, and the closing
// table of every claim comes after it, from the summary.
import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'
import { claimIds } from './report.ts'

/** The claims the tests so far speak for: failing (a test of it failed), else holding (each passed). */
export function settled(results: readonly { name: string; state: string }[]): { holding: string[]; failing: string[] } {
  const failing = new Set<string>()
  const passed = new Set<string>()
  for (const { name, state } of results)
    for (const id of claimIds(name)) {
      if (state === 'failed') failing.add(id)
      else if (state === 'passed') passed.add(id)
    }
  return { holding: [...passed].filter((id) => !failing.has(id)).sort(), failing: [...failing].sort() }
}

/** The line a suite's end prints. */
export function progressLine(file: string, done: number, total: number, claims: ReturnType<typeof settled>): string {
  const failing = claims.failing.length === 0 ? '' : `, ${claims.failing.length} failing (${claims.failing.join(', ')})`
  return `progress: ${file} done (${done} of ${total}); claims so far: ${claims.holding.length} holding${failing}`
}

export default class ProgressReporter implements Reporter {
  #total = 0
  #done = 0
  readonly #results: { name: string; state: string }[] = []

  onTestRunStart(specifications: readonly unknown[]): void {
    this.#total = specifications.length
  }

  onTestModuleStart(module: TestModule): void {
    process.stderr.write(`progress: ${relative(process.cwd(), module.moduleId)} running\n`)
  }

  onTestModuleEnd(module: TestModule): void {
    this.#done += 1
    for (const test of module.children.allTests()) this.#results.push({ name: test.name, state: test.result().state })
    process.stderr.write(
      `${progressLine(relative(process.cwd(), module.moduleId), this.#done, this.#total, settled(this.#results))}\n`,
    )
  }
}
