// What the configuration alone can tell, before any container starts: the resolved compose model,
// the raw compose files and nginx's configuration held to the policy. Each finding is one line
// naming the claim, the file, the key (and line where it can), what was expected and what was found.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { basename, dirname, join, resolve } from 'node:path'
import type { policy as referencePolicy } from '../fixtures/policy.ts'
import { composeConfig, type ComposeModel, type ComposeService } from './compose.ts'
import type { Config } from './config.ts'
import { durationMs, memoryBytes } from './units.ts'

export type Policy = typeof referencePolicy

export interface Finding {
  claim: string
  file: string
  key: string
  line?: number | undefined
  expected: string
  found: string
}

export interface TextFile {
  file: string
  text: string
}

export interface StaticInput {
  model: ComposeModel
  /** The compose files as written, before Compose resolved them (CF-1 reads these). */
  raw: readonly TextFile[]
  /** .env.example beside the first compose file, if there is one. */
  envExample: TextFile | null
  /** nginx's configuration, as the nginx service mounts it. */
  nginx: TextFile | null
  policy: Policy
}

export function formatFinding({ claim, file, key, line, expected, found }: Finding): string {
  return `[${claim}] ${basename(file)}${line === undefined ? '' : `:${line}`} ${key}: expected ${expected}, found ${found}`
}

/** The line of a service's key in the raw compose file, where the file writes it plainly. */
function lineOf(input: StaticInput, service: string, key?: string): { file: string; line?: number | undefined } {
  for (const { file, text } of input.raw) {
    const lines = text.split('\n')
    const start = lines.findIndex((line) => line === `  ${service}:`)
    if (start < 0) continue
    if (key === undefined) return { file, line: start + 1 }
    const end = lines.findIndex((line, index) => index > start && /^ {2}\S/.test(line))
    const within = lines.slice(start + 1, end < 0 ? undefined : end)
    const offset = within.findIndex((line) => new RegExp(`^\\s+${key}:`).test(line))
    return offset < 0 ? { file, line: start + 1 } : { file, line: start + offset + 2 }
  }
  return { file: input.raw[0]?.file ?? 'compose.yaml' }
}

function finding(
  input: StaticInput,
  claim: string,
  service: string,
  key: string,
  expected: string,
  found: string,
): Finding {
  return { claim, ...lineOf(input, service, key.split('.')[0]), key: `services.${service}.${key}`, expected, found }
}

const longRunning = (input: StaticInput): [string, ComposeService][] =>
  Object.entries(input.model.services).filter(([name]) => !input.policy.oneShot.includes(name))

const showBytes = (value: string | undefined): string =>
  value === undefined ? 'none' : `${(memoryBytes(value) / 1024 ** 3).toFixed(memoryBytes(value) >= 1024 ** 3 ? 0 : 2)}G`

/** HC-1: every long-running service has a health check, with the guide's command and timings where it gives them. */
export function checkHealthchecks(input: StaticInput): Finding[] {
  return longRunning(input).flatMap(([name, service]): Finding[] => {
    const check = service.healthcheck
    if (check === undefined || check.disable === true)
      return [finding(input, 'HC-1', name, 'healthcheck', 'a health check', 'none')]
    const wanted = input.policy.healthchecks[name]
    if (wanted === undefined) return []
    const findings: Finding[] = []
    const command = (check.test ?? []).join(' ')
    if (wanted.command && !wanted.command.test(command)) {
      findings.push(
        finding(
          input,
          'HC-1',
          name,
          'healthcheck.test',
          `a command matching ${String(wanted.command)}`,
          command || 'none',
        ),
      )
    }
    for (const key of ['interval', 'timeout', 'start_period'] as const) {
      const expected = wanted[key]
      const found = check[key]
      if (expected !== undefined && (found === undefined || durationMs(found) !== durationMs(expected))) {
        findings.push(finding(input, 'HC-1', name, `healthcheck.${key}`, expected, found ?? 'none'))
      }
    }
    if (wanted.retries !== undefined && check.retries !== wanted.retries) {
      findings.push(
        finding(input, 'HC-1', name, 'healthcheck.retries', String(wanted.retries), String(check.retries ?? 'none')),
      )
    }
    return findings
  })
}

/** RL-4: every service has a memory limit. RL-1: limits and reservations as the guide's table. */
export function checkResources(input: StaticInput): Finding[] {
  const findings: Finding[] = []
  for (const [name, service] of Object.entries(input.model.services)) {
    const resources = service.deploy?.resources
    if (resources?.limits?.memory === undefined) {
      findings.push(finding(input, 'RL-4', name, 'deploy.resources.limits.memory', 'a memory limit', 'none'))
    }
    for (const kind of ['limits', 'reservations'] as const) {
      const wanted = input.policy.resources[name]?.[kind]
      if (wanted === undefined) continue
      const found = resources?.[kind]
      if (wanted.cpus !== undefined && Number(found?.cpus) !== wanted.cpus) {
        findings.push(
          finding(
            input,
            'RL-1',
            name,
            `deploy.resources.${kind}.cpus`,
            String(wanted.cpus),
            String(found?.cpus ?? 'none'),
          ),
        )
      }
      if (
        wanted.memory !== undefined &&
        (found?.memory === undefined || memoryBytes(found.memory) !== memoryBytes(wanted.memory))
      ) {
        findings.push(
          finding(input, 'RL-1', name, `deploy.resources.${kind}.memory`, wanted.memory, showBytes(found?.memory)),
        )
      }
    }
    for (const [variable, value] of Object.entries(input.policy.environment[name] ?? {})) {
      const found = service.environment?.[variable]
      if (found !== value)
        findings.push(finding(input, 'RL-1', name, `environment.${variable}`, value, found ?? 'none'))
    }
  }
  return findings
}

/** NI-1 networks as the guide draws them; NI-2 backend services off frontend, NI-3 and off every other; NI-4 the gateway on both, exposed; NI-5 no stray ports. */
export function checkNetworks(input: StaticInput): Finding[] {
  const findings: Finding[] = []
  const file = input.raw[0]?.file ?? 'compose.yaml'
  for (const [network, wanted] of Object.entries(input.policy.networks)) {
    const found = input.model.networks?.[network]
    if (found === undefined) {
      findings.push({ claim: 'NI-1', file, key: `networks.${network}`, expected: 'the network', found: 'none' })
    } else if ((found.internal ?? false) !== wanted.internal) {
      findings.push({
        claim: 'NI-1',
        file,
        key: `networks.${network}.internal`,
        expected: String(wanted.internal),
        found: String(found.internal ?? false),
      })
    }
    // The guide draws bridges. The live check reads the driver the engine made, and on Swarm the
    // stack file makes every network an overlay: what the compose file declares is judged here.
    if (found !== undefined && found.external !== true && (found.driver ?? 'bridge') !== 'bridge')
      findings.push({
        claim: 'NI-1',
        file,
        key: `networks.${network}.driver`,
        expected: 'bridge',
        found: found.driver ?? 'bridge',
      })
  }
  for (const [name, service] of Object.entries(input.model.services)) {
    const networks = Object.keys(service.networks ?? { default: null })
    if (networks.includes('frontend') && !input.policy.frontend.includes(name)) {
      findings.push(finding(input, 'NI-2', name, 'networks', 'backend only', networks.join(', ')))
    }
    // A backend service on any network but backend (one of its own, or Compose's default, which
    // is not internal) has a way out that the live probes of a fresh backend container never see.
    const elsewhere = networks.filter((network) => network !== 'backend' && network !== 'frontend')
    if (!input.policy.frontend.includes(name) && elsewhere.length > 0) {
      findings.push(finding(input, 'NI-3', name, 'networks', 'backend only', networks.join(', ')))
    }
    // Every entry publishes: short syntax ('6379') takes a random host port and leaves published empty.
    const ports = service.ports ?? []
    if (ports.length > 0 && !input.policy.published.includes(name)) {
      const published = ports.map((port) => `${port.published || 'any'}:${port.target}`).join(', ')
      findings.push(
        finding(input, input.policy.exposed[name] ? 'NI-4' : 'NI-5', name, 'ports', 'no published port', published),
      )
    }
    const exposed = input.policy.exposed[name]
    if (exposed !== undefined) {
      const missing = exposed.filter((port) => !(service.expose ?? []).includes(port))
      if (missing.length > 0)
        findings.push(
          finding(input, 'NI-4', name, 'expose', exposed.join(', '), (service.expose ?? []).join(', ') || 'none'),
        )
      if (!(networks.includes('frontend') && networks.includes('backend'))) {
        findings.push(finding(input, 'NI-4', name, 'networks', 'frontend and backend', networks.join(', ')))
      }
    }
  }
  return findings
}

/** LC-7: images pinned to a tag, stateful data in named volumes. HC-4: a restart policy on every long-running service. */
export function checkPersistence(input: StaticInput): Finding[] {
  const findings: Finding[] = []
  for (const [name, service] of Object.entries(input.model.services)) {
    const image = service.image ?? ''
    const tag = /@sha256:|:([^/:]+)$/.exec(image)
    if (image !== '' && (tag === null || tag[1] === 'latest')) {
      findings.push(finding(input, 'LC-7', name, 'image', 'an image pinned to a tag other than latest', image))
    }
    const path = input.policy.stateful[name]
    if (path !== undefined) {
      const mount = service.volumes?.find((volume) => volume.target === path)
      if (mount?.type !== 'volume' || !mount.source) {
        findings.push(
          finding(
            input,
            'LC-7',
            name,
            'volumes',
            `a named volume at ${path}`,
            mount ? `${mount.type} ${mount.source ?? '(anonymous)'}` : 'none',
          ),
        )
      }
    }
  }
  for (const [name, service] of longRunning(input)) {
    // on-failure leaves a process that exited 0 down (one that stops cleanly on losing its
    // broker, say), and on-failure:N gives up after N restarts.
    if (!['always', 'unless-stopped'].includes(service.restart ?? '')) {
      findings.push(finding(input, 'HC-4', name, 'restart', 'always or unless-stopped', service.restart ?? 'none'))
    }
  }
  return findings
}

/** Where a container path of a service lies on this machine, through its bind mounts; null when none holds it. */
function hostPath(service: ComposeService, path: string): string | null {
  // The deepest mount that holds the path, as in the container: a folder mounted inside another
  // mounted folder hides what the outer one has there. A volume or tmpfs there holds nothing
  // this machine can read: none.
  const holding = (service.volumes ?? [])
    .filter((mount) => path === mount.target || path.startsWith(`${mount.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length)
  const [mount] = holding
  return mount?.type !== 'bind' || mount.source === undefined
    ? null
    : mount.source + path.slice(mount.target.replace(/\/$/, '').length)
}

const yamlFiles = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => /\.ya?ml$/.test(name))
        .map((name) => join(dir, name))
    : []

/**
 * OB-2, as far as the files go: Grafana's provisioning (datasources, dashboard providers) parses
 * as Grafana's provisioning format; the dashboards its providers point at are JSON whose titles
 * include every dashboard the guide lists; and every panel's datasource is of a type provisioned.
 * A stack without the Grafana service has nothing here to check (its claim reads why).
 */
export function checkGrafana(input: StaticInput): Finding[] {
  const { service: name, provisioning, dashboards: wanted } = input.policy.grafana
  const service = input.model.services[name]
  const problem = (key: string, expected: string, found: string) => finding(input, 'OB-2', name, key, expected, found)
  // Every profile's services are in the model: a stack with none is one that has no Grafana at all.
  if (service === undefined) return [problem('image', 'a grafana service (the guide’s Grafana, on 5005)', 'none')]
  const root = hostPath(service, provisioning)
  if (root === null || !existsSync(root))
    return [problem('volumes', `a provisioning folder mounted at ${provisioning}`, 'none')]
  const findings: Finding[] = []
  const read = (file: string): unknown => {
    try {
      return parseYaml(readFileSync(file, 'utf8')) as unknown
    } catch (error) {
      findings.push(
        problem(
          'volumes',
          `${file} to parse`,
          error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
        ),
      )
      return undefined
    }
  }
  const types = new Set<string>()
  for (const file of yamlFiles(join(root, 'datasources'))) {
    const parsed = read(file) as
      { apiVersion?: unknown; datasources?: { name?: unknown; type?: unknown; url?: unknown }[] } | undefined
    for (const source of parsed?.datasources ?? []) {
      if (typeof source.name !== 'string' || typeof source.type !== 'string')
        findings.push(
          problem('volumes', `every datasource of ${basename(file)} named and typed`, JSON.stringify(source)),
        )
      else types.add(source.type)
    }
  }
  const titles: string[] = []
  for (const file of yamlFiles(join(root, 'dashboards'))) {
    const parsed = read(file) as { providers?: { options?: { path?: unknown } }[] } | undefined
    for (const provider of parsed?.providers ?? []) {
      const path = provider.options?.path
      const dir = typeof path === 'string' ? hostPath(service, path) : null
      if (dir === null || !existsSync(dir)) {
        findings.push(problem('volumes', `the dashboards folder of ${basename(file)} mounted`, String(path)))
        continue
      }
      for (const json of readdirSync(dir).filter((entry) => entry.endsWith('.json'))) {
        let dashboard: { title?: unknown; panels?: { title?: unknown; datasource?: { type?: unknown } }[] }
        try {
          dashboard = JSON.parse(readFileSync(join(dir, json), 'utf8')) as typeof dashboard
        } catch (error) {
          findings.push(problem('volumes', `${json} to parse as JSON`, String(error)))
          continue
        }
        if (typeof dashboard.title === 'string') titles.push(dashboard.title)
        for (const panel of dashboard.panels ?? []) {
          const type = panel.datasource?.type
          if (typeof type === 'string' && !types.has(type))
            findings.push(
              problem(
                'volumes',
                `panel "${String(panel.title)}" of ${json} on a provisioned datasource type (${[...types].join(', ')})`,
                type,
              ),
            )
        }
      }
    }
  }
  const missing = wanted.filter((title) => !titles.includes(title))
  if (missing.length > 0)
    findings.push(
      problem(
        'volumes',
        `the guide's dashboards ${missing.map((title) => `"${title}"`).join(', ')}`,
        titles.length === 0 ? 'none' : titles.map((title) => `"${title}"`).join(', '),
      ),
    )
  return findings
}

const SECRET_KEY = /(PASSWORD|PASS|SECRET|SECRET_KEY|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIALS?|AUTH|COOKIE)$/i

/** CF-1: no credential written literally in a compose file, and .env.example lists every variable the files use. */
export function checkSecrets(input: StaticInput): Finding[] {
  const findings: Finding[] = []
  const used = new Set<string>()
  for (const { file, text } of input.raw) {
    text.split('\n').forEach((line, index) => {
      if (/^\s*#/.test(line)) return
      for (const match of line.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)) used.add(match[1] ?? '')
      const pair = /^\s*-?\s*([A-Za-z_][\w.]*)\s*[:=]\s*(.+?)\s*$/.exec(line)
      const [key = '', value = ''] = pair ? [pair[1], pair[2]] : []
      const literal = (text: string): boolean => text !== '' && !text.includes('${') && !/^['"]?['"]?$/.test(text)
      // ${VAR:-x} and ${VAR-x}: when the variable is not set, the service runs with what the file
      // says, an empty password included (Grafana then keeps its admin/admin).
      const fallback = (text: string): boolean => /\$\{[A-Za-z_][A-Za-z0-9_]*:?-/.test(text)
      const where = { claim: 'CF-1', file, line: index + 1 }
      if (SECRET_KEY.test(key) && literal(value)) {
        findings.push({ ...where, key, expected: 'a value from a variable (${...})', found: 'a literal value' })
      }
      if (SECRET_KEY.test(key) && fallback(value)) {
        findings.push({ ...where, key, expected: 'a variable with no fallback (${VAR:?...})', found: value })
      }
      const userinfo = /:\/\/[^:/\s@]*:([^@\s]+)@/.exec(line)?.[1]
      if (userinfo !== undefined && fallback(userinfo)) {
        findings.push({
          ...where,
          key: key || 'url',
          expected: 'a password variable with no fallback',
          found: userinfo,
        })
      }
      if (userinfo !== undefined && literal(userinfo)) {
        findings.push({
          ...where,
          key: key || 'url',
          expected: 'a password from a variable in the URL',
          found: 'a literal password',
        })
      }
      const flag = /--requirepass\s+(\S+)/.exec(line)?.[1]
      if (flag !== undefined && fallback(flag)) {
        findings.push({ ...where, key: key || 'command', expected: '--requirepass with no fallback', found: flag })
      }
      if (flag !== undefined && literal(flag)) {
        findings.push({
          ...where,
          key: key || 'command',
          expected: '--requirepass from a variable',
          found: 'a literal password',
        })
      }
    })
  }
  const file = input.envExample?.file ?? '.env.example'
  const listed = new Set(
    [...(input.envExample?.text ?? '').matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((match) => match[1] ?? ''),
  )
  const missing = [...used].filter((name) => !listed.has(name)).sort()
  if (missing.length > 0)
    findings.push({
      claim: 'CF-1',
      file,
      key: 'variables',
      expected: 'every variable the compose files use',
      found: `no ${missing.join(', ')}`,
    })
  return findings
}

/** LB-2: least_conn over every gateway replica, by names Compose v2 resolves. LB-4: the guide's proxy headers. */
export function checkNginx(input: StaticInput): Finding[] {
  const wanted = input.policy.nginx
  const file = input.nginx?.file ?? 'nginx.conf'
  if (input.nginx === null)
    return [
      {
        claim: 'LB-2',
        file,
        key: `services.${wanted.service}.volumes`,
        expected: 'nginx.conf mounted at /etc/nginx/nginx.conf',
        found: 'none',
      },
    ]
  const text = input.nginx.text.replace(/#.*$/gm, '')
  const lineIn = (needle: string): number | undefined => {
    const index = input.nginx?.text.split('\n').findIndex((line) => line.includes(needle)) ?? -1
    return index < 0 ? undefined : index + 1
  }
  const findings: Finding[] = []
  const pass = /proxy_pass\s+https?:\/\/([\w.-]+)/.exec(text)?.[1]
  const upstream = pass === undefined ? undefined : new RegExp(`upstream\\s+${pass}\\s*\\{([^}]*)\\}`).exec(text)?.[1]
  if (pass === undefined || upstream === undefined) {
    return [
      {
        claim: 'LB-2',
        file,
        key: 'upstream',
        expected: `an upstream over ${wanted.upstreamService} that proxy_pass uses`,
        found: pass ? `proxy_pass to ${pass}, no such upstream` : 'no proxy_pass',
      },
    ]
  }
  if (!new RegExp(`\\b${wanted.balancing}\\s*;`).test(upstream)) {
    findings.push({
      claim: 'LB-2',
      file,
      line: lineIn(`upstream ${pass}`),
      key: `upstream ${pass}`,
      expected: wanted.balancing,
      found: /\b(ip_hash|hash|random|least_time)\b/.exec(upstream)?.[1] ?? 'round robin (no balancing method)',
    })
  }
  // Compose v2 answers DNS for service names and aliases on a shared network, not for the
  // guide's api-gateway-1..3 (its replicas are named <project>-api-gateway-N).
  const service = input.model.services[wanted.upstreamService]
  const resolvable = new Set([
    wanted.upstreamService,
    ...Object.values(service?.networks ?? {}).flatMap(
      (network) => (network as { aliases?: string[] } | null)?.aliases ?? [],
    ),
  ])
  for (const match of upstream.matchAll(/\bserver\s+([\w.-]+)(?::\d+)?/g)) {
    const host = match[1] ?? ''
    if (!resolvable.has(host)) {
      findings.push({
        claim: 'LB-2',
        file,
        line: lineIn(`server ${host}`),
        key: `upstream ${pass} server ${host}`,
        expected: `a name Compose v2 resolves to the replicas (${[...resolvable].join(', ')})`,
        found: host,
      })
    }
  }
  for (const [header, value] of Object.entries(wanted.headers)) {
    const found = new RegExp(`proxy_set_header\\s+${header}\\s+(\\S+);`, 'i').exec(text)?.[1]
    if (found !== value)
      findings.push({
        claim: 'LB-4',
        file,
        line: lineIn('proxy_pass'),
        key: `proxy_set_header ${header}`,
        expected: value,
        found: found ?? 'none',
      })
  }
  return findings
}

export const STATIC_CHECKS = {
  checkHealthchecks,
  checkResources,
  checkNetworks,
  checkPersistence,
  checkSecrets,
  checkNginx,
  checkGrafana,
} as const

/** The claims the configuration can settle, each with what the check holds the stack to. */
export const STATIC_CLAIMS: readonly (readonly [string, string])[] = [
  ['HC-1', 'every long-running service has a health check, with the guide’s command and timings where it gives them'],
  ['HC-4', 'every long-running service has a restart policy'],
  ['RL-1', 'limits, reservations and the Elasticsearch heap are the guide’s'],
  ['RL-4', 'every service has a memory limit'],
  ['NI-1', 'frontend is a bridge network and backend an internal one'],
  ['NI-2', 'only nginx, the gateway and the observability UIs sit on frontend'],
  ['NI-3', 'every other service sits on the internal backend network and no other'],
  ['NI-4', 'api-gateway is on both networks and exposes 3003 without publishing it'],
  ['NI-5', 'no backend service publishes a host port'],
  ['LC-7', 'images are pinned to a tag and stateful services keep their data in named volumes'],
  ['CF-1', 'no credential is written literally, and .env.example lists every variable'],
  ['LB-2', 'nginx balances with least_conn over names Compose v2 resolves to every replica'],
  ['LB-4', 'nginx passes Host, X-Real-IP and X-Forwarded-For'],
  ['OB-2', 'Grafana’s provisioning parses, and provisions the guide’s dashboards over datasources it provisions'],
]

/** Every check's findings, one line each, by claim. */
export function staticFindings(input: StaticInput): Map<string, string[]> {
  const findings = Object.values(STATIC_CHECKS).flatMap((check) => check(input))
  return new Map(
    STATIC_CLAIMS.map(([claim]) => [claim, findings.filter((finding) => finding.claim === claim).map(formatFinding)]),
  )
}

/**
 * The compose files, each followed by the files its services `extends` (`file:` under `extends`,
 * flow or block style), as Compose reads them: a literal secret in an extended file is in the
 * deployment all the same.
 */
export function withExtended(files: readonly string[]): string[] {
  const all: string[] = []
  const visit = (file: string): void => {
    if (all.includes(file)) return
    all.push(file)
    if (!existsSync(file)) return
    const text = readFileSync(file, 'utf8')
    for (const [, block = ''] of text.matchAll(/extends:[ \t]*(\{[^}]*\}|(?:\n[ \t]+\S.*)+)/g)) {
      const extended = /\bfile:\s*['"]?([^'",}\s]+)/.exec(block)?.[1]
      if (extended !== undefined) visit(resolve(dirname(file), extended))
    }
  }
  files.forEach(visit)
  return all
}

/** Reads what the static checks judge beside Compose's resolution: the files as written, .env.example and nginx.conf. */
export function staticInput(config: Config, model: ComposeModel, checkedPolicy: Policy): StaticInput {
  const read = (file: string): TextFile | null => (existsSync(file) ? { file, text: readFileSync(file, 'utf8') } : null)
  const nginxMount = model.services[checkedPolicy.nginx.service]?.volumes?.find(
    (volume) => volume.target === '/etc/nginx/nginx.conf',
  )
  return {
    model,
    raw: withExtended(config.composeFiles)
      .map((file) => read(file))
      .filter((file): file is TextFile => file !== null),
    envExample: read(join(config.projectDirectory, '.env.example')),
    nginx: nginxMount?.source === undefined ? null : read(nginxMount.source),
    policy: checkedPolicy,
  }
}

/**
 * The configuration the static checks judge: every service the files declare, those of profiles
 * the run leaves off included. A profile that is off is not started, but its configuration is
 * the deployment's all the same (an Elasticsearch whose heap outgrows its limit is wrong whether
 * or not this run starts it).
 */
export function staticModel(config: Config, env: NodeJS.ProcessEnv): Promise<ComposeModel> {
  return composeConfig(config, { ...env, COMPOSE_PROFILES: '*' })
}

/** The same, resolving the compose files first (Compose's CLI only: no Docker engine needed). */
export async function loadStaticInput(
  config: Config,
  env: NodeJS.ProcessEnv,
  checkedPolicy: Policy,
): Promise<StaticInput> {
  return staticInput(config, await staticModel(config, env), checkedPolicy)
}
