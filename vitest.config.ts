import { defineConfig } from 'vitest/config'
import { disableRyukUnlessPresent } from './helpers/ryuk.ts'
import { DisruptiveLast } from './helpers/sequencer.ts'

// Before any test file loads testcontainers; the workers inherit this environment.
disableRyukUnlessPresent()

// No `retry` anywhere: a claim that failed once has failed. Only set-up retries against daemon races.
export default defineConfig({
  test: {
    // Only moves suites/disruptive/ last; every other project's order is vitest's own.
    sequence: { sequencer: DisruptiveLast },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['helpers/**/*.test.ts', 'images/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.contract.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'services',
          // The reference stack's own services: their logic, and their store against a real
          // PostgreSQL; and its alert rules, against synthetic series (promtool).
          include: ['fixtures/stack/services/**/*.test.ts', 'fixtures/stack/prometheus/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'kit',
          include: ['images/**/*.contract.test.ts'],
          // Each test starts its own containers; two at a time keep a 2-core machine responsive.
          maxWorkers: 2,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'controls',
          // Each control runs the whole main job on its own throwaway stack: one at a time within a
          // file (an area's mutants, fixtures/mutants/controls.ts), three files at a time. After
          // the quick projects, which would otherwise share the workers' slots with them.
          include: ['fixtures/mutants/*.test.ts'],
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
          testTimeout: 660_000,
        },
      },
      {
        test: {
          name: 'runs',
          // Whole runs judged from outside: the same verdicts beside a CPU hog, and nothing left
          // after a Ctrl-C. After the controls and one at a time, so the hog's load is the load.
          include: ['fixtures/runs/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          testTimeout: 660_000,
        },
      },
      {
        test: {
          name: 'minimal',
          // The main job on a second deployment. `pnpm test` runs it beside the reference stack's
          // main job, after the controls: each leaves a third of the machine idle alone.
          include: ['fixtures/minimal/*.test.ts'],
          testTimeout: 1_500_000,
        },
      },
      {
        test: {
          name: 'static',
          // The configuration alone: no container starts.
          include: ['suites/configuration.test.ts'],
        },
      },
      {
        test: {
          name: 'stack',
          include: ['suites/**/*.test.ts'],
          // Swarm's rolling update is a check of the Swarm target's only (helpers/swarm-target.ts).
          exclude: [
            'suites/configuration.test.ts',
            ...(process.env.BANYAN_TARGET === 'swarm' ? [] : ['suites/disruptive/swarm-update.test.ts']),
          ],
          globalSetup: ['helpers/stack-setup.ts'],
          setupFiles: ['helpers/stack-evidence.ts'],
          // One file at a time, read-only suites first (the root sequencer): a disruptive suite
          // never overlaps another.
          fileParallelism: false,
          // A guard against a hang, not a bound on speed: every wait inside a test polls with a
          // timeout and a message of its own. At 60 s, a busy machine (the main job beside the
          // controls) timed out HC-2, which starts a copy of each service: a verdict the machine made.
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
})
