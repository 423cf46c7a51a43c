// The contract each image of the kit honours on behalf of its official counterpart. The same tests
// run against the official images where BANYAN_IMAGES resolves to them, so a difference between
// the two shows here rather than as a puzzling failure in a suite.
import { PostgreSqlContainer } from '@testcontainers/postgresql'
import { RabbitMQContainer } from '@testcontainers/rabbitmq'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { docker } from '../helpers/docker.ts'
import { testLabels } from '../helpers/labels.ts'
import { scratchDir } from '../helpers/scratch.ts'
import { amqpConnection, pgClient, redisReplies } from '../helpers/probes.ts'
import { imageVariables, resolveImageMode } from './kit.ts'

const mode = resolveImageMode(process.env)
const images = imageVariables(mode)
const password = randomBytes(12).toString('hex')

function image(variable: string): string {
  const name = images[variable]
  if (name === undefined) throw new Error(`the kit has no image for ${variable}`)
  return name
}

/** Stops a container the way `docker compose down` does and returns its exit code: 137 means SIGTERM was ignored. */
async function exitCodeOnStop(container: StartedTestContainer): Promise<number> {
  await docker(['stop', '--time', '10', container.getId()])
  const { stdout } = await docker(['inspect', '--format', '{{.State.ExitCode}}', container.getId()])
  return Number(stdout.trim())
}

async function execOk(container: StartedTestContainer, command: string[]): Promise<string> {
  const { exitCode, output } = await container.exec(command)
  expect(exitCode, `${command.join(' ')} failed: ${output}`).toBe(0)
  return output
}

describe(`image kit contracts (${mode} images)`, () => {
  it('postgres: the PostgreSqlContainer module starts it; it runs init scripts and serves only the configured user', async () => {
    await using container = await new PostgreSqlContainer(image('POSTGRES_IMAGE'))
      .withDatabase('eventstore')
      .withUsername('banyan')
      .withPassword(password)
      .withCopyContentToContainer([
        {
          content: 'CREATE TABLE seeded (answer int); INSERT INTO seeded VALUES (42);',
          target: '/docker-entrypoint-initdb.d/01-seed.sql',
        },
      ])
      .withLabels(testLabels())
      .start()
    const endpoint = { host: container.getHost(), port: container.getPort(), database: 'eventstore' }
    {
      await using client = await pgClient({ ...endpoint, user: 'banyan', password })
      const { rows } = await client.query('SELECT current_user AS "user", answer FROM seeded')
      expect(rows).toEqual([{ user: 'banyan', answer: 42 }])
    }
    await expect(pgClient({ ...endpoint, user: 'banyan', password: 'wrong' })).rejects.toThrow(
      /password authentication failed/,
    )
    await expect(pgClient({ ...endpoint, user: 'postgres', password })).rejects.toThrow(
      /password authentication failed|does not exist/,
    )
    expect(await exitCodeOnStop(container)).toBe(0)
  })

  it('rabbitmq: the RabbitMQContainer module starts it; AMQP and management serve the configured user, not guest', async () => {
    await using container = await new RabbitMQContainer(image('RABBITMQ_IMAGE'))
      .withEnvironment({ RABBITMQ_DEFAULT_USER: 'banyan', RABBITMQ_DEFAULT_PASS: password })
      .withExposedPorts(5672, 15672, 15692)
      .withLabels(testLabels())
      .start()
    const host = `${container.getHost()}:${container.getMappedPort(5672)}`
    {
      await using connection = await amqpConnection(`amqp://banyan:${password}@${host}`)
      const channel = await connection.createChannel()
      const { queue } = await channel.assertQueue('', { exclusive: true })
      expect(channel.sendToQueue(queue, Buffer.from('ping'))).toBe(true)
      await expect
        .poll(async () => (await channel.get(queue, { noAck: true })) !== false, { timeout: 5_000 })
        .toBe(true)
    }
    await expect(amqpConnection(`amqp://guest:guest@${host}`)).rejects.toThrow(/ACCESS_REFUSED|403/)

    const management = `http://${container.getHost()}:${container.getMappedPort(15672)}/api/whoami`
    const authorization = `Basic ${Buffer.from(`banyan:${password}`).toString('base64')}`
    const { statusCode, body } = await request(management, { headers: { authorization } })
    expect({ statusCode, whoami: ((await body.json()) as { name: string }).name }).toEqual({
      statusCode: 200,
      whoami: 'banyan',
    })

    // The prometheus plugin, as the official image enables it: queue metrics per object on 15692.
    const metrics = await request(`http://${container.getHost()}:${container.getMappedPort(15692)}/metrics/per-object`)
    expect({
      statusCode: metrics.statusCode,
      queues: (await metrics.body.text()).includes('rabbitmq_queue_messages'),
    }).toEqual({
      statusCode: 200,
      queues: true,
    })

    await execOk(container, ['rabbitmq-diagnostics', 'ping'])
    expect(await exitCodeOnStop(container)).toBe(0)
  })

  it('redis: refuses a command without the password given by --requirepass, and serves with it', async () => {
    await using container = await new GenericContainer(image('REDIS_IMAGE'))
      .withCommand(['redis-server', '--requirepass', password])
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .withLabels(testLabels())
      .start()
    const endpoint = { host: container.getHost(), port: container.getMappedPort(6379) }
    expect(await redisReplies(endpoint, [['PING']])).toEqual([expect.stringMatching(/^-NOAUTH/)])
    expect(await redisReplies(endpoint, [['AUTH', password], ['PING']])).toEqual(['+OK', '+PONG'])
    expect(await execOk(container, ['redis-cli', '-a', password, '--no-auth-warning', 'ping'])).toContain('PONG')
    expect(await exitCodeOnStop(container)).toBe(0)
  })

  it('nginx: serves a configuration mounted at /etc/nginx/nginx.conf, in the foreground', async () => {
    const dir = scratchDir('nginx')
    writeFileSync(
      join(dir, 'nginx.conf'),
      'events {}\nhttp { server { listen 80; location / { return 200 "mounted config\\n"; } } }\n',
    )
    await using container = await new GenericContainer(image('NGINX_IMAGE'))
      .withBindMounts([{ source: join(dir, 'nginx.conf'), target: '/etc/nginx/nginx.conf', mode: 'ro' }])
      .withExposedPorts(80)
      .withLabels(testLabels())
      .start()
    const { statusCode, body } = await request(`http://${container.getHost()}:${container.getMappedPort(80)}/`)
    expect({ statusCode, text: await body.text() }).toEqual({ statusCode: 200, text: 'mounted config\n' })
    await execOk(container, ['curl', '--version'])
    expect(await exitCodeOnStop(container)).toBe(0)
  })

  it('node: runs Node 24 with a uid-1000 node user and curl for the health checks', async () => {
    await using container = await new GenericContainer(image('NODE_IMAGE'))
      .withCommand(['node', '-e', 'setInterval(() => {}, 1000)'])
      .withLabels(testLabels())
      .start()
    expect(await execOk(container, ['node', '--version'])).toMatch(/^v24\./)
    expect((await execOk(container, ['id', '-u', 'node'])).trim()).toBe('1000')
    await execOk(container, ['curl', '--version'])
  })

  it('tools: carries tar, gzip, curl, nc, ip, ss, tc, iptables, ps and a delaying proxy for probes, counters, a slow replica and volume backups', async () => {
    await using container = await new GenericContainer(image('TOOLS_IMAGE'))
      .withCommand(['sleep', 'infinity'])
      .withLabels(testLabels())
      .start()
    const tools = ['tar', 'gzip', 'curl', 'nc', 'ip', 'ss', 'tc', 'iptables', 'ps', 'delay-proxy']
    const found = await execOk(container, [
      'bash',
      '-c',
      `for t in ${tools.join(' ')}; do command -v "$t" >/dev/null && echo "$t"; done; true`,
    ])
    expect(found.trim().split('\n')).toEqual(tools)
    // The proxy holds what a client sends back for the delay it was given: 300 ms here, before
    // a local listener's answer.
    const answered = await execOk(container, [
      'bash',
      '-c',
      [
        'printf "HTTP/1.0 200 OK\\r\\n\\r\\n" | nc -l -q 0 127.0.0.1 18080 >/dev/null &',
        'delay-proxy 18081 127.0.0.1 18080 300 >/dev/null &',
        // Both listening first: polled, not slept for.
        'until ss -ltn | grep -q ":18080 " && ss -ltn | grep -q ":18081 "; do :; done',
        'curl -s -o /dev/null -w "%{http_code} %{time_total}" http://127.0.0.1:18081/',
      ].join('\n'),
    ])
    const [status, seconds] = answered.trim().split(' ')
    expect({ status, delayed: Number(seconds) >= 0.3 }).toEqual({ status: '200', delayed: true })
  })

  it('prometheus and alertmanager: rules from /etc/prometheus evaluated, a firing alert sent to Alertmanager and held in its API v2', async () => {
    await using alertmanager = await new GenericContainer(image('ALERTMANAGER_IMAGE'))
      .withCopyContentToContainer([
        {
          content: 'route: { receiver: none }\nreceivers: [{ name: none }]\n',
          target: '/etc/alertmanager/alertmanager.yml',
        },
      ])
      .withExposedPorts(9093)
      .withWaitStrategy(Wait.forHttp('/-/ready', 9093))
      .withLabels(testLabels())
      .start()
    const receiver = `${alertmanager.getIpAddress('bridge')}:9093`
    await using prometheus = await new GenericContainer(image('PROMETHEUS_IMAGE'))
      .withCopyContentToContainer([
        {
          content: `global: { evaluation_interval: 1s }\nrule_files: [/etc/prometheus/rules.yml]\nalerting: { alertmanagers: [{ static_configs: [{ targets: ['${receiver}'] }] }] }\n`,
          target: '/etc/prometheus/prometheus.yml',
        },
        // Pending for 10 s first: an alert that fires before Prometheus has found its Alertmanager
        // (its discovery passes targets on every 5 s) is dropped, and sent again a minute later.
        {
          content: 'groups: [{ name: g, rules: [{ alert: Always, expr: vector(1), for: 10s }] }]\n',
          target: '/etc/prometheus/rules.yml',
        },
      ])
      .withExposedPorts(9090)
      .withWaitStrategy(Wait.forHttp('/-/ready', 9090))
      .withLabels(testLabels())
      .start()
    await execOk(prometheus, ['promtool', 'check', 'rules', '/etc/prometheus/rules.yml'])
    await expect
      .poll(
        async () => {
          const { body } = await request(
            `http://${alertmanager.getHost()}:${alertmanager.getMappedPort(9093)}/api/v2/alerts`,
          )
          return ((await body.json()) as { labels: { alertname: string }; status: { state: string } }[]).map(
            ({ labels, status }) => `${labels.alertname} ${status.state}`,
          )
        },
        { timeout: 30_000, interval: 500 },
      )
      .toEqual(['Always active'])
  })

  it('postgres-exporter: reports pg_up 1 and the connection metrics for a database it reaches, pg_up 0 for one it does not', async () => {
    await using postgres = await new PostgreSqlContainer(image('POSTGRES_IMAGE'))
      .withUsername('banyan')
      .withPassword(password)
      .withLabels(testLabels())
      .start()
    const exporter = (uri: string) =>
      new GenericContainer(image('POSTGRES_EXPORTER_IMAGE'))
        .withEnvironment({ DATA_SOURCE_URI: uri, DATA_SOURCE_USER: 'banyan', DATA_SOURCE_PASS: password })
        .withExposedPorts(9187)
        .withWaitStrategy(Wait.forListeningPorts())
        .withLabels(testLabels())
        .start()
    const scrape = async (container: StartedTestContainer) =>
      (await (await request(`http://${container.getHost()}:${container.getMappedPort(9187)}/metrics`)).body.text())
        .split('\n')
        .filter((line) => /^(pg_up|pg_settings_max_connections|pg_stat_activity_count)\b/.test(line))
    {
      await using reaching = await exporter(
        `${postgres.getIpAddress('bridge')}:5432/${postgres.getDatabase()}?sslmode=disable`,
      )
      const lines = await scrape(reaching)
      expect({
        up: lines.includes('pg_up 1'),
        max: lines.some((line) => /^pg_settings_max_connections[{ ]/.test(line)),
        activity: lines.some((line) => line.startsWith('pg_stat_activity_count{')),
      }).toEqual({ up: true, max: true, activity: true })
    }
    // A port of the same server where nothing listens: refused at once, and nowhere but this machine.
    await using unreachable = await exporter(`${postgres.getIpAddress('bridge')}:5433/none?sslmode=disable`)
    expect(await scrape(unreachable)).toContain('pg_up 0')
  })
})
