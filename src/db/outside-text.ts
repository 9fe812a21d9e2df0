/**
 * The one cleaning of text from outside (Mission Control, Discord, git, the gateway, the operating
 * system) before PostgreSQL stores it. PostgreSQL refuses NUL in `text` and `\u0000` in `jsonb`,
 * so a single NUL in an answer would make a run's final write fail and leave it `provisioning`;
 * other control characters would reach dashboards and terminals as they are.
 */

/** The longest provision-log message or run error we keep; the rest is cut with an ellipsis. */
export const MAX_STORED_MESSAGE_CHARS = 4000;

// C0 controls and DEL, except \t and \n, which messages may use.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
// A surrogate without its other half is not UTF-8 encodable: PostgreSQL would refuse it too.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` without control characters (\t and \n stay), lone surrogates replaced by U+FFFD, at most `max` characters. */
export function cleanOutsideText(text: string, max = MAX_STORED_MESSAGE_CHARS): string {
  const clean = text.replace(CONTROL, '').replace(LONE_SURROGATE, '\ufffd');
  if (clean.length <= max) return clean;
  // Cut on a code point boundary, so the cut itself cannot leave a lone surrogate.
  return `${clean.slice(0, max - 1).replace(/[\ud800-\udbff]$/, '')}…`;
}

/** A JSON value with every string (keys too) cleaned, for jsonb columns that carry outside data. */
export function cleanOutsideJson<T>(value: T, maxString = MAX_STORED_MESSAGE_CHARS): T {
  if (typeof value === 'string') return cleanOutsideText(value, maxString) as T;
  if (Array.isArray(value)) return value.map((v) => cleanOutsideJson(v, maxString)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [cleanOutsideText(k, maxString), cleanOutsideJson(v, maxString)])) as T;
  }
  return value;
}
