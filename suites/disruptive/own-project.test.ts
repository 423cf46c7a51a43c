// The guide's lifecycle commands that would take the shared stack away (LC-2, LC-4), on a second
// project of the run's own: the same compose files, override and credentials under another
// project name, so its containers, network and volumes carry the run's labels and go with the
// run however it ends. Only the infrastructure is started, which is LC-2's own promise.
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { policy } from '../../fixtures/policy.ts'
import { projectResources } from '../../helpers/compose.ts'
import { recordFigures } from '../../helpers/figures.ts'
import { pgClient } from '../../helpers/probes.ts'
import { it } from '../../helpers/stack-test.ts'
import { elapsedMs } from '../../helpers/units.ts'
import { addressOf, compose, databaseLogin, failIfDown, stack, stateOf } from '../../helpers/stack.ts'

/** The infrastructure the guide starts alone, as far as this run has it. */
const infrastructure = stack().services.filter((service) => policy.infrastructure.includes(service))

describe('lifecycle on a project of its own', { timeout: 240_000 }, () => {
  const project = `${stack().project}-own`
  const own = (args: readonly string[]) => compose(args, 180_000, project)
  const containers = async (): Promise<Record<string, string[]>> => {
    const states: Record<string, string[]> = {}
    for (const [id, service] of await projectResources(project, 'containers'))
      (states[service] ??= []).push(await stateOf(id))
    return states
  }
  const volumes = async (): Promise<string[]> => (await projectResources(project, 'volumes')).map(([, name]) => name)
  const database = async () => {
    const postgres = (await projectResources(project, 'containers')).find(([, service]) => service === 'postgres')
    if (postgres === undefined) throw new Error(`project ${project} runs no postgres`)
    return pgClient({ host: await addressOf(postgres[0], 'backend', project), port: 5432, ...databaseLogin() })
  }
  let upMs = 0

  beforeAll(async () => {
    if (stack().failure !== null) return
    const started = performance.now()
    // The guide's command, with --wait for its `docker compose ps` to show them healthy.
    await own(['up', '-d', '--wait', ...infrastructure])
    upMs = elapsedMs(started)
  }, 200_000)
  afterAll(async () => {
    // Whatever a test left of it; the run's sweep removes what this cannot.
    await own(['down', '-v', '--timeout', '5']).catch(() => '')
  })

  it('[LC-2] the infrastructure alone starts and turns healthy, with no application service', async () => {
    failIfDown()
    recordFigures('LC-2', { infrastructureHealthyMs: upMs })
    expect(await containers()).toEqual(Object.fromEntries(infrastructure.map((service) => [service, ['healthy']])))
  })

  it('[LC-4] docker compose down keeps the named volumes, and the data in them comes back with the next up', async () => {
    failIfDown()
    {
      await using client = await database()
      await client.query('CREATE TABLE lifecycle_kept (written text)')
      await client.query("INSERT INTO lifecycle_kept VALUES ('before down')")
    }
    const before = await volumes()
    await own(['down'])
    expect({ containers: await containers(), volumes: await volumes() }).toEqual({ containers: {}, volumes: before })
    await own(['up', '-d', '--wait', 'postgres'])
    await using client = await database()
    expect((await client.query('SELECT written FROM lifecycle_kept')).rows).toEqual([{ written: 'before down' }])
  })

  it('[LC-4] docker compose down -v removes the named volumes: the next up starts empty', async () => {
    failIfDown()
    expect(await volumes(), 'the project has no volume to remove').not.toEqual([])
    await own(['down', '-v'])
    expect({ containers: await containers(), volumes: await volumes() }).toEqual({ containers: {}, volumes: [] })
    await own(['up', '-d', '--wait', 'postgres'])
    await using client = await database()
    const { rows } = await client.query<{ present: boolean }>(
      "SELECT to_regclass('lifecycle_kept') IS NOT NULL AS present",
    )
    expect(rows, 'the table written before down -v is still there').toEqual([{ present: false }])
  })
})
