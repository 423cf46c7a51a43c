/** Compares dotted versions by their numeric parts, ignoring suffixes such as "+dfsg1" or "-4". */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string): number[] =>
    (/^v?(\d+(?:\.\d+)*)/.exec(version.trim())?.[1] ?? '0').split('.').map(Number)
  const [left, right] = [parts(a), parts(b)]
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0)
    if (difference !== 0) return Math.sign(difference)
  }
  return 0
}

export const atLeast = (version: string, minimum: string): boolean => compareVersions(version, minimum) >= 0
