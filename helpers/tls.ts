// What a TLS check needs from outside the service: a certificate made for the run (nothing secret
// is kept anywhere), and the certificate a server presents, read off the handshake.
import { X509Certificate } from 'node:crypto'
import { chmodSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { run } from './docker.ts'

export interface Certificate {
  cert: string
  key: string
  /** The certificate itself, PEM, to trust it and nothing else. */
  pem: string
  /** SHA-256 of the certificate, as Node prints fingerprints (AB:CD:...). */
  fingerprint256: string
}

/**
 * A self-signed certificate and key for `names`, made by openssl into `dir` as `cert` and `key`
 * (the names a deployment reads them by). Readable by every user: a service that runs as one of
 * its own must be able to read the run's key, which is thrown away with the run.
 */
export async function selfSignedCertificate(
  dir: string,
  { cert = 'server.crt', key = 'server.key', names = ['DNS:localhost', 'IP:127.0.0.1'] } = {},
): Promise<Certificate> {
  const made = await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=banyan-verify',
    '-addext',
    `subjectAltName=${names.join(',')}`,
    '-keyout',
    join(dir, key),
    '-out',
    join(dir, cert),
  ])
  if (made.exitCode !== 0) throw new Error(`openssl could not make the run's certificate: ${made.stderr.trim()}`)
  chmodSync(dir, 0o755)
  chmodSync(join(dir, key), 0o644)
  const pem = readFileSync(join(dir, cert), 'utf8')
  return { cert, key, pem, fingerprint256: new X509Certificate(pem).fingerprint256 }
}

/**
 * The certificate `host:port` presents in a TLS handshake, whoever signed it, or why there was no
 * handshake (a plain HTTP server, nothing listening).
 */
export function presentedCertificate(
  host: string,
  port: number,
  timeoutMs = 5_000,
): Promise<{ fingerprint256: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const { fingerprint256 } = socket.getPeerCertificate()
      socket.destroy()
      resolve({ fingerprint256 })
    })
    socket.on('timeout', () => {
      socket.destroy()
      resolve({ error: `no handshake within ${timeoutMs} ms` })
    })
    socket.on('error', (error: Error) => {
      resolve({ error: error.message })
    })
  })
}
