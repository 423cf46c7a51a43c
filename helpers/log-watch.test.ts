import { describe, expect, it } from 'vitest'
import { scanGaps, secretSearch } from './log-watch.ts'

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

  it('counts a log it could not read, and a stream that went blind, as gaps: silence there is not "no leak"', () => {
    expect(
      scanGaps([
        { event: 'followed', container: 'a', service: 'redis' },
        { event: 'unread', container: 'a', service: 'redis', error: 'docker logs exited 1' },
        { event: 'blind', container: '', service: '', error: 'docker events ended early (exit 1)' },
      ]),
    ).toEqual([
      "redis's log could not be read: docker logs exited 1",
      'the log scan went blind: docker events ended early (exit 1)',
    ])
  })
})
