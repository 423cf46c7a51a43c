// What the stack's broker itself says about its clients, asked with its own CLI in its own
// container (`rabbitmqctl`, which every RabbitMQ image carries beside the rabbitmq-diagnostics its
// health check runs): which client address holds a consumer on which queue. The services owe the
// suite no queue name; the broker knows who consumes what. What rabbitmqctl does not list, how
// many messages a queue or a channel took, gave and had acknowledged, comes from the broker's
// management API (the rabbitmq_management plugin of the -management images), asked from this
// machine at the broker's backend address with the configured login.
import { request } from 'undici'
import { expect } from 'vitest'
import { addressOf, credential, execIn, replicasOf, runningContainerOf } from './stack.ts'

/** A JSON list rabbitmqctl printed (--formatter json), whatever banner came before it. */
function jsonList<T>(output: string, what: string): T[] {
  const start = output.indexOf('[')
  if (start < 0) throw new Error(`rabbitmqctl listed no ${what}: ${output.trim() || '(no output)'}`)
  return JSON.parse(output.slice(start)) as T[]
}

async function rabbitmqctl(args: readonly string[]): Promise<string> {
  const { exitCode, stdout, stderr } = await execIn(await runningContainerOf('rabbitmq'), [
    'rabbitmqctl',
    '-q',
    ...args,
    '--formatter',
    'json',
  ])
  if (exitCode !== 0) throw new Error(`rabbitmqctl ${args.join(' ')} exited ${exitCode}: ${stderr.trim()}`)
  return stdout
}

/** Every consumer the broker has now: its queue, its client's address, and whether the broker waits for its acknowledgements. */
async function consumers(): Promise<{ queue: string; address: string; acknowledges: boolean }[]> {
  const listed = jsonList<{ queue_name: string; channel_pid: string; ack_required: boolean }>(
    await rabbitmqctl(['list_consumers', 'queue_name', 'channel_pid', 'ack_required']),
    'consumers',
  )
  // A channel's name is "<client address>:<port> -> <broker address>:<port> (<number>)".
  const channels = jsonList<{ pid: string; name: string }>(
    await rabbitmqctl(['list_channels', 'pid', 'name']),
    'channels',
  )
  const addressOf = new Map(channels.map(({ pid, name }) => [pid, /^(.+):\d+ -> /.exec(name)?.[1] ?? name]))
  return listed.flatMap(({ queue_name, channel_pid, ack_required }) => {
    const address = addressOf.get(channel_pid)
    return address === undefined ? [] : [{ queue: queue_name, address, acknowledges: ack_required }]
  })
}

/** The queues each client address consumes from now, as the broker lists its consumers. */
export async function consumersByAddress(): Promise<Record<string, string[]>> {
  const byAddress: Record<string, string[]> = {}
  for (const { queue, address } of await consumers()) (byAddress[address] ??= []).push(queue)
  return byAddress
}

/**
 * A service's instances by their backend address, once the broker sees every one of them consume
 * (polled: an instance turns healthy before its consumer is set up), and the queues all of them
 * consume: where instances of one service compete. An instance that is up but consumes nothing
 * shows as one, and needs no queue name to be found.
 */
export async function competingConsumers(service: string): Promise<{
  instances: { id: string; address: string }[]
  consuming: Record<string, string[]>
  shared: string[]
}> {
  const instances = await Promise.all(
    (await replicasOf(service)).map(async (id) => ({ id, address: await addressOf(id, 'backend') })),
  )
  let consuming: Record<string, string[]> = {}
  await expect
    .poll(
      async () => {
        consuming = await consumersByAddress()
        return instances.filter(({ address }) => (consuming[address] ?? []).length === 0).map(({ id }) => id)
      },
      // Generous and slow: each look is two rabbitmqctl runs, each an Erlang VM's start (a CPU-second
      // here), and on a busy machine new instances took longer than 30 s to consume.
      { timeout: 120_000, interval: 1_000, message: `${service} instances the broker never saw consume` },
    )
    .toEqual([])
  const [first] = instances
  const shared = (consuming[first?.address ?? ''] ?? []).filter((queue) =>
    instances.every(({ address }) => (consuming[address] ?? []).includes(queue)),
  )
  return { instances, consuming, shared }
}

/** How many messages each queue holds now, by rabbitmqctl (no statistics delay); a queue that is gone is absent. */
export async function queueDepths(): Promise<Record<string, number>> {
  const queues = jsonList<{ name: string; messages: number }>(
    await rabbitmqctl(['list_queues', 'name', 'messages']),
    'queues',
  )
  return Object.fromEntries(queues.map(({ name, messages }) => [name, messages]))
}

/** The consumers of one queue now. */
export async function consumersOf(queue: string): Promise<{ address: string; acknowledges: boolean }[]> {
  return (await consumers()).filter((consumer) => consumer.queue === queue)
}

/** One of the broker's management API's answers, as JSON; a broker without the plugin is a failure that says so. */
async function management<T>(path: string): Promise<T> {
  const address = await addressOf(await runningContainerOf('rabbitmq'), 'backend')
  const login = Buffer.from(`${credential('RABBITMQ_USER')}:${credential('RABBITMQ_PASSWORD')}`).toString('base64')
  let answer: Awaited<ReturnType<typeof request>>
  try {
    answer = await request(`http://${address}:15672/api${path}`, {
      headers: { authorization: `Basic ${login}` },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    })
  } catch (error) {
    throw new Error(
      `the broker's management API (rabbitmq_management, port 15672) did not answer ${path}, and the message bus's counters are read there: ${String(error)}`,
      { cause: error },
    )
  }
  if (answer.statusCode !== 200)
    throw new Error(`the broker's management API answered ${answer.statusCode} to ${path}: ${await answer.body.text()}`)
  return (await answer.body.json()) as T
}

/** What passed through a queue or a channel since the broker started: the management API's message_stats. */
export interface Passed {
  /** Messages put on the queue (queues only). */
  publish: number
  /** Messages handed to a consumer, redeliveries included. */
  delivered: number
  /** Of those, ones handed out again after a consumer went without acknowledging them. */
  redelivered: number
  acknowledged: number
}

interface MessageStats {
  publish?: number
  deliver_get?: number
  redeliver?: number
  ack?: number
}

const passed = (stats: MessageStats | undefined): Passed => ({
  publish: stats?.publish ?? 0,
  delivered: stats?.deliver_get ?? 0,
  redelivered: stats?.redeliver ?? 0,
  acknowledged: stats?.ack ?? 0,
})

/** No message yet: where a sum of counters starts, and what a queue or client that never showed up took. */
export const NOTHING_PASSED: Passed = passed(undefined)

/** Two readings' counters added, as for one client's channels or a service's instances. */
export const addPassed = (one: Passed, other: Passed): Passed => ({
  publish: one.publish + other.publish,
  delivered: one.delivered + other.delivered,
  redelivered: one.redelivered + other.redelivered,
  acknowledged: one.acknowledged + other.acknowledged,
})

/** What passed through one queue, and how many messages it holds now, by the management API. */
export async function queueCounters(queue: string): Promise<Passed & { messages: number; durable: boolean }> {
  const found = await management<{ message_stats?: MessageStats; messages?: number; durable: boolean }>(
    `/queues/%2F/${encodeURIComponent(queue)}`,
  )
  return { ...passed(found.message_stats), messages: found.messages ?? 0, durable: found.durable }
}

/** What each client address took through its channels, summed over them. */
export async function channelCountersByAddress(): Promise<Record<string, Passed>> {
  const channels =
    await management<{ connection_details?: { peer_host?: string }; message_stats?: MessageStats }[]>('/channels')
  const byAddress: Record<string, Passed> = {}
  for (const { connection_details, message_stats } of channels) {
    const address = connection_details?.peer_host
    if (address === undefined) continue
    byAddress[address] = addPassed(byAddress[address] ?? NOTHING_PASSED, passed(message_stats))
  }
  return byAddress
}
