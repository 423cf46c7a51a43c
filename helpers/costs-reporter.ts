// A vitest reporter that writes what each test file cost: its wall time and the CPU seconds the
// whole machine spent meanwhile (/proc/stat: the suite's process, the engine and every container
// the checks keep busy), to the file BANYAN_COSTS names. The stack's files run one at a time, so
// on a machine doing nothing else each file's share is its own; anything else running is charged
// to whichever file ran beside it. `pnpm bench` reads them back from the run's summary.
import { writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'
import { machineCpu } from './machine.ts'

export interface Cost {
  /** A test file, relative to the project. */
  name: string
  wallMs: number
  cpuSeconds: number
}

interface Mark {
  at: number
  cpu: number
}

const mark = (): Mark => ({ at: performance.now(), cpu: machineCpu().busy })
const cost = (name: string, from: Mark, to: Mark): Cost => ({
  name,
  wallMs: Math.round(to.at - from.at),
  cpuSeconds: Math.round((to.cpu - from.cpu) * 10) / 10,
})

export default class CostsReporter implements Reporter {
  readonly #open = new Map<string, Mark>()
  readonly #costs: Cost[] = []

  onTestModuleStart(module: TestModule): void {
    this.#open.set(module.moduleId, mark())
  }

  onTestModuleEnd(module: TestModule): void {
    const from = this.#open.get(module.moduleId)
    if (from !== undefined) this.#costs.push(cost(relative(process.cwd(), module.moduleId), from, mark()))
  }

  onTestRunEnd(): void {
    const file = process.env.BANYAN_COSTS
    if (file !== undefined) writeFileSync(file, JSON.stringify(this.#costs, null, 2))
  }
}
