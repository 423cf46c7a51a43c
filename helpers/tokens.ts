import { SignJWT } from 'jose'

/** An HS256 bearer token as a client of banyan-core would hold one; issuedSecondsAgo ages it. */
export async function bearer(secret: string, { issuedSecondsAgo = 0, validForSeconds = 300 } = {}): Promise<string> {
  const issuedAt = Math.floor(Date.now() / 1000) - issuedSecondsAgo
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('banyan-verify')
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + validForSeconds)
    .sign(new TextEncoder().encode(secret))
  return `Bearer ${token}`
}
