import { connect as amqpConnect, type ChannelModel } from 'amqplib'
import { Socket } from 'node:net'
import pg from 'pg'

export interface Endpoint {
  host: string
  port: number
}

/** A PostgreSQL client that closes itself at the end of its `await using` block. */
export async function pgClient(
  options: Endpoint & { user: string; password: string; database: string },
): Promise<pg.Client & AsyncDisposable> {
  const client = new pg.Client({ ...options, connectionTimeoutMillis: 10_000 })
  await client.connect()
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.end() })
}

/** An AMQP connection that closes itself at the end of its `await using` block. */
export async function amqpConnection(url: string): Promise<ChannelModel & AsyncDisposable> {
  const connection = await amqpConnect(url, { timeout: 10_000 })
  return Object.assign(connection, {
    [Symbol.asyncDispose]: async () => {
      await connection.close().catch(() => undefined)
    },
  })
}

const resp = (args: readonly string[]): string =>
  `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`

/**
 * Sends Redis commands on one connection and returns the first line of each reply ("+PONG",
 * "-NOAUTH Authentication required."). Enough to tell "serves" from "refuses" without a client library.
 */
export function redisReplies(endpoint: Endpoint, commands: readonly (readonly string[])[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    let received = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(
        new Error(`redis at ${endpoint.host}:${endpoint.port} did not answer ${commands.length} commands within 10 s`),
      )
    }, 10_000)
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8')
      const lines = received.split('\r\n').filter((line) => /^[+\-:]/.test(line))
      if (lines.length >= commands.length) {
        clearTimeout(timer)
        socket.end()
        resolve(lines.slice(0, commands.length))
      }
    })
    socket.connect(endpoint.port, endpoint.host, () => {
      socket.write(commands.map(resp).join(''))
    })
  })
}
