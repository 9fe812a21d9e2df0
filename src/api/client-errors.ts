import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { ApiError, type ErrorCode, errorBody } from './errors.ts';

/**
 * Requests Node's HTTP parser refuses before the app sees them (a raw byte above 0x7f in the
 * target, a NUL in a header, headers past 16 KB, a body framed two ways, a client too slow to
 * finish) are answered here, in the same error envelope as everything else: Node's own answer is
 * a bare status line with no body. The parser's error code is given as the reason; it names the
 * rule broken, nothing of the machine.
 */
const BY_PARSER_CODE: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'The request headers are larger than this server accepts (16 KB). Send smaller headers.'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'The request took too long to arrive and was cut off. Send it again, faster.'],
};
const MALFORMED: [ErrorCode, string] = [
  'invalid_input',
  'The request is not valid HTTP/1.1 and could not be read. Check its request line, headers and framing.',
];

/** A `clientError` listener for the HTTP server: answers in the envelope when it still can, then closes. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset or an answer already under way: nothing sensible can be written any more.
  const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || started) {
    socket.destroy();
    return;
  }
  const [code, message] = BY_PARSER_CODE[err.code ?? ''] ?? MALFORMED;
  endWithError(socket, new ApiError(code, message, { reason: err.code ?? 'malformed' }));
}

/**
 * A `connect` listener: CONNECT asks for a proxy tunnel, which this server never is. Without a
 * listener Node closes the connection without a word.
 */
export function refuseConnect(_req: unknown, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  endWithError(
    socket,
    new ApiError('method_not_allowed', 'CONNECT is not served here: this is an API, not a proxy.'),
    'Allow: GET, HEAD, POST\r\n',
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

function endWithError(socket: Duplex, apiError: ApiError, extraHeaders = ''): void {
  const requestId = `req_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const body = JSON.stringify(errorBody(apiError, requestId));
  socket.end(
    `HTTP/1.1 ${apiError.status} ${STATUS_TEXT[apiError.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      'X-Content-Type-Options: nosniff\r\n' +
      extraHeaders +
      'Connection: close\r\n\r\n' +
      body,
  );
}
