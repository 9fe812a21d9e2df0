/** The requests of `npm run soak` that are wrong on purpose, each with the status it must get. */
export interface SoakRequest {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** The statuses that are right for it; anything else counts as an error. */
  expect: number[];
  /**
   * The server may close the connection before the client has sent it all: a too-large body is
   * refused before it is read, and Node has no lingering close, so the client can see a reset
   * (EPIPE) instead of the 413. Counted apart, not as an error.
   */
  mayReset?: boolean;
}

interface Credentials {
  readerToken: string;
  otherKeyToken: string;
  platformToken: string;
}

const jsonType = { 'content-type': 'application/json' };
const as = (token: string) => ({ authorization: `Bearer ${token}`, ...jsonType });
const provision = (
  c: Credentials,
  name: string,
  body: string,
  expect: number[],
  headers: Record<string, string> = as(c.readerToken),
): SoakRequest => ({
  name,
  method: 'POST',
  path: '/api/fleet/provision',
  headers,
  body,
  expect,
});

// A body just over the 1 MiB default limit, made once; about one request in a hundred is this one.
const OVERSIZED = JSON.stringify({ repos: ['a'.repeat(1_100_000)] });
const DEEP = `{"repos":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;

export const BAD_REQUESTS: ReadonlyArray<(c: Credentials) => SoakRequest> = [
  (c) => provision(c, 'bad: not JSON', '{"templateId":', [400]),
  (c) => provision(c, 'bad: text/plain', '{}', [415], { authorization: `Bearer ${c.readerToken}`, 'content-type': 'text/plain' }),
  (c) => provision(c, 'bad: unknown field', '{"tenantId":"someone_else"}', [400]),
  (c) => provision(c, 'bad: NUL in a repo', JSON.stringify({ repos: ['a/\u0000'] }), [400]),
  (c) => provision(c, 'bad: wrong types', JSON.stringify({ repos: 'acme/api', templateId: 7 }), [400]),
  (c) =>
    provision(c, 'bad: private Mission Control', JSON.stringify({ missionControl: { url: 'http://169.254.169.254/', token: 'x' } }), [400]),
  (c) => provision(c, 'bad: deep nesting', DEEP, [400]),
  (c) => ({ ...provision(c, 'bad: too large', OVERSIZED, [413]), mayReset: true }),
  (c) => provision(c, 'bad: foreign key', '{}', [401], as(c.otherKeyToken)),
  (c) => provision(c, 'bad: garbage token', '{}', [401], as('not.a.jwt')),
  () => ({ name: 'bad: no credentials', method: 'GET', path: '/api/fleet', expect: [401] }),
  (c) => ({
    name: 'bad: NUL in query',
    method: 'GET',
    path: '/api/tenants?plan=free%00',
    headers: { 'x-platform-token': c.platformToken },
    expect: [400],
  }),
  (c) => ({
    name: 'bad: limit 0',
    method: 'GET',
    path: '/api/tenants?limit=0',
    headers: { 'x-platform-token': c.platformToken },
    expect: [400],
  }),
  (c) => ({
    name: 'bad: cursor',
    method: 'GET',
    path: '/api/tenants?cursor=nope',
    headers: { 'x-platform-token': c.platformToken },
    expect: [400],
  }),
  (c) => ({
    name: 'bad: unknown tenant',
    method: 'GET',
    path: '/api/tenants/nobody_here',
    headers: { 'x-platform-token': c.platformToken },
    expect: [404],
  }),
  (c) => ({
    name: 'bad: platform token wrong',
    method: 'GET',
    path: '/api/tenants',
    headers: { 'x-platform-token': `${c.platformToken}x` },
    expect: [401],
  }),
  (c) => ({ name: 'bad: session on a platform route', method: 'GET', path: '/api/tenants', headers: as(c.readerToken), expect: [401] }),
  // Without credentials a tenant path answers 401 before it looks at the method.
  () => ({ name: 'bad: wrong method', method: 'PUT', path: '/api/fleet', expect: [401, 405] }),
  (c) => ({ name: 'bad: wrong method', method: 'DELETE', path: '/api/templates', headers: as(c.readerToken), expect: [405] }),
  () => ({ name: 'bad: unknown path', method: 'GET', path: '/api/nothing/here', expect: [404] }),
  (c) => ({
    name: 'bad: Last-Event-ID',
    method: 'GET',
    path: '/api/fleet/events',
    headers: { ...as(c.readerToken), 'last-event-id': 'x' },
    expect: [400],
  }),
];
