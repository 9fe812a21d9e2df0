import { ERROR_STATUS } from '../../src/api/errors.ts';
import { ErrorSchema } from '../../src/api/schemas.ts';

/**
 * What every answer of the API must be, whatever was sent: never a 5xx, never a trace of the
 * machine (a stack frame, a source file, a server path, a raw PostgreSQL or JavaScript error), and
 * every 4xx in the one error envelope with the status its code maps to. Shared by the fuzz tests
 * and the soak (which counts instead of failing).
 */

// Text the server may only say if the caller said it first (an id or a name echoed back).
const LEAK_PATTERNS: ReadonlyArray<[string, RegExp]> = [
  // Up to its last letter, digit or slash: the full stop that ends a sentence is not part of it.
  ['server path', /(?<![\w.-])\/(?:work|tmp|root|home|usr|opt|var|proc|srv|etc)\/(?:[^\s"']*[\w/-])?/g],
  ['node_modules', /node_modules/g],
  ['source location', /[\w.-]+\.(?:ts|js|mjs|cjs):\d+/g],
  ['stack frame', /(?:^|\n|\\n)\s*at (?:async )?\S+(?: \(|:\d)/g],
  ['JavaScript error', /\b(?:TypeError|RangeError|ReferenceError|SyntaxError|URIError|AggregateError)\b/g],
  [
    'database error',
    /invalid byte sequence|violates (?:unique|foreign key|not-null|check) constraint|syntax error at or near|relation "[^"]*"|column "[^"]*"|\bSQLSTATE\b/g,
  ],
];

export interface Answer {
  status: number;
  headers: Headers;
  /** The body as text (empty for HEAD and for the part of an event stream not read). */
  text: string;
}

/** The problems with `answer` (empty when it is fine); `sent` is everything the caller sent, as text. */
export function answerProblems(answer: Answer, sent: string, opts: { head?: boolean } = {}): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`status ${answer.status}`);
  const headerText = [...answer.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  for (const [what, pattern] of LEAK_PATTERNS) {
    for (const m of `${headerText}\n${answer.text}`.matchAll(pattern)) {
      if (!sent.includes(m[0])) problems.push(`${what} in the answer: ${JSON.stringify(m[0])}`);
    }
  }
  if (answer.status >= 400 && !opts.head) problems.push(...envelopeProblems(answer));
  return problems;
}

function envelopeProblems(answer: Answer): string[] {
  const type = answer.headers.get('content-type') ?? '';
  if (!/^application\/json\b/.test(type)) return [`a ${answer.status} answered as ${JSON.stringify(type)}, not JSON`];
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return [`a ${answer.status} whose body is not JSON: ${answer.text.slice(0, 200)}`];
  }
  const parsed = ErrorSchema.safeParse(body);
  if (!parsed.success) return [`a ${answer.status} outside the error envelope: ${answer.text.slice(0, 200)}`];
  const { code, requestId, message } = parsed.data.error;
  const problems: string[] = [];
  if (ERROR_STATUS[code] !== answer.status) problems.push(`code ${code} answered with ${answer.status}, not ${ERROR_STATUS[code]}`);
  if (requestId !== answer.headers.get('x-request-id')) problems.push(`requestId ${requestId} is not the X-Request-Id header`);
  if (!message.trim()) problems.push(`a ${answer.status} with an empty message`);
  if (answer.status === 405 && !answer.headers.get('allow')) problems.push('a 405 without an Allow header');
  return problems;
}
