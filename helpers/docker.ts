import { execFile } from 'node:child_process'
import { labelArgs } from './labels.ts'

export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  timeoutMs?: number
  input?: string
}

/** Runs a command to completion and reports its exit code; never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 127
        // A command killed by the timeout has no exit code of its own; say so rather than 0.
        const timedOut = error?.killed === true
        resolve({
          exitCode: timedOut ? 124 : code,
          stdout,
          stderr: timedOut ? `${stderr}\ntimed out after ${options.timeoutMs ?? 120_000} ms` : stderr,
        })
      },
    )
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}

export const docker = (args: readonly string[], options?: RunOptions): Promise<CommandResult> =>
  run('docker', args, options)

/** The first line of a command's error output that says something, for one-line messages. */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line.length > 0) ?? '(no output)'
  )
}

/**
 * Runs one of the suite's own helper containers to its end: labelled as the run's (the sweep
 * finds it if the run dies), removed when it exits, and on no network unless it names one, so a
 * helper reaches nothing it was not meant to.
 */
export function runHelper(
  image: string,
  command: readonly string[],
  { network = 'none', flags = [], timeoutMs }: { network?: string; flags?: readonly string[]; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return docker(
    ['run', '--rm', '--network', network, ...labelArgs(), ...flags, image, ...command],
    timeoutMs === undefined ? {} : { timeoutMs },
  )
}

/**
 * Starts one of the suite's helper containers in the background (labelled as runHelper's are),
 * and removes it, whatever it is doing, at the end of its `await using` block.
 */
export async function startHelper(
  image: string,
  command: readonly string[],
  { network = 'none', flags = [] }: { network?: string; flags?: readonly string[] } = {},
): Promise<{ id: string } & AsyncDisposable> {
  const { exitCode, stdout, stderr } = await docker([
    'run',
    '-d',
    '--rm',
    '--network',
    network,
    ...labelArgs(),
    ...flags,
    image,
    ...command,
  ])
  if (exitCode !== 0) throw new Error(`the helper ${command[0] ?? image} did not start: ${firstLine(stderr)}`)
  const id = stdout.trim()
  return {
    id,
    [Symbol.asyncDispose]: async () => {
      await docker(['rm', '-f', id])
    },
  }
}
