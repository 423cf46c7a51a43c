import { describe, expect, it } from 'vitest'
import { readBody } from './otlp-receiver.ts'

const body = (value: unknown) => Buffer.from(JSON.stringify(value))

describe('what the OTLP receiver reads of a body', () => {
  it('JSON: every resource’s service.name and every span’s name', () => {
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'user-service' } }] },
          scopeSpans: [{ spans: [{ name: 'handle command' }, { name: 'GET /health' }] }],
        },
      ],
    }
    expect(readBody('application/json; charset=utf-8', body(request))).toEqual({
      encoding: 'json',
      services: ['user-service'],
      spans: ['handle command', 'GET /health'],
    })
  })

  it('protobuf that does not parse says why; any other type is not OTLP; JSON that is not an export request says why', () => {
    // One resource_spans, empty: a request that parses and holds nothing.
    expect(readBody('application/x-protobuf', Buffer.from([10, 0]))).toEqual({
      encoding: 'protobuf',
      services: [],
      spans: [],
    })
    // A field that says it is longer than the body.
    expect(readBody('application/x-protobuf', Buffer.from([10, 9, 1])).problem).toMatch(/^the body is not protobuf/)
    expect(readBody('application/vnd.apache.thrift.binary', Buffer.from('x')).encoding).toBe('other')
    expect(readBody('application/json', Buffer.from('{')).problem).toBe('the body is not JSON')
    expect(readBody('application/json', body({ spans: [] })).problem).toBe('the body has no resourceSpans')
  })
})
