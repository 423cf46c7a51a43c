import { createServer } from 'node:net'
import { dirname } from 'node:path'
import { policy } from '../fixtures/policy.ts'
import { imageVariables, KIT, resolveImageMode, type ImageMode } from '../images/kit.ts'
import { composeConfig, type ComposeModel } from './compose.ts'
import { staticModel } from './static-checks.ts'
import type { Config } from './config.ts'
import { docker, firstLine } from './docker.ts'
import { PreflightError } from './errors.ts'
import type { Unverifiable } from './claims.ts'
import { loadOffers, unverifiableWithout, type Offers } from './offers.ts'
import { NOT_ON_SWARM } from './swarm-target.ts'
import { atLeast } from './versions.ts'

export interface Preflight {
  readonly engine: string
  readonly compose: string
  readonly imageMode: ImageMode
  /** The compose variables that select the images of that mode. */
  readonly images: Record<string, string>
  /** COMPOSE_PROFILES for the run: the ones asked for, less those whose images cannot be had. */
  readonly profiles: string
  readonly model: ComposeModel
  /** Every service of every profile, as the static checks judge them. */
  readonly staticModel: ComposeModel
  readonly unverifiable: readonly Unverifiable[]
  /** What the stack offers beyond the guide, for the checks that need it. */
  readonly offers: Offers
}

export async function dockerVersions(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ engine: string; compose: string }> {
  const server = await docker(['version', '--format', '{{.Server.Version}}'], { env, timeoutMs: 15_000 })
  if (server.exitCode !== 0 || server.stdout.trim() === '') {
    const where = env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
    throw new PreflightError(
      `no Docker daemon answers at ${where}: ${firstLine(server.stderr)} (scripts/setup starts one)`,
      3,
    )
  }
  const compose = await docker(['compose', 'version', '--short'], { env, timeoutMs: 15_000 })
  if (compose.exitCode !== 0) {
    throw new PreflightError(`Compose v2 is missing: 'docker compose version' fails (scripts/setup installs it)`, 3)
  }
  return { engine: server.stdout.trim(), compose: compose.stdout.trim().replace(/^v/, '') }
}

/** LC-6: the guide asks for Engine 20.10+ and Compose 2.0+; anything older is refused here. */
export function checkVersions(versions: { engine: string; compose: string }): void {
  const { engine, compose } = policy.requirements
  if (!atLeast(versions.engine, engine)) {
    throw new PreflightError(
      `Docker Engine ${versions.engine} is older than the ${engine} the deployment guide requires`,
      3,
    )
  }
  if (!atLeast(versions.compose, compose)) {
    throw new PreflightError(
      `Docker Compose ${versions.compose} is older than the ${compose} the deployment guide requires`,
      3,
    )
  }
}

async function imagePresent(image: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return (await docker(['image', 'inspect', '--format', '{{.Id}}', image], { env, timeoutMs: 15_000 })).exitCode === 0
}

async function checkImages(
  model: ComposeModel,
  mode: ImageMode,
  images: Record<string, string>,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  // The suite's own helpers (probes, volume copies, busy work in a cgroup) run the tools image,
  // which is never pulled, whichever set the stack uses.
  const tools = images.TOOLS_IMAGE
  if (tools !== undefined && !(await imagePresent(tools, env))) {
    throw new PreflightError(
      `image ${tools}, the suite's own tools (TOOLS_IMAGE), is not on this machine: run 'pnpm kit'`,
      3,
    )
  }
  // With official images Compose pulls what is missing; offline, a missing image can only fail
  // later and slower, so it is named now.
  if (mode === 'official') return
  for (const [name, service] of Object.entries(model.services)) {
    if (service.build !== undefined || service.image === undefined) continue
    if (!(await imagePresent(service.image, env))) {
      throw new PreflightError(
        `image ${service.image} of service ${name} is not on this machine: build the offline kit with 'pnpm kit', or set BANYAN_IMAGES=official to pull`,
        3,
      )
    }
  }
  // The services build FROM the Node image this run chose; it has to be here before the build starts.
  const base = images.NODE_IMAGE
  const builds = Object.values(model.services).some((service) => service.build !== undefined)
  if (base !== undefined && builds && !(await imagePresent(base, env))) {
    throw new PreflightError(
      `image ${base}, the services' build base (NODE_IMAGE), is not on this machine: run 'pnpm kit'`,
      3,
    )
  }
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => {
      resolve(false)
    })
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => {
        resolve(true)
      })
    })
  })
}

async function checkPorts(model: ComposeModel): Promise<void> {
  for (const [name, service] of Object.entries(model.services)) {
    for (const port of service.ports ?? []) {
      const published = Number(port.published)
      if (!Number.isInteger(published) || published === 0) continue
      if (!(await portFree(published, port.host_ip ?? '0.0.0.0'))) {
        throw new PreflightError(
          `port ${published} that service ${name} publishes is already in use on this machine`,
          3,
        )
      }
    }
  }
}

/** Everything that can be known before a container starts, in the order the answers depend on. */
export async function preflight(config: Config, composeEnv: Record<string, string>): Promise<Preflight> {
  const env = { ...process.env, ...composeEnv }
  // Input first: a file of the stack's that does not parse stops the run before Docker is asked.
  const offers = loadOffers(config.offersFile)
  const versions = await dockerVersions(env)
  checkVersions(versions)
  const imageMode = resolveImageMode(env)
  // An image variable set by hand wins over the mode's choice: that is how one image is swapped.
  const chosen = Object.fromEntries(KIT.flatMap(({ variable }) => (env[variable] ? [[variable, env[variable]]] : [])))
  const images = { ...imageVariables(imageMode), ...chosen }
  const asked =
    env.COMPOSE_PROFILES === undefined
      ? [...policy.defaultProfiles]
      : env.COMPOSE_PROFILES.split(',').filter((profile) => profile !== '')
  let model = await composeConfig(config, { ...env, ...images, COMPOSE_PROFILES: asked.join(',') })
  const { profiles, unverifiable } = await optionalProfiles(model, asked, imageMode, env)
  if (profiles.length < asked.length)
    model = await composeConfig(config, { ...env, ...images, COMPOSE_PROFILES: profiles.join(',') })
  await checkImages(model, imageMode, images, env)
  await checkPorts(model)
  const everything = await staticModel(config, { ...env, ...images })
  return {
    ...versions,
    imageMode,
    images,
    profiles: profiles.join(','),
    model,
    staticModel: everything,
    unverifiable: onTarget(config.target, [
      ...unverifiable,
      ...unverifiableWithout(offers, config.offersFile),
      ...unverifiableByShape(model),
      ...withoutLiveCheck(unverifiable),
    ]),
    offers,
  }
}

/** The claims a stack's shape leaves without anything to check: a part of the guide it does not have. */
function unverifiableByShape(model: ComposeModel): Unverifiable[] {
  const pooled = Object.values(model.services).some(
    (service) => service.environment?.[policy.poolVariable] !== undefined,
  )
  const gateway = policy.nginx.upstreamService
  // A setting of the guide's, or a mount of its certificate folder: either is TLS to check (a
  // folder mounted with no setting to read it is judged live, with the guide's paths).
  const folder = dirname(policy.tls.certificate)
  const tls =
    policy.tls.settings.some((name) => model.services[gateway]?.environment?.[name] !== undefined) ||
    (model.services[gateway]?.volumes ?? []).some(({ target }) => target === folder)
  return [
    ...(tls
      ? []
      : [
          {
            claims: ['CF-4'],
            reason: `the stack gives ${gateway} none of the guide's TLS settings (${policy.tls.settings.join(', ')}) and no ${folder} mount: it describes no TLS to turn on`,
          },
        ]),
    ...(policy.migrations in model.services
      ? []
      : [
          {
            claims: ['UP-2'],
            reason: `the stack has no ${policy.migrations} service (the guide runs \`docker compose run --rm ${policy.migrations}\`)`,
          },
        ]),
    ...(pooled
      ? []
      : [
          {
            claims: ['TS-1'],
            reason: `no service of the stack is given ${policy.poolVariable}, the bound TS-1 holds it to`,
          },
        ]),
  ]
}

/** On Swarm, the claims its checks leave out (NOT_ON_SWARM), where nothing else has made them not verifiable already. */
function onTarget(target: Config['target'], already: readonly Unverifiable[]): Unverifiable[] {
  if (target === 'compose') return [...already]
  const listed = new Set(already.flatMap(({ claims }) => claims))
  return [
    ...already,
    ...NOT_ON_SWARM.map(({ claims, reason }) => ({
      claims: claims.filter((claim) => !listed.has(claim)),
      reason,
    })).filter(({ claims }) => claims.length > 0),
  ]
}

/** The claims no live check answers yet, where nothing else has made them not verifiable already. */
export function withoutLiveCheck(already: readonly Unverifiable[]): Unverifiable[] {
  const listed = new Set(already.flatMap(({ claims }) => claims))
  const claims = policy.withoutLiveCheck.claims.filter((claim) => !listed.has(claim))
  return claims.length === 0 ? [] : [{ claims, reason: policy.withoutLiveCheck.reason }]
}

/**
 * The policy's optional profiles (observability): one that is off, or whose images are not on an
 * offline machine, is left out of the run, and its claims are reported as not verifiable, with why.
 */
async function optionalProfiles(
  model: ComposeModel,
  asked: readonly string[],
  mode: ImageMode,
  env: NodeJS.ProcessEnv,
): Promise<{ profiles: string[]; unverifiable: Unverifiable[] }> {
  let profiles = [...asked]
  const unverifiable: Unverifiable[] = []
  for (const [profile, claims] of Object.entries(policy.optionalProfiles)) {
    if (!profiles.includes(profile)) {
      unverifiable.push({ claims, reason: `the ${profile} profile is off (COMPOSE_PROFILES=${profile} turns it on)` })
      continue
    }
    if (!Object.values(model.services).some((service) => service.profiles?.includes(profile))) {
      profiles = profiles.filter((name) => name !== profile)
      unverifiable.push({ claims, reason: `the stack declares no service in the ${profile} profile` })
      continue
    }
    if (mode === 'official') continue
    const missing: string[] = []
    for (const service of Object.values(model.services)) {
      if (
        service.profiles?.includes(profile) &&
        service.image !== undefined &&
        !(await imagePresent(service.image, env))
      ) {
        missing.push(service.image)
      }
    }
    if (missing.length > 0) {
      profiles = profiles.filter((name) => name !== profile)
      unverifiable.push({
        claims,
        reason: `the ${profile} images are not on this machine and no registry is used: ${missing.join(', ')}`,
      })
    }
  }
  return { profiles, unverifiable }
}
