import { describe, expect, it } from 'vitest'
import { durationMs, memoryBytes } from './units.ts'

describe('compose durations', () => {
  it('reads the forms Compose writes', () => {
    expect([durationMs('30s'), durationMs('1m30s'), durationMs('500ms'), durationMs('1h')]).toEqual([
      30_000, 90_000, 500, 3_600_000,
    ])
  })

  it('rejects what is not a duration', () => {
    expect(() => durationMs('30')).toThrow(/not a duration/)
    expect(() => durationMs('10s later')).toThrow(/not a duration/)
  })
})

describe('memory notation', () => {
  it('reads what Compose writes and what it resolves to', () => {
    expect([memoryBytes('2G'), memoryBytes('512M'), memoryBytes('2147483648')]).toEqual([
      2 * 1024 ** 3,
      512 * 1024 ** 2,
      2147483648,
    ])
    expect(memoryBytes('lots')).toBeNaN()
  })
})
