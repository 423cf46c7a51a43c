const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Compose and Go durations ("1m30s", "500ms", "10s") in milliseconds. */
export function durationMs(duration: string): number {
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== duration) {
    throw new Error(`not a duration: '${duration}'`)
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * (UNITS[unit ?? 's'] ?? 0), 0)
}

const BYTES: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }

/** Compose's memory notation ("2G", "512M", or bytes as Compose resolves them) in bytes; NaN for anything else. */
export function memoryBytes(memory: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMG])?B?$/i.exec(memory)
  return match ? Number(match[1]) * (BYTES[(match[2] ?? '').toUpperCase()] ?? 1) : Number.NaN
}

/** Whole milliseconds since a performance.now() reading: how every measured figure is taken. */
export const elapsedMs = (since: number): number => Math.round(performance.now() - since)
