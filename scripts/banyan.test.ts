// Bad input stops the main job before anything starts: one line naming the cause, and an exit
// code (2 for input, 3 for the machine). These run the real CLI, as a user would.
import { createServer, type AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REFERENCE_STACK, ROOT } from '../helpers/config.ts'
import { run } from '../helpers/docker.ts'
import { scratchDir } from '../helpers/scratch.ts'

/** Runs the main job; nothing on stdout means vitest never started, so no container could have. */
async function verify(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ exitCode: number; lines: string[] }> {
  const { exitCode, stdout, stderr } = await run(
    process.execPath,
    [join(ROOT, 'scripts/banyan.ts'), 'verify', ...args],
    {
      env: { ...process.env, ...env },
      timeoutMs: 60_000,
    },
  )
  expect(stdout, 'the tests started').toBe('')
  return { exitCode, lines: stderr.trim().split('\n') }
}

const broken = (file: string): string => join(ROOT, 'fixtures/broken', file)

describe('the main job refuses bad input before anything starts', () => {
  it('[LC-5] a compose file that does not parse: exit 2, one line naming the file', async () => {
    const { exitCode, lines } = await verify({ COMPOSE_FILE: broken('unparseable.yaml') })
    expect({ exitCode, lines }).toEqual({
      exitCode: 2,
      lines: [expect.stringMatching(/^banyan-verify: the compose file does not parse \(.*unparseable\.yaml\): .+/)],
    })
  })

  it('a variable the compose file needs and nobody set: exit 2, one line naming it', async () => {
    const { exitCode, lines } = await verify({ COMPOSE_FILE: `${REFERENCE_STACK}:${broken('missing-variable.yaml')}` })
    expect({ exitCode, lines }).toEqual({
      exitCode: 2,
      lines: [expect.stringMatching(/variable.*BANYAN_NEVER_SET_TOKEN/)],
    })
  })

  it('no Docker daemon: exit 3, one line saying where none answered', async () => {
    const { exitCode, lines } = await verify({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' })
    expect({ exitCode, lines }).toEqual({
      exitCode: 3,
      lines: [
        expect.stringMatching(/^banyan-verify: no Docker daemon answers at unix:\/\/\/nonexistent\/docker\.sock: /),
      ],
    })
  })

  it('an image that is not on the machine: exit 3, one line naming image and service', async () => {
    const { exitCode, lines } = await verify({ POSTGRES_IMAGE: 'banyan-offline/postgres:does-not-exist' })
    expect({ exitCode, lines }).toEqual({
      exitCode: 3,
      lines: [
        expect.stringMatching(
          /image banyan-offline\/postgres:does-not-exist of service postgres is not on this machine/,
        ),
      ],
    })
  })

  it('the suite’s own tools image missing: exit 3, one line naming it, never a pull', async () => {
    const { exitCode, lines } = await verify({ TOOLS_IMAGE: 'banyan-offline/tools:does-not-exist' })
    expect({ exitCode, lines }).toEqual({
      exitCode: 3,
      lines: [
        expect.stringMatching(/image banyan-offline\/tools:does-not-exist, the suite's own tools \(TOOLS_IMAGE\)/),
      ],
    })
  })

  it('a published port already in use: exit 3, one line naming port and service', async () => {
    await using holder = await new Promise<AsyncDisposable & { port: number }>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        resolve({
          port: (server.address() as AddressInfo).port,
          [Symbol.asyncDispose]: () => new Promise<void>((done) => server.close(() => done())),
        })
      })
    })
    const { exitCode, lines } = await verify({
      COMPOSE_FILE: `${REFERENCE_STACK}:${broken('published-port.yaml')}`,
      BANYAN_TEST_PORT: String(holder.port),
    })
    expect({ exitCode, lines }).toEqual({
      exitCode: 3,
      lines: [expect.stringMatching(new RegExp(`port ${holder.port} that service redis publishes is already in use`))],
    })
  })

  it('a setting with a wrong value: exit 2, one line naming the variable', async () => {
    const { exitCode, lines } = await verify({ BANYAN_KEEP: 'maybe' })
    expect({ exitCode, lines }).toEqual({
      exitCode: 2,
      lines: ["banyan-verify: BANYAN_KEEP must be 1 or 0, not 'maybe'"],
    })
  })

  it.for([['--bail=1'], ['--shard', '1/2'], ['--retry=2']])(
    'a vitest option that ends a run early or retries (%s): exit 2, one line naming it',
    async (args) => {
      const { exitCode, lines } = await verify({}, args)
      expect({ exitCode, lines }).toEqual({
        exitCode: 2,
        lines: [
          `banyan-verify: ${args[0] ?? ''} is refused: a run that stops early or retries cannot answer every claim`,
        ],
      })
    },
  )
})

/** Runs one of the CLI's commands as a user would. */
async function cli(args: readonly string[]): Promise<{ exitCode: number; stdout: string; lines: string[] }> {
  const { exitCode, stdout, stderr } = await run(process.execPath, [join(ROOT, 'scripts/banyan.ts'), ...args], {
    timeoutMs: 60_000,
  })
  return { exitCode, stdout, lines: stderr.trim().split('\n') }
}

describe('a sharded run', () => {
  it.for(['0/2', '3/2', 'half'])(
    'test --shard=%s: exit 2, one line saying what a shard is, before anything starts',
    async (given) => {
      const { exitCode, stdout, lines } = await cli(['test', `--shard=${given}`])
      expect({ exitCode, stdout, lines }).toEqual({
        exitCode: 2,
        stdout: '',
        lines: [`banyan-verify: --shard ${given}: give <index>/<count>, 1 <= index <= count (--shard=2/3)`],
      })
    },
  )

  /** A folder holding what `test --shard=index/count` leaves. */
  function shardFolder(index: number, count: number, result: Record<string, unknown> = {}): string {
    const folder = scratchDir(`shard-${index}`)
    const outcome = { name: `[LC-1] a check of shard ${index}`, status: 'passed' }
    // Each shard ran one file of `count`, as the sequencer's plan says.
    const of = Array.from({ length: count }, (_, at) => `controls:fixtures/mutants/${at + 1}.test.ts`)
    const files = [of[index - 1]]
    const shard = {
      index,
      count,
      commit: 'c0ffee',
      args: [],
      files,
      of,
      code: 0,
      outcomes: [outcome],
      waived: 0,
      ...result,
    }
    writeFileSync(join(folder, `shard-${index}-of-${count}.json`), JSON.stringify(shard))
    return folder
  }

  it('merge joins every shard into one closing line, failing if any shard failed', async () => {
    const failed = { code: 1, outcomes: [{ name: '[LB-5] a check of shard 2', status: 'failed' }] }
    const { exitCode, stdout } = await cli(['merge', shardFolder(1, 3), shardFolder(2, 3, failed), shardFolder(3, 3)])
    expect({ exitCode, stdout }).toEqual({ exitCode: 1, stdout: 'banyan-verify: 2 passed, 1 failed, 0 skipped\n' })
  })

  it('merge with a shard missing: exit 2, one line naming it, no verdict', async () => {
    const { exitCode, stdout, lines } = await cli(['merge', shardFolder(1, 3), shardFolder(3, 3)])
    expect({ exitCode, stdout, lines }).toEqual({
      exitCode: 2,
      stdout: '',
      lines: [
        'banyan-verify: merge: of 3 shards, 2 missing: a verdict without them would leave their files unanswered',
      ],
    })
  })

  it('merge of shards from different commits: exit 2, one line naming the odd one', async () => {
    const first = shardFolder(1, 2)
    const odd = shardFolder(2, 2, { commit: 'decade' })
    const { exitCode, lines } = await cli(['merge', first, odd])
    expect({ exitCode, lines }).toEqual({
      exitCode: 2,
      lines: [
        `banyan-verify: merge: ${join(odd, 'shard-2-of-2.json')} is of another run than ${join(first, 'shard-1-of-2.json')} (its shard count, checkout, BANYAN_SHARD_RUN or options differ)`,
      ],
    })
  })

  it('merge of shards whose files leave one unrun: exit 2, one line naming the file', async () => {
    const second = shardFolder(2, 2, { files: ['controls:fixtures/mutants/1.test.ts'] })
    const { exitCode, lines } = await cli(['merge', shardFolder(1, 2), second])
    expect({ exitCode, lines }).toEqual({
      exitCode: 2,
      lines: [
        'banyan-verify: merge: the shards ran none of controls:fixtures/mutants/2.test.ts and controls:fixtures/mutants/1.test.ts twice',
      ],
    })
  })

  it('merge of a shard that could not say its commit: exit 2, one line naming it', async () => {
    const unknown = shardFolder(2, 2, { commit: null })
    const { exitCode, lines } = await cli(['merge', shardFolder(1, 2), unknown])
    expect({ exitCode, lines }).toEqual({
      exitCode: 2,
      lines: [
        `banyan-verify: merge: ${join(unknown, 'shard-2-of-2.json')} says no commit (git could not tell its checkout)`,
      ],
    })
  })
})
