import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** suites/disruptive/ after every read-only suite, and suites/last/ after those. */
const groupOf = (file: TestSpecification): number =>
  file.moduleId.includes('/suites/last/') ? 2 : file.moduleId.includes('/suites/disruptive/') ? 1 : 0

/**
 * Orders the stack's suites: read-only ones first, then the disruptive ones (they stop, kill or
 * restore services), then the ones that judge the whole run (what the logs hold after the
 * disruptions provoked every error path). Within a group, vitest's own order.
 */
export class DisruptiveLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    return [0, 1, 2].flatMap((group) => sorted.filter((file) => groupOf(file) === group))
  }
}
