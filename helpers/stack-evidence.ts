// Set-up file of the stack project: when a test fails, keep what the stack looked like at that
// moment, before a later test or the teardown changes it.
import { beforeEach } from 'vitest'
import { saveEvidence } from './evidence.ts'

beforeEach(({ task, onTestFailed }) => {
  onTestFailed(async () => {
    const dir = await saveEvidence(task.name)
    console.error(`evidence of "${task.name}": ${dir}`)
  })
})
