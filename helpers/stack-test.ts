// The stack suites' `it`: vitest's, with `afterwards` for putting the stack back after a test that
// disrupted it. What is registered runs once the test is over, pass or fail; when it failed, the
// stack's state and logs are kept first, so the evidence shows the failure and not the repair.
import { it as base } from 'vitest'
import { saveEvidence } from './evidence.ts'

export type Step = () => Promise<unknown>

export const it = base.extend<{ afterwards: (...steps: Step[]) => void }>({
  afterwards: async ({ task }, use) => {
    const registered: Step[][] = []
    await use((...steps) => {
      registered.push(steps)
    })
    // Vitest tears fixtures down after the test has failed and before it tells onTestFailed.
    if (task.result?.state === 'fail') {
      // Evidence that cannot be kept must not keep the stack from being put back.
      try {
        console.error(`evidence of "${task.name}", before it was put back: ${await saveEvidence(task.name)}`)
      } catch (error) {
        console.error(`evidence of "${task.name}" could not be kept: ${String(error)}`)
      }
    }
    // The last registered first, as `await using` would; each in the order given.
    for (const steps of registered.reverse()) for (const step of steps) await step()
  },
})
