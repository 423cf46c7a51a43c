// What stands at a stack's JAEGER_ENDPOINT when no Jaeger runs there (OB-1, as far as this machine
// can check it): an OTLP over HTTP trace receiver that takes what a service sends, answers as a
// collector does, and says on one line of its output what came from which address. Run in a
// container of the kit's Node image under the endpoint's host name (`node otlp-receiver.ts PORT`:
// Node runs TypeScript as it is), and imported by the tests that hold it to what the OpenTelemetry
// SDK really sends. Node's own modules only: the container has nothing else.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { gunzipSync } from 'node:zlib'

/** One request, as the receiver saw it. */
export interface Received {
  /** The sender's address (IPv4 as such, not IPv4-mapped). */
  readonly from: string
  readonly method: string
  readonly path: string
  readonly contentType: string
  readonly bytes: number
  /** OTLP's two HTTP encodings; anything else is not OTLP. */
  readonly encoding: 'json' | 'protobuf' | 'other'
  /** Each resource's service.name, and the spans' names. */
  readonly services: readonly string[]
  readonly spans: readonly string[]
  /** For a body that does not parse as an ExportTraceServiceRequest: why. */
  readonly problem?: string
}

interface ExportTraceServiceRequest {
  resourceSpans?: {
    resource?: { attributes?: { key?: string; value?: { stringValue?: string } }[] }
    scopeSpans?: { spans?: { name?: string }[] }[]
  }[]
}

/** A protobuf message's length-delimited fields, in order: each one's number and bytes (the others are skipped). */
function fields(message: Buffer): { field: number; bytes: Buffer }[] {
  const found: { field: number; bytes: Buffer }[] = []
  let at = 0
  const varint = (): number => {
    let value = 0
    for (let shift = 0; ; shift += 7) {
      if (at >= message.length || shift > 49) throw new Error('a varint runs past the message')
      const byte = message[at++] ?? 0
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
    }
  }
  while (at < message.length) {
    const key = varint()
    const wire = key % 8
    if (wire === 0) varint()
    else if (wire === 1) at += 8
    else if (wire === 5) at += 4
    else if (wire === 2) {
      const length = varint()
      found.push({ field: Math.floor(key / 8), bytes: message.subarray(at, at + length) })
      at += length
    } else throw new Error(`wire type ${wire} is not one OTLP uses`)
    if (at > message.length) throw new Error('a field runs past the message')
  }
  return found
}

const inField = (message: Buffer, field: number): Buffer[] =>
  fields(message).flatMap((one) => (one.field === field ? [one.bytes] : []))

/**
 * An ExportTraceServiceRequest in protobuf, read as far as JSON is: resource_spans (1) hold a
 * resource (1) whose attributes (1) are KeyValues (key 1, value 2: an AnyValue, string_value 1),
 * and scope_spans (2) whose spans (2) each have a name (5). The field numbers are OTLP's
 * (opentelemetry-proto, trace/v1 and common/v1).
 */
function readProtobuf(body: Buffer): { services: string[]; spans: string[] } {
  const text = (bytes: Buffer) => bytes.toString('utf8')
  const resourceSpans = inField(body, 1)
  const services = resourceSpans.flatMap((one) =>
    inField(one, 1).flatMap((resource) =>
      inField(resource, 1).flatMap((attribute) =>
        inField(attribute, 1).map(text).includes('service.name')
          ? inField(attribute, 2).flatMap((value) => inField(value, 1).map(text))
          : [],
      ),
    ),
  )
  const spans = resourceSpans.flatMap((one) =>
    inField(one, 2).flatMap((scope) => inField(scope, 2).flatMap((span) => inField(span, 5).map(text))),
  )
  return { services, spans }
}

/** What an OTLP body holds, as far as the receiver reads it: the services and the spans' names, in either encoding. */
export function readBody(
  contentType: string,
  body: Buffer,
): Pick<Received, 'encoding' | 'services' | 'spans' | 'problem'> {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'application/x-protobuf') {
    try {
      return { encoding: 'protobuf', ...readProtobuf(body) }
    } catch (error) {
      return { encoding: 'protobuf', services: [], spans: [], problem: `the body is not protobuf: ${String(error)}` }
    }
  }
  if (type !== 'application/json') return { encoding: 'other', services: [], spans: [] }
  let parsed: ExportTraceServiceRequest
  try {
    parsed = JSON.parse(body.toString('utf8')) as ExportTraceServiceRequest
  } catch {
    return { encoding: 'json', services: [], spans: [], problem: 'the body is not JSON' }
  }
  if (!Array.isArray(parsed.resourceSpans))
    return { encoding: 'json', services: [], spans: [], problem: 'the body has no resourceSpans' }
  const services = parsed.resourceSpans.flatMap(
    ({ resource }) =>
      resource?.attributes?.filter(({ key }) => key === 'service.name').map(({ value }) => value?.stringValue ?? '') ??
      [],
  )
  const spans = parsed.resourceSpans.flatMap(
    ({ scopeSpans }) => scopeSpans?.flatMap(({ spans: inScope }) => inScope?.map(({ name }) => name ?? '') ?? []) ?? [],
  )
  return { encoding: 'json', services, spans }
}

/** The receiver: every request reported to `seen`; POSTs answered as an OTLP collector answers a full success. */
export function otlpReceiver(seen: (received: Received) => void): Server {
  return createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const sent = Buffer.concat(chunks)
      const contentType = request.headers['content-type'] ?? ''
      // OTLP over HTTP may be gzipped (the SDK's `compression: 'gzip'`); Jaeger takes it so.
      let body = sent
      let read: Pick<Received, 'encoding' | 'services' | 'spans' | 'problem'>
      try {
        if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(sent)
        read = readBody(contentType, body)
      } catch {
        read = {
          encoding: 'other',
          services: [],
          spans: [],
          problem: 'the body is not gzip, as its Content-Encoding says',
        }
      }
      seen({
        from: (request.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
        method: request.method ?? '',
        path: (request.url ?? '').split('?')[0] ?? '',
        contentType,
        bytes: body.length,
        ...read,
      })
      if (request.method !== 'POST') {
        response.writeHead(405).end()
        return
      }
      // An empty ExportTraceServiceResponse: everything taken.
      if (read.encoding === 'protobuf') response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
}

// Run as a container's command: one JSON line on stdout per request, for `docker logs` to read.
if (process.argv[1] === import.meta.filename) {
  const port = Number(process.argv[2] ?? '4318')
  otlpReceiver((received) => process.stdout.write(`${JSON.stringify(received)}\n`)).listen(port, () =>
    process.stdout.write(`${JSON.stringify({ listening: port })}\n`),
  )
  process.on('SIGTERM', () => process.exit(0))
}
