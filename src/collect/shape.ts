/**
 * A small validator for JSON read back from files: each shape checks one value and
 * returns the first problem with its path (`tables[3].columns is not an array`), or null.
 * A shape carries the type it accepts, so `const s: Shape<Snapshot> = object({…})` fails
 * to compile when the shape forgets a field the type has.
 */
export interface Shape<T> {
  readonly check: (value: unknown, path: string) => string | null;
  /** Never set: only carries the accepted type. */
  readonly accepts?: T;
}

type Accepted<S> = S extends Shape<infer T> ? T : never;

/** A value passing `test`; the problem reads `<path> is not <expected>`. */
export function satisfying<T>(test: (value: unknown) => boolean, expected: string): Shape<T> {
  return { check: (value, path) => (test(value) ? null : `${path} is not ${expected}`) };
}

export const number = satisfying<number>((value) => typeof value === 'number' && Number.isFinite(value), 'a number');
export const string = satisfying<string>((value) => typeof value === 'string', 'a string');
export const boolean = satisfying<boolean>((value) => typeof value === 'boolean', 'a boolean');
/** bigint values kept as decimal text. */
export const integerText = satisfying<string>((value) => typeof value === 'string' && /^-?\d{1,40}$/.test(value), 'an integer in a string');
export const timestamp = satisfying<string>((value) => typeof value === 'string' && !Number.isNaN(Date.parse(value)), 'a timestamp');

export function literal<const V extends string | number>(...values: readonly V[]): Shape<V> {
  return satisfying<V>((value) => values.some((candidate) => candidate === value), `one of ${values.join(', ')}`);
}

export function nullable<T>(inner: Shape<T>): Shape<T | null> {
  return { check: (value, path) => (value === null ? null : inner.check(value, path)) };
}

export function optional<T>(inner: Shape<T>): Shape<T | undefined> {
  return { check: (value, path) => (value === undefined ? null : inner.check(value, path)) };
}

export function array<T>(item: Shape<T>): Shape<readonly T[]> {
  return {
    check(value, path) {
      if (!Array.isArray(value)) return `${path} is not an array`;
      for (const [i, element] of value.entries()) {
        const problem = item.check(element, `${path}[${i}]`);
        if (problem) return problem;
      }
      return null;
    },
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function record<T>(item: Shape<T>): Shape<Readonly<Record<string, T>>> {
  return {
    check(value, path) {
      if (!isObject(value)) return `${path} is not an object`;
      for (const [key, element] of Object.entries(value)) {
        const problem = item.check(element, `${path}.${key}`);
        if (problem) return problem;
      }
      return null;
    },
  };
}

/** An object with these fields (others are ignored). */
export function object<P extends Readonly<Record<string, Shape<unknown>>>>(fields: P): Shape<{ readonly [K in keyof P]: Accepted<P[K]> }> {
  return {
    check(value, path) {
      if (!isObject(value)) return `${path || 'the top level'} is not an object`;
      for (const [key, field] of Object.entries(fields)) {
        const where = path ? `${path}.${key}` : key;
        const own = Object.hasOwn(value, key) ? value[key] : undefined;
        const problem = field.check(own, where);
        if (problem) return own === undefined ? `${where} is missing` : problem;
      }
      return null;
    },
  };
}
