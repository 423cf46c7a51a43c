import { writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** suites/disruptive/ after every read-only suite, the drill after those, and suites/last/ at the very end. */
const GROUPS = ['/suites/disruptive/', '/suites/drill/', '/suites/last/']
const groupOf = (file: TestSpecification): number =>
  GROUPS.findLastIndex((folder) => file.moduleId.includes(folder)) + 1

const isControls = (file: TestSpecification): boolean => file.moduleId.includes('/fixtures/mutants/')

/**
 * What a file costs the runner that runs it, in seconds of wall time: estimates, to split the
 * files across shards by. Not vitest's cache of measured durations: every runner must split the
 * same files the same way, and each runner's cache is its own. From c1898bc's sharded runs (2026-12-02):
 * controls three at a time took 26 s of their runner's time each, the busy-machine control 182 s,
 * and the main job beside the minimal stack's, which the first shard runs after its tests
 * (BANYAN_MAIN_JOB_SHARD), 716 to 747 s.
 */
const CONTROL_S = 26
const BUSY_MACHINE_S = 180
const MAIN_JOB_S = 750
const OTHER_FILE_S = 5

/**
 * Each file's cost. The mutants are read only where control files are among the files: a mutant
 * that does not parse fails the controls, never the main job's own start.
 */
async function costsOf(files: readonly TestSpecification[]): Promise<Map<TestSpecification, number>> {
  const { areaOf, controlRunsOf } = files.some(isControls)
    ? await import('../fixtures/mutants/mutants.ts')
    : { areaOf: () => '', controlRunsOf: () => [] }
  return new Map(
    files.map((file) => [
      file,
      isControls(file)
        ? CONTROL_S * controlRunsOf(areaOf(file.moduleId)).length
        : file.moduleId.endsWith('/fixtures/runs/busy-machine.test.ts')
          ? BUSY_MACHINE_S
          : OTHER_FILE_S,
    ]),
  )
}

/**
 * Orders the stack's suites: read-only ones first, then the disruptive ones (they stop, kill or
 * restore services), then the disaster-recovery drill, which destroys the stack and brings it
 * back, then the ones that judge the whole run (what every container's log held, after the
 * disruptions and the drill provoked every error path). Within a group, vitest's own order. The
 * controls' files go largest first, since a file's controls run one after another; and `--shard`
 * splits files by their cost rather than by their number.
 */
export class DisruptiveLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const costs = await costsOf(sorted)
    const cost = (file: TestSpecification): number => costs.get(file) ?? 0
    const controls = sorted.filter(isControls).sort((a, b) => cost(b) - cost(a))
    const ordered = sorted.map((file) => (isControls(file) ? (controls.shift() ?? file) : file))
    return [0, ...GROUPS.map((_, index) => index + 1)].flatMap((group) =>
      ordered.filter((file) => groupOf(file) === group),
    )
  }

  /** This runner's share of the files under `--shard`: see splitByCost. */
  override async shard(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { shard, root } = this.ctx.config
    if (shard === undefined) return files
    const costs = await costsOf(files)
    const headStart = process.env['BANYAN_MAIN_JOB_SHARD'] === '1' ? MAIN_JOB_S : 0
    const items = files.map((file) => ({
      key: `${file.project.name}:${relative(root, file.moduleId)}`,
      cost: costs.get(file) ?? 0,
    }))
    const shards = splitByCost(items, shard.count, headStart)
    // What this shard was given of what: `merge` checks that the shards' files make up the whole, once.
    const plan = process.env['BANYAN_SHARD_PLAN']
    if (plan !== undefined && plan !== '') {
      const mine = items.filter((_, at) => shards[at] === shard.index).map(({ key }) => key)
      writeFileSync(plan, JSON.stringify({ files: mine, of: items.map(({ key }) => key).sort() }))
    }
    return files.filter((_, at) => shards[at] === shard.index)
  }
}

/** Code-point order: a locale's collation could differ between runners. */
const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Which shard (1 to count) each item goes to: largest first, each onto the shard with the least so
 * far (ties to the lower shard, items of one cost by key), so every runner computes the same
 * split from the same files. The first shard starts with `headStart`, the cost of what it runs
 * after its tests.
 */
export function splitByCost(items: readonly { key: string; cost: number }[], count: number, headStart = 0): number[] {
  const loads = Array.from({ length: count }, (_, index): number => (index === 0 ? headStart : 0))
  const shards = items.map(() => 0)
  const order = items.map((_, at) => at)
  order.sort((a, b) => (items[b]?.cost ?? 0) - (items[a]?.cost ?? 0) || byKey(items[a]?.key ?? '', items[b]?.key ?? ''))
  for (const at of order) {
    const least = loads.indexOf(Math.min(...loads))
    loads[least] = (loads[least] ?? 0) + (items[at]?.cost ?? 0)
    shards[at] = least + 1
  }
  return shards
}
