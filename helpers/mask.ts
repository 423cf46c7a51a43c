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

/** Each line that is not empty started with `label`. */
export const labelled = (lines: string, label: string): string =>
  label === '' ? lines : lines.replace(/^(?=.)/gm, label)

/**
 * A stream that masks secrets line by line. It holds back an unfinished line, so a secret split
 * across two chunks is still caught. With a `label`, each line starts with it: whose output it is,
 * where two runs print beside each other.
 */
export function maskingStream(secrets: readonly string[], label = ''): Transform {
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
      callback(null, labelled(mask(complete, secrets), label))
    },
    flush(callback: TransformCallback) {
      callback(null, labelled(mask(pending, secrets), label))
    },
  })
}
