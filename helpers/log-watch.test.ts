import { describe, expect, it } from 'vitest'
import { secretSearch } from './log-watch.ts'

describe('the log scan', () => {
  it('finds a secret once, even split across two chunks, and names it, never its value', () => {
    const search = secretSearch([
      ['DATABASE_PASSWORD', 'abcdef0123456789'],
      ['JWT_SECRET', 'fedcba9876543210'],
    ])
    expect(search('connecting with abcdef01')).toEqual([])
    expect(search('23456789 failed')).toEqual(['DATABASE_PASSWORD'])
    expect(search('again abcdef0123456789')).toEqual([])
    expect(search('token fedcba9876543210')).toEqual(['JWT_SECRET'])
  })
})
