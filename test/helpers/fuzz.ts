import fc from 'fast-check';

/**
 * One fixed seed for every fuzz test, so a failure replays exactly; fast-check prints it
 * (with the shrunk counterexample's path) on failure. PERFAUDIT_FUZZ_SEED explores others.
 */
export const FUZZ_SEED = Number(process.env.PERFAUDIT_FUZZ_SEED ?? 20_240_607);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = ReadonlyArray<string | number>;

/**
 * One change to a JSON document, at the `at`-th of its nodes (modulo their number):
 * drop it, give it an arbitrary value, duplicate it (an array element), replace it with
 * the `from`-th node of the document (plausible values in the wrong place: an oid of
 * another table, a string where a list was), or tweak it keeping its type (another
 * number or string, the other boolean), which the shape check lets through to the rules.
 * `tweak-all` tweaks every field of the `at`-th field name alike (every `increment`,
 * every `query`): values that break a rule whichever object holds them.
 */
export interface Mutation {
  readonly kind: 'drop' | 'retype' | 'duplicate' | 'transplant' | 'tweak' | 'tweak-all';
  readonly at: number;
  readonly from: number;
  readonly value: Json;
  readonly number: number;
  readonly text: string;
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('drop', 'retype', 'duplicate', 'transplant', 'tweak', 'tweak-all'),
  at: fc.nat(),
  from: fc.nat(),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  number: fc.oneof(fc.integer({ min: -2, max: 100 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(1e308, -1e308, 2 ** 53)),
  text: fc.oneof(fc.string(), fc.constantFrom('', '0', '-1', '9223372036854775807', 'btree', 'integer', 'bigint', 'SELECT', 't', 'f')),
});

/** The document with the mutation applied (a copy; the input is left alone). */
export function mutate(document: Json, change: Mutation): Json {
  const copy = structuredClone(document);
  if (change.kind === 'tweak-all') return tweakAll(copy, change);
  const paths = nodePaths(copy);
  const path = paths[change.at % paths.length];
  if (!path) return copy;
  const parent = valueAt(copy, path.slice(0, -1)) as Record<string | number, Json> | Json[];
  const key = path[path.length - 1]!;
  if (change.kind === 'drop') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (change.kind === 'duplicate' && Array.isArray(parent)) {
    parent.splice(Number(key), 0, structuredClone(parent[Number(key)]!));
  } else if (change.kind === 'tweak') {
    (parent as Record<string | number, Json>)[key] = tweaked(valueAt(copy, path), change);
  } else {
    const donor = paths[change.from % paths.length]!;
    const value = change.kind === 'transplant' ? structuredClone(valueAt(copy, donor)) : change.value;
    (parent as Record<string | number, Json>)[key] = value;
  }
  return copy;
}

function tweakAll(document: Json, change: Mutation): Json {
  const paths = nodePaths(document);
  const names = [...new Set(paths.map((path) => path[path.length - 1]).filter((key) => typeof key === 'string'))].sort();
  const name = names[change.at % names.length];
  for (const path of paths.filter((candidate) => candidate[candidate.length - 1] === name)) {
    const parent = valueAt(document, path.slice(0, -1)) as Record<string, Json>;
    parent[name!] = tweaked(parent[name!] ?? null, change);
  }
  return document;
}

function tweaked(value: Json, change: Mutation): Json {
  if (typeof value === 'number') return change.number;
  if (typeof value === 'string') return change.text;
  if (typeof value === 'boolean') return !value;
  return value === null ? change.value : value;
}

function nodePaths(value: Json, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: Array<[string | number, Json]> = Array.isArray(value) ? value.map((item, i) => [i, item]) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...path, key], ...nodePaths(child, [...path, key])]);
}

function valueAt(value: Json, path: Path): Json {
  return path.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key] ?? null, value);
}
