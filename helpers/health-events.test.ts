import { describe, expect, it } from 'vitest'
import { healthyTimes } from './health-events.ts'

const event = (id: string, Action: string, ms: number, service = 'redis') => ({
  id,
  Action,
  timeNano: ms * 1e6,
  Actor: { Attributes: { 'com.docker.compose.service': service } },
})

describe('healthyTimes', () => {
  it("takes each container's first start and first healthy, by service", () => {
    expect(
      healthyTimes([
        event('a', 'start', 1000),
        event('b', 'start', 1100, 'api-gateway'),
        event('a', 'health_status: starting', 1500),
        event('a', 'health_status: healthy', 3500),
        event('b', 'health_status: healthy', 2100, 'api-gateway'),
        // A later restart and recovery does not move the first figure.
        event('a', 'start', 9000),
        event('a', 'health_status: healthy', 9500),
      ]),
    ).toEqual({ redis: [2500], 'api-gateway': [1000] })
  })
})
