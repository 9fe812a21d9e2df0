import fc from 'fast-check';

/**
 * Values an attacker or a broken client sends where a field expects something sane: the fuzz
 * tests put them in bodies, query strings, path segments and headers. Each is here because it has
 * broken a server like ours somewhere: PostgreSQL refuses NUL in text, a lone surrogate is not
 * UTF-8, deep nesting overflows recursive walkers, prototype keys poison plain objects, and huge
 * values find missing limits.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\0',
  'a\0b',
  '\u0000\u0001\u001f\u007f',
  '\r\n\r\nX-Injected: 1',
  '\uD800', // a lone surrogate: not encodable as UTF-8
  '\uDFFF\uD800',
  '\uFEFFbom',
  '\u202Eevil\u202C', // right-to-left override
  'é',
  'e\u0301', // a combining accent
  '😀🏳️‍🌈👩‍👩‍👧',
  '𝕬𝖌𝖊𝖓𝖙',
  'ﬁ', // a ligature that case-folds to two letters
  'İ', // lowercases to two code points
  '\u0130\u0131ß',
  '日本語のテナント',
  'Ω'.repeat(70),
  '../../../../etc/passwd',
  '..',
  '.',
  '/',
  '\\..\\..\\windows',
  '%00',
  '%2e%2e%2f',
  '%',
  '%zz',
  '%E0%A4%A',
  "' OR '1'='1",
  '"; DROP TABLE tenants; --',
  '$(id)',
  '`id`',
  '<script>alert(1)</script>',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template placeholder sent as text is the point
  '${7*7}',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'tnt_',
  'tnt_00000000000000000000',
  'auto_squatter',
  'org_',
  'user_',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x10',
  'true',
  'a'.repeat(64),
  'a'.repeat(101),
  'x'.repeat(4096),
  'x'.repeat(100_000),
];

export const HOSTILE_NUMBERS: readonly number[] = [
  0,
  -0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e21, // stringifies in exponent notation
];

/** One hostile string: from the catalogue, or random text in any script, control characters included. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
);

/** Any JSON value of a type a schema probably does not expect, hostile scalars included. */
export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(...HOSTILE_NUMBERS),
  hostileString,
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.constantFrom(1, 'a', null), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Nesting this deep breaks recursive walkers of a parsed body; it stays far under the body limit. */
export function deeplyNested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}
