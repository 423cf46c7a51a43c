// The deployment guide's commands, in its order, and what the suite does with each: runs it as
// written (Compose's -f, -p and --project-directory aside, which put it on the run's project, and
// the run's override beside the stack's files), runs it changed (and why: an added --wait is a
// change), or does not run it (and why). The run's page shows them beside the claims they serve,
// so a reader sees which of the guide's words the verdicts rest on. A unit test holds the list to
// the guide: every command of its shell blocks is here, under its heading, in the guide's words.

export interface GuideCommand {
  /** The guide's heading above the command. */
  section: string
  /** The command as the guide prints it. */
  command: string
  claims: readonly string[]
  use: 'as written' | 'changed' | 'not run'
  /** What the suite runs, or why it runs nothing. */
  how: string
}

export const GUIDE_COMMANDS: readonly GuideCommand[] = [
  {
    section: 'Quick Start',
    command: 'git clone https://github.com/your-org/banyan-core.git',
    claims: [],
    use: 'not run',
    how: 'the deployment under test is the compose files given (COMPOSE_FILE, the reference stack by default)',
  },
  {
    section: 'Quick Start',
    command: 'docker compose up',
    claims: ['LC-1'],
    use: 'changed',
    how: "up -d through testcontainers with the run's override (labels, health probe timing), waiting on every health check",
  },
  {
    section: 'Quick Start',
    command: 'docker compose ps',
    claims: ['LC-1', 'HC-1'],
    use: 'changed',
    how: "the states ps prints, read from Docker itself: each container's state and health, and the health events",
  },
  {
    section: 'Development Workflow',
    command: 'docker compose up postgres rabbitmq redis jaeger grafana elasticsearch',
    claims: ['LC-2'],
    use: 'changed',
    how: 'up -d --wait on a project of its own, the observability services only where the profile is on (LC-2 then reads not verifiable here)',
  },
  {
    section: 'Development Workflow',
    command: 'pnpm run dev',
    claims: [],
    use: 'not run',
    how: 'running a service outside Compose for debugging: no claim of CLAIMS.md',
  },
  {
    section: 'Stopping Services',
    command: 'docker compose down',
    claims: ['LC-4'],
    use: 'as written',
    how: 'on a project of its own: the volumes kept, their data back with the next up',
  },
  {
    section: 'Stopping Services',
    command: 'docker compose down -v',
    claims: ['LC-4'],
    use: 'as written',
    how: 'on a project of its own: no volume left, the next up empty',
  },
  {
    section: 'Stopping Services',
    command: 'docker compose stop api-gateway',
    claims: ['LC-3'],
    use: 'as written',
    how: 'for every long-running service in turn, the others watched for 5 s after',
  },
  {
    section: 'Starting Production',
    command: 'docker compose pull',
    claims: [],
    use: 'not run',
    how: 'no registry: the images are on the machine (the offline kit) or the run stops in preflight',
  },
  {
    section: 'Starting Production',
    command: 'docker compose up -d',
    claims: ['LC-1', 'CF-2'],
    use: 'changed',
    how: "with the run's override (labels, health probe timing), waiting on every health check; CF-2 runs up -d --wait with one variable unset",
  },
  {
    section: 'Starting Production',
    command: 'docker compose ps',
    claims: ['LC-1', 'HC-1'],
    use: 'changed',
    how: 'the states ps prints, read from Docker itself',
  },
  {
    section: 'Starting Production',
    command: 'docker compose logs -f',
    claims: ['CF-1'],
    use: 'changed',
    how: "docker logs --follow for each container from its first line, the replicas and restarts that come later too, for the run's secrets",
  },
  {
    section: 'Starting Production',
    command: 'docker compose logs -f api-gateway',
    claims: ['CF-1'],
    use: 'changed',
    how: 'as the line above: every container of every service, the gateway replicas among them',
  },
  {
    section: 'Scaling Services',
    command: 'docker compose up -d --scale api-gateway=3',
    claims: ['LB-1', 'TS-1'],
    use: 'changed',
    how: 'with --wait, and to 5 for LB-1: the stack already runs three (deploy.replicas), so 3 would change nothing',
  },
  {
    section: 'Scaling Services',
    command: 'docker compose up -d --scale user-service=5',
    claims: ['LB-1', 'MB-1'],
    use: 'changed',
    how: 'with --wait, for the instances to be healthy before they are judged',
  },
  {
    section: 'PostgreSQL Backup',
    command: 'docker exec flow-platform-postgres pg_dump -U ${DATABASE_USER} eventstore > backup.sql',
    claims: ['BR-1'],
    use: 'changed',
    how: "the same pg_dump in the run's postgres container, by its id: no container_name, so stacks can run side by side",
  },
  {
    section: 'PostgreSQL Backup',
    command:
      '0 2 * * * docker exec flow-platform-postgres pg_dump -U ${DATABASE_USER} eventstore | gzip > /backups/eventstore-$(date +\\%Y\\%m\\%d).sql.gz',
    claims: ['BR-2', 'BR-4'],
    use: 'changed',
    how: "the dump gzipped as the line does, run once: the schedule is the host's cron, not the deployment's",
  },
  {
    section: 'Volume Backup',
    command:
      'docker run --rm -v flow-platform-postgres-data:/data -v $(pwd):/backup alpine tar czf /backup/postgres-backup.tar.gz /data',
    claims: ['BR-3', 'BR-4'],
    use: 'changed',
    how: "the suite's tools image for alpine (no registry), the run's own volume; live as printed (refuted, waived) and with postgres stopped",
  },
  {
    section: 'Volume Backup',
    command:
      'docker run --rm -v flow-platform-postgres-data:/data -v $(pwd):/backup alpine tar xzf /backup/postgres-backup.tar.gz -C /',
    claims: ['BR-3', 'BR-4'],
    use: 'changed',
    how: 'the tools image for alpine, into a fresh volume that postgres then starts on',
  },
  {
    section: 'Disaster Recovery',
    command: 'docker compose down',
    claims: ['BR-4'],
    use: 'changed',
    how: 'down -v: the disaster the drill recovers from takes the volumes too',
  },
  {
    section: 'Disaster Recovery',
    command: 'docker compose up -d',
    claims: ['BR-4'],
    use: 'changed',
    how: 'postgres first (up -d --wait postgres) to restore the dump into, then up -d --wait',
  },
  {
    section: 'Disaster Recovery',
    command: 'docker compose ps',
    claims: ['BR-4'],
    use: 'changed',
    how: 'ps --all --format json: every long-running service running, and healthy where it has a check; then GET /health through nginx',
  },
  {
    section: 'Elasticsearch Storage',
    command: 'curl http://localhost:9200/_cat/indices?v',
    claims: ['OB-3'],
    use: 'not run',
    how: "not against an Elasticsearch (none where the observability profile is off or its image is missing); held to Elasticsearch's REST API as its official client sends the same request (helpers/elasticsearch.ts)",
  },
  {
    section: 'Elasticsearch Storage',
    command: 'curl http://localhost:9200/logs-*/_search?q=level:error',
    claims: ['OB-3'],
    use: 'not run',
    how: "not against an Elasticsearch (none where the observability profile is off or its image is missing); held to Elasticsearch's REST API as its official client sends the same request (helpers/elasticsearch.ts)",
  },
  {
    section: 'Elasticsearch Storage',
    command: 'curl -X DELETE "http://localhost:9200/logs-*/_delete_by_query"',
    claims: ['OB-4'],
    use: 'not run',
    how: "not against an Elasticsearch (none where the observability profile is off or its image is missing); held to Elasticsearch's REST API as its official client sends the same request (helpers/elasticsearch.ts)",
  },
  {
    section: 'Log Rotation',
    command: 'curl -X PUT "http://localhost:9200/_ilm/policy/logs-policy"',
    claims: ['OB-4'],
    use: 'not run',
    how: "not against an Elasticsearch (none where the observability profile is off or its image is missing); held to Elasticsearch's REST API as its official client sends the same request (helpers/elasticsearch.ts)",
  },
  {
    section: 'Rolling Updates',
    command: 'docker compose pull api-gateway',
    claims: ['UP-1'],
    use: 'changed',
    how: "a new version built from the running image (one label more) and named by an override of the run's: no registry",
  },
  {
    section: 'Rolling Updates',
    command: 'docker compose up -d --no-deps --scale api-gateway=3 api-gateway',
    claims: ['UP-1'],
    use: 'as written',
    how: "to as many replicas as the stack runs (3 on the reference) under load through nginx: downtime (refuted, waived); the README's procedure is verified beside it",
  },
  {
    section: 'Rolling Updates',
    command: 'docker compose ps',
    claims: ['UP-1'],
    use: 'changed',
    how: 'each replica running the new version, read from Docker; then each new one must have served',
  },
  {
    section: 'Database Migrations',
    command: 'docker exec flow-platform-devbox pnpm run migrate',
    claims: ['UP-2'],
    use: 'not run',
    how: "the stack has no devbox container; the guide's other way, the migrations service, is run",
  },
  {
    section: 'Database Migrations',
    command: 'docker compose run --rm migrations',
    claims: ['UP-2'],
    use: 'as written',
    how: "twice on a project of its own: on an empty store, then on the running stack's data",
  },
  {
    section: 'Maintenance Window',
    command: 'docker compose down',
    claims: ['UP-3'],
    use: 'as written',
    how: 'on a project of its own, with 30 requests in flight through nginx: each must be answered',
  },
  {
    section: 'Maintenance Window',
    command: 'docker compose pull',
    claims: [],
    use: 'not run',
    how: 'no registry (see Starting Production)',
  },
  {
    section: 'Maintenance Window',
    command: 'docker compose up -d',
    claims: ['LC-1'],
    use: 'changed',
    how: "as at Starting Production: the run's start-up",
  },
  {
    section: 'Maintenance Window',
    command: 'docker compose ps',
    claims: ['LC-1', 'HC-1'],
    use: 'changed',
    how: 'the states ps prints, read from Docker itself',
  },
  {
    section: 'Maintenance Window',
    command: 'docker compose logs -f',
    claims: ['CF-1'],
    use: 'changed',
    how: 'docker logs --follow for each container, as at Starting Production',
  },
  {
    section: "Service Won't Start",
    command: 'docker compose logs <service-name>',
    claims: ['CF-2'],
    use: 'changed',
    how: 'with --no-color and the env file less the variable, for the services that stopped: they must name the missing variable',
  },
  {
    section: "Service Won't Start",
    command: 'docker compose ps',
    claims: ['CF-2'],
    use: 'changed',
    how: 'the states of the services that stopped, read from Docker',
  },
  {
    section: "Service Won't Start",
    command: 'docker compose config',
    claims: ['LC-5'],
    use: 'changed',
    how: 'with --format json, in preflight: a file that does not parse is exit 2 before anything starts',
  },
  {
    section: 'High Memory Usage',
    command: 'docker stats',
    claims: ['RL-3', 'RL-4'],
    use: 'changed',
    how: "the engine's stats API that docker stats reads, for the CFS and memory counters it does not print",
  },
  {
    section: 'High Memory Usage',
    command: 'docker compose restart <service-name>',
    claims: ['UP-4', 'MB-3'],
    use: 'as written',
    how: 'for every long-running service in turn, and rabbitmq for MB-3',
  },
  {
    section: 'Database Connection Pool Exhausted',
    command:
      'docker exec flow-platform-postgres psql -U ${DATABASE_USER} -d eventstore -c "SELECT count(*) FROM pg_stat_activity;"',
    claims: ['TS-1'],
    use: 'changed',
    how: "pg_stat_activity sampled every 50 ms from a client of the suite's, each connection matched to its container",
  },
  {
    section: 'Database Connection Pool Exhausted',
    command: 'docker compose restart',
    claims: [],
    use: 'not run',
    how: 'each service is restarted alone (UP-4), which a whole restart adds nothing to',
  },
]
