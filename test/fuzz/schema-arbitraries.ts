import fc from 'fast-check';
import { HOSTILE_STRINGS, hostileString, wrongTypeValue } from './hostile-values.ts';

/**
 * fast-check generators built from the JSON Schemas of our OpenAPI document: values the schema
 * accepts, and the same values with one thing broken (a wrong type, a missing or an extra field, a
 * hostile string, a huge value). Only the schema keywords our document uses are understood; an
 * unknown one fails loudly rather than fuzzing with values that mean nothing.
 */
export interface JsonSchema {
  /** One type, or several (OpenAPI 3.1 writes a nullable integer as `["integer", "null"]`). */
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JsonSchema;
  $ref?: string;
  default?: unknown;
  description?: string;
  example?: unknown;
}

/**
 * Generators for places where the schema says less than the code checks (a repo is "a string" in
 * the document, "owner/name" in the service), keyed by the place's path: `repos[]`, `discord.bots[].agent`.
 */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

export interface SchemaContext {
  resolve(ref: string): JsonSchema;
  hints?: Hints;
}

// Hosts under reserved names (RFC 2606): nothing is called at input, and nothing could be reached.
const URLS = ['https://mc.example.com/health', 'https://mission-control.example.org/', 'https://example.net:8443/api/v1/status?x=1'];
const LONGEST_GENERATED = 40;

/** Values `schema` accepts (as far as the document tells; the hints say the rest). */
export function validValue(schema: JsonSchema, ctx: SchemaContext, at = ''): fc.Arbitrary<unknown> {
  const hint = ctx.hints?.[at];
  if (hint) return hint;
  if (schema.$ref) return validValue(ctx.resolve(schema.$ref), ctx, at);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => validValue(s, ctx, at)));
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => validValue({ ...schema, type }, ctx, at)));
  switch (schema.type) {
    case 'string':
      return validString(schema);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      if (!schema.items) throw new Error(`array without items at ${at || '(root)'}`);
      const minLength = schema.minItems ?? 0;
      return fc.array(validValue(schema.items, ctx, `${at}[]`), {
        minLength,
        maxLength: Math.max(minLength, Math.min(schema.maxItems ?? 4, 4)),
      });
    }
    case 'object': {
      const props = schema.properties ?? {};
      const model = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, validValue(s, ctx, at ? `${at}.${k}` : k)])) as Record<
        string,
        fc.Arbitrary<unknown>
      >;
      return fc.record(model, { requiredKeys: (schema.required ?? []) as never[] });
    }
    default:
      throw new Error(`schema at ${at || '(root)'} has a type the fuzzer does not know: ${JSON.stringify(schema)}`);
  }
}

function validString(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? LONGEST_GENERATED;
  if (schema.format === 'uri') return fc.constantFrom(...URLS);
  if (schema.pattern) {
    return fc
      .stringMatching(new RegExp(schema.pattern), { maxLength: Math.min(maxLength, 80) })
      .filter((s) => s.length >= minLength && s.length <= maxLength);
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(maxLength, LONGEST_GENERATED)) });
}

type Path = Array<string | number>;

/** Every place in a JSON value (the root included), as paths. */
function placesIn(value: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(value)) for (const [i, v] of value.entries()) out.push(...placesIn(v, [...at, i]));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...placesIn(v, [...at, k]));
  return out;
}

const MUTATIONS = ['wrong-type', 'hostile-string', 'drop', 'extra-key', 'huge', 'nul'] as const;
type Mutation = (typeof MUTATIONS)[number];

const EXTRA_KEYS = ['__proto__', 'constructor', 'prototype', 'extra', 'tenantId', 'fleetId', 'ok', '', '\0', 'ключ', 'a'.repeat(300)];

/** A JSON value with `key` as an own property, even `__proto__` (which plain assignment would not make one). */
function withKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = { ...obj };
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return copy;
}

function applyAt(
  value: unknown,
  path: Path,
  change: (old: unknown, parent: unknown, key: string | number | undefined) => unknown,
): unknown {
  if (path.length === 0) return change(value, undefined, undefined);
  const [head, ...rest] = path as [string | number, ...Path];
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length === 0) {
      const next = change(copy[head as number], copy, head);
      if (next === DROP) copy.splice(head as number, 1);
      else copy[head as number] = next;
      return copy;
    }
    copy[head as number] = applyAt(copy[head as number], rest, change);
    return copy;
  }
  const obj = value as Record<string, unknown>;
  if (rest.length === 0) {
    const next = change(obj[head], obj, head);
    if (next === DROP) {
      const { [head]: _dropped, ...others } = obj;
      return others;
    }
    return withKey(obj, String(head), next);
  }
  return withKey(obj, String(head), applyAt(obj[head], rest, change));
}

const DROP = Symbol('drop');

function mutate(value: unknown, mutation: Mutation, where: number, replacement: unknown, key: string): unknown {
  const places = placesIn(value);
  const path = places[where % places.length]!;
  return applyAt(value, path, (old, parent) => {
    switch (mutation) {
      case 'wrong-type':
        return replacement;
      case 'hostile-string':
        return typeof replacement === 'string' ? replacement : String(replacement);
      case 'drop':
        return parent === undefined ? undefined : DROP;
      case 'extra-key':
        return old && typeof old === 'object' && !Array.isArray(old)
          ? withKey(old as Record<string, unknown>, key, replacement)
          : replacement;
      case 'huge':
        if (typeof old === 'string') return old.padEnd(200_000, old || 'x');
        if (Array.isArray(old)) return Array.from({ length: 5_000 }, () => old[0] ?? 'x');
        return 'x'.repeat(200_000);
      case 'nul':
        return typeof old === 'string' ? `${old.slice(0, 1)}\0${old.slice(1)}` : '\0';
    }
  });
}

/** A value `schema` accepts with one thing broken in it, somewhere. */
export function mutatedValue(schema: JsonSchema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      validValue(schema, ctx),
      fc.constantFrom(...MUTATIONS),
      fc.nat(),
      fc.oneof(wrongTypeValue, hostileString),
      fc.constantFrom(...EXTRA_KEYS),
    )
    .map(([value, mutation, where, replacement, key]) => mutate(value, mutation, where, replacement, key));
}

/** A query or path value: a valid one, or any hostile string. */
export function parameterValue(schema: JsonSchema, ctx: SchemaContext, at: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: validValue(schema, ctx, at).map(String) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  );
}
