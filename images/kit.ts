import { spawnSync } from 'node:child_process'

// The offline image kit's manifest: which images the stack and the suite use, the official
// reference each one stands in for, and the compose variable that selects it. The builder
// (images/build.ts) and the suite's configuration both read this, so a name lives in one place.

export type ImageMode = 'official' | 'offline'

export interface KitImage {
  /** Folder under images/ with the recipe. */
  readonly name: string
  /** Compose variable the stack reads the image from. */
  readonly variable: string
  /** What a machine with a registry uses; null where the kit always builds it. */
  readonly official: string | null
  /** Tag of the image the kit builds from Debian packages. */
  readonly offline: string
}

export const RECIPE_LABEL = 'io.banyan-verify.recipe'
export const BASE_IMAGE = 'banyan-offline/debian:bookworm'

export const KIT: readonly KitImage[] = [
  {
    name: 'postgres',
    variable: 'POSTGRES_IMAGE',
    official: 'postgres:15-alpine',
    offline: 'banyan-offline/postgres:15',
  },
  {
    name: 'rabbitmq',
    variable: 'RABBITMQ_IMAGE',
    official: 'rabbitmq:3.13-management-alpine',
    offline: 'banyan-offline/rabbitmq:3.10-management',
  },
  { name: 'redis', variable: 'REDIS_IMAGE', official: 'redis:7-alpine', offline: 'banyan-offline/redis:7' },
  { name: 'nginx', variable: 'NGINX_IMAGE', official: 'nginx:1.27-alpine', offline: 'banyan-offline/nginx:1.22' },
  { name: 'node', variable: 'NODE_IMAGE', official: 'node:24-bookworm', offline: 'banyan-offline/node:24' },
  // The alerting profile: the evaluator and receiver of the guide's alerts, and the exporter of
  // the database's connections (the broker has its own plugin, the gateway its own metrics).
  {
    name: 'prometheus',
    variable: 'PROMETHEUS_IMAGE',
    official: 'prom/prometheus:v2.42.0',
    offline: 'banyan-offline/prometheus:2.42',
  },
  {
    name: 'alertmanager',
    variable: 'ALERTMANAGER_IMAGE',
    official: 'prom/alertmanager:v0.25.0',
    offline: 'banyan-offline/alertmanager:0.25',
  },
  {
    name: 'postgres-exporter',
    variable: 'POSTGRES_EXPORTER_IMAGE',
    official: 'prometheuscommunity/postgres-exporter:v0.11.1',
    offline: 'banyan-offline/postgres-exporter:0.11',
  },
  { name: 'tools', variable: 'TOOLS_IMAGE', official: null, offline: 'banyan-offline/tools:1' },
]

/** The compose variables that select the images of one mode. */
export function imageVariables(mode: ImageMode): Record<string, string> {
  return Object.fromEntries(
    KIT.map((image) => [image.variable, mode === 'official' ? (image.official ?? image.offline) : image.offline]),
  )
}

/**
 * BANYAN_IMAGES=official pulls the official images (a machine with a registry); =offline uses the
 * kit. The default, auto, never contacts a registry: it takes the official images when every one is
 * already on the machine and the kit otherwise, so an air-gapped run never waits on a pull.
 */
export function resolveImageMode(env: NodeJS.ProcessEnv): ImageMode {
  const asked = env.BANYAN_IMAGES ?? 'auto'
  if (asked === 'official' || asked === 'offline') return asked
  if (asked !== 'auto') throw new Error(`BANYAN_IMAGES must be auto, official or offline, not '${asked}'`)
  const present = (image: string): boolean =>
    spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status === 0
  return KIT.every((image) => image.official === null || present(image.official)) ? 'official' : 'offline'
}
