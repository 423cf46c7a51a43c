// What the stack's broker itself says about its clients, asked with its own CLI in its own
// container (`rabbitmqctl`, which every RabbitMQ image carries beside the rabbitmq-diagnostics its
// health check runs): which client address holds a consumer on which queue. The services owe the
// suite no queue name; the broker knows who consumes what.
import { execIn, runningContainerOf } from './stack.ts'

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

/** The queues each client address consumes from now, as the broker lists its consumers. */
export async function consumersByAddress(): Promise<Record<string, string[]>> {
  const consumers = jsonList<{ queue_name: string; channel_pid: string }>(
    await rabbitmqctl(['list_consumers', 'queue_name', 'channel_pid']),
    'consumers',
  )
  // A channel's name is "<client address>:<port> -> <broker address>:<port> (<number>)".
  const channels = jsonList<{ pid: string; name: string }>(
    await rabbitmqctl(['list_channels', 'pid', 'name']),
    'channels',
  )
  const addressOf = new Map(channels.map(({ pid, name }) => [pid, /^(.+):\d+ -> /.exec(name)?.[1] ?? name]))
  const byAddress: Record<string, string[]> = {}
  for (const { queue_name, channel_pid } of consumers) {
    const address = addressOf.get(channel_pid)
    if (address !== undefined) (byAddress[address] ??= []).push(queue_name)
  }
  return byAddress
}
