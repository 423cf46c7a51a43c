import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** suites/disruptive/ after every read-only suite, the drill after those, and suites/last/ at the very end. */
const GROUPS = ['/suites/disruptive/', '/suites/drill/', '/suites/last/']
const groupOf = (file: TestSpecification): number =>
  GROUPS.findLastIndex((folder) => file.moduleId.includes(folder)) + 1

/**
 * Orders the stack's suites: read-only ones first, then the disruptive ones (they stop, kill or
 * restore services), then the disaster-recovery drill, which destroys the stack and brings it
 * back, then the ones that judge the whole run (what every container's log held, after the
 * disruptions and the drill provoked every error path). Within a group, vitest's own order.
 */
export class DisruptiveLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    return [0, ...GROUPS.map((_, index) => index + 1)].flatMap((group) =>
      sorted.filter((file) => groupOf(file) === group),
    )
  }
}
