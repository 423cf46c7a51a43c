// Requests to the stack's API through nginx, on the routes the stack's offers.json describes
// (helpers/offers.ts). Only where a stack offers more than the guide promises.
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { at, type Offers, type Route } from './offers.ts'

export interface Answer {
  status: number
  body: unknown
}

/** The body with every `{unique}` in its text made new for this request, so no two requests name the same thing. */
function unique(body: unknown): unknown {
  const value = randomBytes(6).toString('hex')
  return JSON.parse(JSON.stringify(body).replaceAll('{unique}', value)) as unknown
}

/** One route of the API at `base` (nginx), `{id}` in its path filled in; `authorization` is sent as it is, when given. */
export async function call(
  base: string,
  route: Route,
  { authorization, id = '' }: { authorization?: string; id?: string } = {},
): Promise<Answer> {
  const { statusCode, body } = await request(`${base}${route.path.replace('{id}', encodeURIComponent(id))}`, {
    method: route.method as 'GET',
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      ...(route.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(route.body === undefined ? {} : { body: JSON.stringify(unique(route.body)) }),
    headersTimeout: 10_000,
  })
  const text = await body.text()
  try {
    return { status: statusCode, body: JSON.parse(text) as unknown }
  } catch {
    return { status: statusCode, body: text }
  }
}

/** What `create` made, named as its answer names it; throws with the answer when it made nothing. */
export async function create(
  base: string,
  offered: NonNullable<NonNullable<Offers['api']>['create']>,
  authorization?: string,
): Promise<{ id: string; answer: Answer }> {
  const answer = await call(base, offered, authorization === undefined ? {} : { authorization })
  const id = at(answer.body, offered.id)
  if (answer.status !== offered.status || (typeof id !== 'string' && typeof id !== 'number'))
    throw new Error(
      `${offered.method} ${offered.path} answered ${answer.status} with no ${offered.id}: ${JSON.stringify(answer.body).slice(0, 200)}`,
    )
  return { id: String(id), answer }
}
