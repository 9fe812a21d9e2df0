/**
 * The answers the server gives before (or instead of) a route, added to every operation of the
 * OpenAPI document they apply to, so a client generated from it knows them: 405 (another method
 * on the path), 408 (a client too slow to send its request), 413 and 415 (the body guards, on every
 * method that may carry a body) and 431 (headers too large). Each is the usual error envelope.
 */
const ERROR_CONTENT = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

const EVERY_OPERATION: Record<string, object> = {
  405: {
    description: "This path does not take the request's method; the `Allow` header lists the methods it does",
    headers: { Allow: { description: 'The methods this path takes, e.g. `GET, HEAD`', schema: { type: 'string' } } },
    content: ERROR_CONTENT,
  },
  408: {
    description: 'The client sent its headers or its request too slowly (FLEET_HTTP_HEADERS_TIMEOUT_MS, FLEET_HTTP_REQUEST_TIMEOUT_MS)',
    content: ERROR_CONTENT,
  },
  431: { description: 'The request headers are too large', content: ERROR_CONTENT },
};

const WITH_A_BODY: Record<string, object> = {
  413: {
    description:
      "Too large: a body over the server's limit (FLEET_MAX_BODY_BYTES), or, when provisioning, more than the plan allows; the message says which",
    content: ERROR_CONTENT,
  },
  415: { description: 'The body is not JSON: send it with `Content-Type: application/json`', content: ERROR_CONTENT },
};

const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

type Operation = { responses?: Record<string, unknown> };

/** `doc` with those responses added where an operation does not describe them itself. */
export function withProtocolResponses<T extends object>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, unknown> | undefined> }).paths ?? {};
  for (const pathItem of Object.values(paths)) {
    for (const [method, operation] of Object.entries(pathItem ?? {})) {
      const op = operation as Operation;
      if (typeof op !== 'object' || op === null || !op.responses) continue;
      const add = { ...EVERY_OPERATION, ...(BODY_METHODS.has(method) ? WITH_A_BODY : {}) };
      for (const [status, response] of Object.entries(add)) op.responses[status] ??= response;
    }
  }
  return doc;
}
