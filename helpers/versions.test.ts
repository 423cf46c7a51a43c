import { describe, expect, it } from 'vitest'
import { PreflightError } from './errors.ts'
import { checkVersions } from './preflight.ts'
import { atLeast, compareVersions } from './versions.ts'

describe('versions', () => {
  it('compares by numeric parts and ignores distribution suffixes', () => {
    expect(compareVersions('20.10.24+dfsg1', '20.10')).toBe(1)
    expect(compareVersions('2.26.1-4', '2.0')).toBe(1)
    expect(compareVersions('v2.0.0', '2.0')).toBe(0)
    expect(compareVersions('19.03.15', '20.10')).toBe(-1)
    expect(atLeast('20.9', '20.10')).toBe(false)
  })

  it('[LC-6] accepts Engine 20.10 and Compose 2.0 and newer', () => {
    expect(() => checkVersions({ engine: '20.10.0', compose: '2.0.0' })).not.toThrow()
    expect(() => checkVersions({ engine: '28.2.2', compose: '2.26.1-4' })).not.toThrow()
  })

  it('[LC-6] refuses an older Engine or Compose with a message naming both versions', () => {
    expect(() => checkVersions({ engine: '19.03.15', compose: '2.26.1' })).toThrow(
      new PreflightError('Docker Engine 19.03.15 is older than the 20.10 the deployment guide requires', 3),
    )
    expect(() => checkVersions({ engine: '20.10.24', compose: '1.29.2' })).toThrow(
      /Compose 1\.29\.2 is older than the 2\.0/,
    )
  })
})
