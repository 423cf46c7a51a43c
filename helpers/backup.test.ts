import { describe, expect, it } from 'vitest'
import { differences, type Fingerprint } from './backup.ts'

const source: Fingerprint = {
  tables: { events: { rows: 3002, checksum: 'a1' }, streams: { rows: 3000, checksum: 'b2' } },
  sequences: { events_position_seq: 3003 },
}

describe('the backup comparison', () => {
  it('finds nothing between a database and an intact copy', () => {
    expect(differences(source, structuredClone(source))).toEqual([])
  })

  it('names a missing table, lost rows, changed contents, an extra table and a sequence set back', () => {
    expect(
      differences(source, {
        tables: { streams: { rows: 2990, checksum: 'b2' }, scratch: { rows: 1, checksum: 'c3' } },
        sequences: { events_position_seq: 12 },
      }),
    ).toEqual([
      'table events: missing (3002 rows in the source)',
      'table streams: 2990 rows, the source has 3000',
      'table scratch: not in the source',
      'sequence events_position_seq: would hand out 12, the source is at 3003',
    ])
    expect(
      differences(source, { ...source, tables: { ...source.tables, events: { rows: 3002, checksum: 'zz' } } }),
    ).toEqual(['table events: same 3002 rows, different contents'])
  })
})
