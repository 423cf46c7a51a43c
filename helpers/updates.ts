// A new version of a service, as a release brings one, made offline: the image the service runs
// now with one label more, under a tag of the run's own. Compose sees another image and replaces
// the containers; what runs in them is the same program, so the update itself is all that changes.
// The guide's `docker compose pull` has no registry to pull from here: the run's compose override
// names the new tag instead, which is what a pull of a new tag comes to.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { docker, firstLine } from './docker.ts'
import { labelArgs } from './labels.ts'

export interface NewVersion extends AsyncDisposable {
  /** The new version's tag. */
  image: string
  /** A compose override that gives `service` the new version, for `compose(..., overrides)`. */
  override: string
}

/**
 * Builds `version` of the image `container` runs (labelled as the run's, so the sweep removes it
 * if the run dies) and an override that deploys it to `service`; both go at the end of the
 * `await using` block.
 */
export async function newVersion(container: string, service: string, version: string): Promise<NewVersion> {
  const inspected = await docker(['inspect', '--format', '{{.Image}}', container])
  if (inspected.exitCode !== 0)
    throw new Error(`could not read the image of ${container}: ${firstLine(inspected.stderr)}`)
  const image = `banyan-verify/${service}:${version}`
  const built = await docker(
    ['build', '--quiet', ...labelArgs({ 'io.banyan-verify.version': version }), '-t', image, '-'],
    {
      input: `FROM ${inspected.stdout.trim()}\n`,
      // The classic builder needs no buildx plugin, and builds FROM a local image without a registry.
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      timeoutMs: 120_000,
    },
  )
  if (built.exitCode !== 0) throw new Error(`could not build ${image}: ${firstLine(built.stderr)}`)
  const dir = mkdtempSync(join(tmpdir(), 'banyan-update-'))
  const override = join(dir, 'compose.update.yaml')
  // JSON is YAML: no quoting to get wrong.
  writeFileSync(override, JSON.stringify({ services: { [service]: { image } } }))
  return {
    image,
    override,
    [Symbol.asyncDispose]: async () => {
      rmSync(dir, { recursive: true, force: true })
      await docker(['image', 'rm', '-f', image])
    },
  }
}
