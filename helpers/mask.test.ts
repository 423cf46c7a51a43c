import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { mask, maskingStream } from './mask.ts'

describe('masking secrets', () => {
  it('replaces every occurrence, the longest secret first', () => {
    expect(mask('amqp://u:abc123@h and abc', ['abc', 'abc123'])).toBe('amqp://u:****@h and ****')
  })

  it('catches a secret split across two chunks of a stream', async () => {
    const chunks = ['password=s3cr', 'et-value\nnext line s3cret-value', ' end\n']
    const output = await text(Readable.from(chunks).pipe(maskingStream(['s3cret-value'])))
    expect(output).toBe('password=****\nnext line **** end\n')
  })
})
