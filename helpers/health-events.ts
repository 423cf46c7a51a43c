// How long each container took from start to healthy, from Docker's own event stream: the first
// `start` and the first `health_status: healthy` of each container, to the nanosecond. Polling
// inspect would miss it (its health log keeps five probes), and the events buffer of the engine
// only reaches back a few hundred events; the stream, opened before the stack starts, sees all.
import { setTimeout as delay } from 'node:timers/promises'
import { projectEvents, type DockerEvent } from './project-events.ts'

/** Milliseconds from start to healthy, by service (one per container, in the order they turned healthy). */
export type HealthyTimes = Record<string, number[]>

export function healthyTimes(events: readonly DockerEvent[]): HealthyTimes {
  const started = new Map<string, number>()
  const healthy = new Set<string>()
  const times: HealthyTimes = {}
  for (const event of events) {
    if (event.Action === 'start' && !started.has(event.id)) started.set(event.id, event.timeNano)
    if (event.Action === 'health_status: healthy' && !healthy.has(event.id)) {
      const start = started.get(event.id)
      if (start === undefined) continue
      healthy.add(event.id)
      const service = event.Actor.Attributes['com.docker.compose.service'] ?? event.id.slice(0, 12)
      ;(times[service] ??= []).push(Math.round((event.timeNano - start) / 1e6))
    }
  }
  return times
}

/** How long stop() waits for the healthy events of containers Docker already calls healthy. */
const CATCH_UP_MS = 15_000

/**
 * Watches a Compose project's containers start and turn healthy, until stop(); stop() rejects when
 * the stream ended early. The stream runs behind the engine: the stack's start can see a container
 * healthy (inspect) before its event has come through here, so stop() first waits, polling, for
 * the event of each container in `healthy` (the last to turn healthy, nginx, was once cut off).
 */
export function watchHealth(project: string): { stop: (healthy?: readonly string[]) => Promise<HealthyTimes> } {
  const events: DockerEvent[] = []
  const stream = projectEvents(project, ['start', 'health_status'], (event) => events.push(event))
  const seen = (id: string): boolean =>
    events.some((event) => event.id === id && event.Action === 'health_status: healthy')
  return {
    stop: async (healthy = []) => {
      const deadline = performance.now() + CATCH_UP_MS
      // Past the deadline, HC-1 says which container had no healthy event.
      while (healthy.some((id) => !seen(id)) && performance.now() < deadline) await delay(50)
      await stream.stop()
      return healthyTimes(events)
    },
  }
}
