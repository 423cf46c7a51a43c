import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/docker.ts'

const mirror = (etc: string) =>
  run(join(import.meta.dirname, 'debian-mirror'), [join(import.meta.dirname, 'fixtures', etc)], {
    env: { ...process.env, BANYAN_DEBIAN_CODENAME: 'bookworm' },
  })

describe('reading the Debian mirror from the apt configuration', () => {
  it('takes the release stanza of a deb822 source, not the security one', async () => {
    expect(await mirror('apt-deb822')).toMatchObject({ exitCode: 0, stdout: 'http://mirror.example.test/debian\n' })
  })

  it('reads the one-line format, options and comments included', async () => {
    expect(await mirror('apt-oneline')).toMatchObject({ exitCode: 0, stdout: 'http://mirror.example.test/debian\n' })
  })

  it('says so, and fails, when no source names the release', async () => {
    expect(await mirror('apt-none')).toMatchObject({
      exitCode: 1,
      stderr: expect.stringMatching(/no apt source for 'bookworm'/),
    })
  })
})
