// A new version of a service, as a release brings one, made offline: the image the service runs
// now with one label more, under a tag of the run's own. Compose sees another image and replaces
// the containers; what runs in them is the same program, so the update itself is all that changes.
// The guide's `docker compose pull` has no registry to pull from here: the run's compose override
// names the new tag instead, which is what a pull of a new tag comes to.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { policy } from '../fixtures/policy.ts'
import { countRequests } from './counting.ts'
import { docker, firstLine } from './docker.ts'
import { recordFigures, recordTimeline } from './figures.ts'
import { labelArgs } from './labels.ts'
import { publishedAddressOf } from './stack.ts'
import { longestGapMs, outcomes, steadyLoad, timelineOf, unanswered } from './traffic.ts'
import { elapsedMs } from './units.ts'

export interface NewVersion extends AsyncDisposable {
  /** The new version's tag. */
  image: string
  /** A compose override that gives `service` the new version, for `compose(..., overrides)`. */
  override: string
}

/**
 * Builds `version` of the image `container` runs (labelled as the run's, so the sweep removes it
 * if the run dies) and an override that deploys it to `service`; both go at the end of the
 * `await using` block, the image only if `keepImage` is not set: a Swarm service that runs it
 * starts tasks of it again until the stack goes, and the run's sweep removes it then.
 */
export async function newVersion(
  container: string,
  service: string,
  version: string,
  { keepImage = false } = {},
): Promise<NewVersion> {
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
      if (!keepImage) await docker(['image', 'rm', '-f', image])
    },
  }
}

/** A running replica of a service: its container, its name and the image it runs. */
export interface Replica {
  id: string
  name: string
  image: string
  /** Docker's restart count: how often its restart policy brought it back. */
  restarts: number
}

/** Those of `containers` that are running, as replicas. */
export async function runningReplicas(containers: readonly string[]): Promise<Replica[]> {
  if (containers.length === 0) return []
  const { stdout } = await docker([
    'inspect',
    '--format',
    '{{.Id}} {{.State.Running}} {{.Name}} {{.Config.Image}} {{.RestartCount}}',
    ...containers,
  ])
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .filter(([, running]) => running === 'true')
    .map(([id = '', , name = '', image = '', restarts = '0']) => ({
      id,
      name: name.replace(/^\//, ''),
      image,
      restarts: Number(restarts),
    }))
}

/** An update to measure under load (UP-1), on whichever target runs it. */
export interface UpdateUnderLoad {
  /** The name of the update in the run's figures and timeline: the guide's, the README's, Swarm's. */
  version: string
  /** How many replicas the service is meant to run once it is done. */
  wanted: number
  /** nginx's container, and its address on the network the replicas are reached on from it. */
  nginx: string
  from: string
  /** The replicas running now. */
  replicas: () => Promise<Replica[]>
  before: readonly Replica[]
  /** The new version's image. */
  image: string
  /** Carries the update out; returns once it says it is done. */
  update: (old: readonly Replica[]) => Promise<void>
}

/** UP-1's clients: a steady load, light enough to leave the machine to the update. */
const UPDATE_CLIENTS = 5
/** How long UP-1 goes on sending once the update is done. */
const AFTER_UPDATE_MS = 5_000

/**
 * Carries an update out under a steady load through nginx and says what the load met. Every
 * request counts: an answer that is not a 2xx, or none, is downtime. Which replica served each
 * request is counted in the replicas' own namespaces (helpers/counting.ts), before the update and
 * after it; a replica of the update's that restarted or went while the load ran is a finding of
 * its own (a new version that crashes under load, say), judged before the verdict a waiver may accept.
 */
export async function updateUnderLoad({
  version,
  wanted,
  nginx,
  from,
  replicas,
  before,
  image,
  update,
}: UpdateUnderLoad): Promise<{ message: string; verdict: Record<string, unknown> }> {
  // A connection per request: nginx's old workers close their idle keep-alive connections at each
  // reload, and a request written on one just as it closes fails in a race that HTTP lets a
  // client retry (RFC 9112, 9.3.1) and that is no downtime of the deployment's.
  const load = steadyLoad(`http://${await publishedAddressOf(nginx, 80)}/health`, UPDATE_CLIENTS, 10_000, {
    connection: 'close',
  })
  let servedBefore: Record<string, number>
  {
    await using counters = await countRequests(
      before.map(({ id }) => id),
      policy.gatewayPort,
      from,
    )
    await expect
      .poll(() => load.results.length - unanswered(load.results).length, {
        timeout: 60_000,
        interval: 50,
        message: 'the stack answered nothing before the update',
      })
      .toBeGreaterThanOrEqual(UPDATE_CLIENTS * 4)
    servedBefore = await counters.read()
  }
  const started = performance.now()
  await update(before)
  const updateMs = elapsedMs(started)
  const after = await replicas()
  await using counters = await countRequests(
    after.map(({ id }) => id),
    policy.gatewayPort,
    from,
  )
  // Long enough after it for nginx to have met every new replica: it chooses by least connections.
  const replies = await load.stopAfter(AFTER_UPDATE_MS)
  // A replica of the update's that restarted (at any time since it was made: a new container
  // starts at restart count 0) or went while the load ran.
  const { counts: servedAfter, gone } = await counters.readKept()
  const restarted = (await replicas()).filter(
    ({ id, restarts }) => restarts > 0 && after.some((replica) => replica.id === id) && gone[id] === undefined,
  )
  const lost = [
    ...after.filter(({ id }) => gone[id] !== undefined).map(({ id, name }) => `${name} ${gone[id] ?? ''}`),
    ...restarted.map(({ name, restarts }) => `${name} restarted ${restarts} times`),
  ]
  const failed = unanswered(replies)
  const gapMs = Math.round(longestGapMs(replies))
  recordTimeline(
    'UP-1',
    version,
    timelineOf(replies, [
      { label: 'update begun', atMs: started - load.started },
      { label: 'done', atMs: started - load.started + updateMs },
    ]),
  )
  recordFigures('UP-1', {
    [`${version}Requests`]: replies.length,
    [`${version}Failed`]: failed.length,
    [`${version}LongestGapMs`]: gapMs,
    [`${version}UpdateMs`]: Math.round(updateMs),
  })
  expect(lost, `gateway replicas of the update that restarted or went while its load ran`).toEqual([])
  const served = (list: readonly Replica[], counts: Record<string, number>) =>
    list.map(({ id, name }) => `${name} ${counts[id] ?? 0}`).join(', ')
  return {
    message:
      `${failed.length} of ${replies.length} requests failed${failed.length === 0 ? '' : ` (${outcomes(failed)})`}, ` +
      `the longest gap between two answers ${gapMs} ms; requests served before by ${served(before, servedBefore)}, ` +
      `after by ${served(after, servedAfter)} (${after.filter((replica) => replica.image === image).length} of ${after.length} on the new version, ${after.length} of ${wanted} wanted running)`,
    verdict: {
      failed: failed.length,
      replicas: after.length,
      onTheNewVersion: after.every((replica) => replica.image === image),
      everyNewReplicaServed: Object.values(servedAfter).every((count) => count > 0),
    },
  }
}

/** What an update under load must come to: no request failed, every replica wanted on the new version and serving. */
export const zeroDowntime = (replicas: number) => ({
  failed: 0,
  replicas,
  onTheNewVersion: true,
  everyNewReplicaServed: true,
})
