import fc from 'fast-check';
import { deeplyNested, hostileString } from './hostile-values.ts';
import { type JsonSchema, mutatedValue, parameterValue, type SchemaContext, validValue } from './schema-arbitraries.ts';

/**
 * Requests for one operation of the OpenAPI document: its path, query, headers and body each
 * valid, broken or hostile, sent with one of the credentials the test offers. Also the
 * operations themselves, read from the document, so a new route is fuzzed without a change here.
 */
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  security?: Array<Record<string, string[]>>;
}

export interface FuzzOperation {
  method: string;
  /** The OpenAPI path, `{name}` placeholders included. */
  path: string;
  op: Operation;
}

export function operationsOf(doc: OpenApiDocument): FuzzOperation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

export function schemaContext(doc: OpenApiDocument, hints: SchemaContext['hints']): SchemaContext {
  return {
    hints,
    resolve: (ref) => {
      const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
      const schema = name ? doc.components?.schemas?.[name] : undefined;
      if (!schema) throw new Error(`unresolvable $ref ${ref}`);
      return schema;
    },
  };
}

export interface FuzzRequest {
  method: string;
  /** Path and query, percent-encoded as a client would send them (or not, when that is the point). */
  url: string;
  credential: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

/** Percent-encodes the UTF-8 of `s` (a lone surrogate becomes U+FFFD, as a browser sends it). */
export function percentEncode(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

// Raw URL text that a careless client sends unencoded or wrongly encoded.
const RAW_SEGMENTS = ['%', '%zz', '%E0%A4%A', '%C0%AF', '%FF%FE', '..', '%2e%2e', '%2F', 'a%2Fb', '%00', '%u0041', '+', ';x=1'];

function pathFor(op: FuzzOperation, ctx: SchemaContext, knownIds: readonly string[]): fc.Arbitrary<string> {
  const params = (op.op.parameters ?? []).filter((p) => p.in === 'path');
  if (params.length === 0) return fc.constant(op.path);
  const values = params.map((p) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...knownIds).map(percentEncode) },
      { weight: 3, arbitrary: parameterValue(p.schema, ctx, `path.${p.name}`).map(percentEncode) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    ),
  );
  return fc.tuple(...values).map((vs) => params.reduce((path, p, i) => path.replace(`{${p.name}}`, vs[i]!), op.path));
}

function queryFor(op: FuzzOperation, ctx: SchemaContext): fc.Arbitrary<string> {
  const params = (op.op.parameters ?? []).filter((p) => p.in === 'query');
  const declared = fc.array(
    params.length > 0
      ? fc
          .constantFrom(...params)
          .chain((p) => parameterValue(p.schema, ctx, `query.${p.name}`).map((v) => `${p.name}=${percentEncode(v)}`))
      : fc.constant(''),
    { maxLength: params.length + 1 },
  );
  const extra = fc.array(
    fc.oneof(
      fc.tuple(hostileString, hostileString).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`),
      fc.constantFrom(...RAW_SEGMENTS, 'limit', 'limit=', 'limit[]=1', 'status[x]=y', '=', '&&', 'cursor=czox', 'cursor=%ZZ'),
    ),
    { maxLength: 2 },
  );
  return fc.tuple(declared, extra).map(([d, e]) => {
    const parts = [...d, ...e].filter(Boolean);
    return parts.length > 0 ? `?${parts.join('&')}` : '';
  });
}

// Header values as the WHATWG Headers class takes them (no CR, LF or NUL; bytes up to 0xFF): the
// wire fuzz sends the rest raw.
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

function headersFor(op: FuzzOperation, ctx: SchemaContext): fc.Arbitrary<Record<string, string>> {
  const declared = (op.op.parameters ?? []).filter((p) => p.in === 'header');
  const model: Record<string, fc.Arbitrary<string>> = {
    'x-request-id': hostileString.map(headerSafe),
    accept: fc.constantFrom('application/json', 'text/event-stream', '*/*', 'text/html', ''),
    origin: fc.constantFrom('https://evil.example', 'null', 'http://localhost:3000', 'not a url'),
    'sec-fetch-site': fc.constantFrom('same-origin', 'cross-site', 'none'),
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', '*;q=0'),
    ...Object.fromEntries(declared.map((p) => [p.name, parameterValue(p.schema, ctx, `header.${p.name}`).map(headerSafe)])),
  };
  return fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<Record<string, string>>;
}

const CONTENT_TYPES = [
  ...Array<string>(12).fill('application/json'),
  'application/json; charset=utf-8',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  '',
];

function rawBody(): fc.Arbitrary<string | Uint8Array<ArrayBuffer>> {
  return fc.oneof(
    fc.constantFrom('', 'null', '[]', '"text"', '1', 'true', '{', '{"a":', 'not json', '\uFEFF{}', '{"a":1,"a":2}'),
    fc.constantFrom(deeplyNested(200_000), `{"x":${deeplyNested(50_000)}}`),
    // Over the default 1 MiB body limit, and well under it but wide.
    fc.constantFrom(JSON.stringify({ repos: ['a'.repeat(1_200_000)] }), JSON.stringify({ x: Array.from({ length: 50_000 }, () => 1) })),
    fc.constantFrom(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), new Uint8Array([0xc0, 0xaf]), new Uint8Array([0])),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
  );
}

function bodyFor(op: FuzzOperation, ctx: SchemaContext): fc.Arbitrary<string | Uint8Array<ArrayBuffer> | undefined> {
  if (op.method === 'GET' || op.method === 'HEAD') return fc.constant(undefined);
  const schema = op.op.requestBody?.content['application/json']?.schema;
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v) ?? 'null');
  if (!schema) return fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: rawBody() });
  return fc.oneof(
    { weight: 4, arbitrary: json(validValue(schema, ctx)) },
    { weight: 6, arbitrary: json(mutatedValue(schema, ctx)) },
    { weight: 2, arbitrary: rawBody() },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

const isPlatform = (op: FuzzOperation) => (op.op.security ?? []).some((s) => 'platformToken' in s);

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** Requests for `op`, with a credential named from `credentials`. */
export function requestsFor(
  op: FuzzOperation,
  ctx: SchemaContext,
  opts: {
    credentials: readonly string[];
    sessionCredentials: readonly string[];
    platformCredentials: readonly string[];
    knownIds: readonly string[];
  },
): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.oneof({ weight: 9, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) }),
      path: pathFor(op, ctx, opts.knownIds),
      query: queryFor(op, ctx),
      // Mostly a credential the route takes, so the fuzz gets past authentication to the route itself.
      credential: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...(isPlatform(op) ? opts.platformCredentials : opts.sessionCredentials)) },
        { weight: 2, arbitrary: fc.constantFrom(...opts.credentials) },
      ),
      headers: headersFor(op, ctx),
      contentType: fc.constantFrom(...CONTENT_TYPES),
      body: bodyFor(op, ctx),
    })
    .map(({ method, path, query, credential, headers, contentType, body }) => {
      const withBody = method !== 'GET' && method !== 'HEAD' && body !== undefined;
      const h = { ...headers };
      if (withBody && contentType) h['content-type'] = contentType;
      const req: FuzzRequest = { method, url: `${path}${query}`, credential, headers: h, body: withBody ? body : undefined };
      // A counterexample of a few megabytes helps nobody: fast-check prints this instead.
      Object.defineProperty(req, fc.toStringMethod, { value: () => describeRequest(req), enumerable: false });
      return req;
    });
}

/** A request in a line or two, long values cut: for failure messages. */
export function describeRequest(req: FuzzRequest): string {
  const cut = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…(${s.length} chars)` : s);
  const body =
    req.body === undefined ? '' : typeof req.body === 'string' ? cut(req.body) : `bytes ${Buffer.from(req.body).toString('hex')}`;
  const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${cut(v)}`);
  return `${req.method} ${cut(req.url)} as ${req.credential} [${headers.join(' | ')}] ${body}`;
}
