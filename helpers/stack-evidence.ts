// Set-up file of the stack project: when a test fails, keep what the stack looked like at that
// moment, before a later test or the teardown changes it.
import { afterAll, beforeEach } from 'vitest'
import { saveEvidence } from './evidence.ts'
import { closeRelays } from './stack.ts'

beforeEach(({ task, onTestFailed }) => {
  onTestFailed(async () => {
    const dir = await saveEvidence(task.name)
    console.error(`evidence of "${task.name}": ${dir}`)
  })
})

// The relays a file's checks reached a Swarm stack through (helpers/stack.ts's reachable) go with it.
afterAll(closeRelays)
