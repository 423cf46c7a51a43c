import { spawnSync } from 'node:child_process'

export const RYUK_IMAGE = 'testcontainers/ryuk:0.14.0'

/**
 * testcontainers starts Ryuk, its reaper, from an image it pulls from a registry. Where that image
 * is not on the machine, turn Ryuk off before testcontainers can reach for a registry; the suite's
 * own label sweep removes what a crashed run leaves. Called by the vitest configuration, so it
 * holds however vitest is started.
 */
export function disableRyukUnlessPresent(env: NodeJS.ProcessEnv = process.env): void {
  if (env.TESTCONTAINERS_RYUK_DISABLED !== undefined) return
  const present = spawnSync('docker', ['image', 'inspect', RYUK_IMAGE], { stdio: 'ignore' }).status === 0
  if (!present) env.TESTCONTAINERS_RYUK_DISABLED = 'true'
}
