import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** suites/disruptive/ after every read-only suite, suites/last/ after those, and the drill at the very end. */
const GROUPS = ['/suites/disruptive/', '/suites/last/', '/suites/drill/']
const groupOf = (file: TestSpecification): number =>
  GROUPS.findLastIndex((folder) => file.moduleId.includes(folder)) + 1

/**
 * Orders the stack's suites: read-only ones first, then the disruptive ones (they stop, kill or
 * restore services), then the ones that judge the whole run (what the logs hold after the
 * disruptions provoked every error path), then the disaster-recovery drill, which destroys the
 * stack and brings it back. Within a group, vitest's own order.
 */
export class DisruptiveLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    return [0, ...GROUPS.map((_, index) => index + 1)].flatMap((group) =>
      sorted.filter((file) => groupOf(file) === group),
    )
  }
}
