import { Transform, type TransformCallback } from 'node:stream'

const MASK = '****'

/** Replaces every secret in a text. Longest first, so a secret that contains another is masked whole. */
export function mask(text: string, secrets: readonly string[]): string {
  let masked = text
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) masked = masked.split(secret).join(MASK)
  }
  return masked
}

/**
 * A stream that masks secrets line by line. It holds back an unfinished line, so a secret split
 * across two chunks is still caught.
 */
export function maskingStream(secrets: readonly string[]): Transform {
  let pending = ''
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending += chunk.toString('utf8')
      const end = pending.lastIndexOf('\n')
      if (end < 0) {
        callback()
        return
      }
      const complete = pending.slice(0, end + 1)
      pending = pending.slice(end + 1)
      callback(null, mask(complete, secrets))
    },
    flush(callback: TransformCallback) {
      callback(null, mask(pending, secrets))
    },
  })
}
