import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * Runs the stack's disruptive suites (suites/disruptive/: they stop, kill or restore services)
 * after every read-only one, so no read-only test meets a stack something else is breaking.
 */
export class DisruptiveLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const disruptive = (file: TestSpecification): boolean => file.moduleId.includes('/suites/disruptive/')
    return [...sorted.filter((file) => !disruptive(file)), ...sorted.filter(disruptive)]
  }
}
