// Docker's event stream for one Compose project's containers, opened before anything starts. The
// start-to-healthy times (HC-1) and the log scan (CF-1) both rest on it; a stream that ended early
// saw nothing after that, and its silence must not read as "nothing happened".
import { spawn } from 'node:child_process'

export interface DockerEvent {
  id: string
  Action: string
  timeNano: number
  Actor: { Attributes: Record<string, string> }
}

export interface ProjectEvents {
  /** Ends the stream. Rejects when it had ended on its own before: what it saw is not the whole run. */
  stop: () => Promise<void>
}

/** Calls `onEvent` for each of `actions` (start, health_status, ...) on a container of `project`, as it happens. */
export function projectEvents(
  project: string,
  actions: readonly string[],
  onEvent: (event: DockerEvent) => void,
): ProjectEvents {
  const child = spawn(
    'docker',
    [
      'events',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      ...actions.flatMap((action) => ['--filter', `event=${action}`]),
      '--format',
      '{{json .}}',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let pending = ''
  let stderr = ''
  let stopping = false
  let early: string | null = null
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines.filter(Boolean)) onEvent(JSON.parse(line) as DockerEvent)
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const ended = new Promise<void>((resolve) => {
    const end = (how: string): void => {
      if (!stopping) early ??= how
      resolve()
    }
    child.on('error', (error) => end(error.message))
    child.on('close', (code, signal) => end(`exit ${code ?? signal ?? '?'}`))
  })
  return {
    stop: async () => {
      if (early === null) {
        stopping = true
        child.kill()
      }
      await ended
      if (early !== null)
        throw new Error(`docker events for ${project} ended early (${early}): ${stderr.trim() || 'no message'}`)
    },
  }
}
