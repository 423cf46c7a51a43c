// Every promise of the deployment guide, one claim each, as ../shared/CLAIMS.md lists them (a unit
// test holds this list to that file). The summary answers each of them in every run, in this
// order: verified, refuted, waived, not verifiable here, or not checked. Tests join a claim by the
// ID in their title.
import { PreflightError } from './errors.ts'

/** Claims a run cannot check, and why: decided before the run (a profile off, an image missing, an offer the stack lacks). */
export interface Unverifiable {
  readonly claims: readonly string[]
  readonly reason: string
}

export interface Claim {
  readonly id: string
  readonly section: string
  readonly text: string
}

export const SECTIONS: Readonly<Record<string, string>> = {
  LC: 'Topology and lifecycle',
  CF: 'Configuration and secrets',
  NI: 'Network isolation',
  HC: 'Health checks',
  RL: 'Resource limits',
  LB: 'Scaling and load balancing',
  MB: 'Message bus',
  BR: 'Backup, restore and disaster recovery',
  UP: 'Updates and maintenance',
  TS: 'Troubleshooting',
  OB: 'Observability',
}

const LIST: readonly (readonly [string, string])[] = [
  [
    'LC-1',
    '`docker compose up` brings every service up, and `docker compose ps` then shows each long-running one healthy.',
  ],
  [
    'LC-2',
    'The infrastructure alone (postgres, rabbitmq, redis, and the observability services) starts and turns healthy without the application services.',
  ],
  ['LC-3', '`docker compose stop <service>` stops that service only; the rest stay healthy.'],
  [
    'LC-4',
    '`docker compose down` removes containers and keeps named volumes (data survives the next `up`); `down -v` removes the volumes (data is gone).',
  ],
  ['LC-5', '`docker compose config` validates the configuration and fails on a broken one.'],
  ['LC-6', 'Docker Engine is 20.10 or newer and Compose is 2.0 or newer; older ones are refused with a clear message.'],
  ['LC-7', 'Stateful services keep their data in named volumes (best practice 4), and images are pinned to a tag.'],
  [
    'CF-1',
    'Every credential and secret comes from the environment (.env); none is written literally in the compose file.',
  ],
  [
    'CF-2',
    'The services read the documented variables (NODE_ENV, DATABASE_HOST/NAME/USER/PASSWORD/PORT, RABBITMQ_URL, REDIS_URL, JWT_SECRET, JWT_EXPIRATION, JAEGER_ENDPOINT, ...); a missing required one stops the service at start with an error that names it.',
  ],
  [
    'CF-3',
    'Default credentials are not accepted: RabbitMQ refuses guest/guest, PostgreSQL takes only the configured user, Redis refuses commands without its password.',
  ],
  ['CF-4', 'With ENABLE_HTTPS=true the gateway serves TLS with the certificate mounted read-only from ./certs.'],
  ['CF-5', 'Tokens expire after JWT_EXPIRATION seconds and are checked against JWT_SECRET.'],
  ['NI-1', 'There are two networks: frontend (bridge) and backend (bridge, internal).'],
  [
    'NI-2',
    'Services on the backend network only (postgres, and the other stores) cannot be reached from the frontend network.',
  ],
  ['NI-3', "The backend network has no way out: a backend-only container has no route off the host's docker networks."],
  [
    'NI-4',
    'api-gateway is on both networks and reaches every dependency; it is not published on the host (expose only), nginx is.',
  ],
  ['NI-5', 'No backend service publishes a host port.'],
  [
    'HC-1',
    "Every long-running service has a health check (the guide's best practice 2), with the interval, timeout, retries and start period the guide gives where it gives them (api-gateway 30s/10s/3/40s on GET /health :3003; postgres pg_isready 10s/5s/5; rabbitmq `rabbitmq-diagnostics ping` 30s/10s/5).",
  ],
  ['HC-2', 'A health check reports unhealthy when its service cannot serve: it is not a check that always passes.'],
  [
    'HC-3',
    'The gateway\'s /health reflects its dependencies, and the gateway recovers by itself when a dependency comes back ("health checks for automatic recovery").',
  ],
  ['HC-4', 'A service whose process dies is brought back and turns healthy again.'],
  [
    'RL-1',
    "Limits and reservations are set as the guide's table gives: api-gateway 2 CPUs / 2G (reserved 1 / 1G), postgres 2 / 4G (1 / 2G), rabbitmq 2 / 2G (1 / 1G), elasticsearch 4G with a 2g JVM heap.",
  ],
  ['RL-2', 'The running containers carry exactly those limits (what is declared is what runs).'],
  [
    'RL-3',
    'The limits hold: a process that goes past a memory limit is killed inside that container only, and a CPU limit throttles.',
  ],
  ['RL-4', 'Every service has a memory limit (best practice 3).'],
  [
    'LB-1',
    '`--scale api-gateway=3` gives three healthy gateway replicas; `--scale user-service=5` gives five user-service instances.',
  ],
  ['LB-2', 'nginx, in front on 80/443, spreads requests over every gateway replica with least_conn.'],
  ['LB-3', 'A slow or busy replica gets fewer requests than the others (what least_conn promises over round robin).'],
  ['LB-4', 'nginx passes Host, X-Real-IP and X-Forwarded-For to the gateway.'],
  ['LB-5', 'When a replica goes away, requests keep succeeding on the others.'],
  ['MB-1', 'Commands and queries go round robin to the available handlers.'],
  ['MB-2', 'Each event subscriber gets its own copy of every event.'],
  ['MB-3', 'Several instances of one service share one queue as competing consumers: each message is handled once.'],
  ['BR-1', 'A pg_dump of the eventstore restores into an empty PostgreSQL with every row intact.'],
  ['BR-2', 'The nightly gzipped dump is a valid, restorable backup.'],
  ['BR-3', 'A tar of the postgres data volume, restored into a fresh volume, brings PostgreSQL up with the same data.'],
  [
    'BR-4',
    'The disaster-recovery procedure (down, restore volumes, restore the database, up -d, check health) ends with a healthy stack holding the backed-up data; how long it takes (RTO) and how much is lost (RPO) is measured.',
  ],
  [
    'UP-1',
    'A rolling update of a scaled api-gateway (`up -d --no-deps --scale api-gateway=3 api-gateway`) happens with zero downtime.',
  ],
  [
    'UP-2',
    '`docker compose run --rm migrations` applies the database migrations, and running it again changes nothing.',
  ],
  ['UP-3', 'In a maintenance stop, in-flight requests complete before the services stop.'],
  ['UP-4', '`docker compose restart <service>` brings it back healthy.'],
  [
    'TS-1',
    "The database connection pool per service is bounded by DATABASE_POOL_MAX, and the sum of pools stays under PostgreSQL's max_connections.",
  ],
  ['OB-1', "Jaeger receives the services' traces over OTLP (4318) and shows them on 16686."],
  ['OB-2', 'Grafana answers on 5005 with its dashboards provisioned.'],
  ['OB-3', 'Logs land in Elasticsearch indices logs-* and can be searched by level.'],
  [
    'OB-4',
    'Old logs can be removed by age, and an index lifecycle policy (rollover at 50GB or 7d, delete after 30d) can be installed.',
  ],
  [
    'OB-5',
    'The alerts (error rate over 5% for 5m, database connections near the limit, queue depth over 1000 for 5m) are defined and fire when their condition holds.',
  ],
]

export const CLAIMS: readonly Claim[] = LIST.map(([id, text]) => ({
  id,
  section: SECTIONS[id.slice(0, 2)] ?? '',
  text,
}))

/**
 * Claim IDs among the main job's arguments (`pnpm test:stack LB-3 HC-2`) become a test-name
 * filter for the checks of those claims; the other claims read "not checked". An ID CLAIMS.md
 * does not have, or IDs beside a test-name filter of vitest's own, are bad input.
 */
export function claimFilter(args: readonly string[]): { args: string[]; claims: string[] } {
  // The value of -t is a pattern of its own, even when it looks like an ID.
  const ids = args.filter(
    (arg, index) => /^[A-Z]{2}-\d+$/.test(arg) && !['-t', '--testNamePattern'].includes(args[index - 1] ?? ''),
  )
  if (ids.length === 0) return { args: [...args], claims: [] }
  const unknown = ids.filter((id) => !CLAIMS.some((claim) => claim.id === id))
  if (unknown.length > 0) throw new PreflightError(`no claim ${unknown.join(', ')} in CLAIMS.md`, 2)
  if (args.some((arg) => arg === '-t' || arg.startsWith('-t=') || arg.startsWith('--testNamePattern')))
    throw new PreflightError('claim IDs and -t both filter the tests: give one of them', 2)
  return { args: [...args.filter((arg) => !ids.includes(arg)), '-t', `\\[(${ids.join('|')})\\]`], claims: ids }
}
