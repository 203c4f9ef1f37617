import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadRules } from '../../src/analyze/registry.js';
import { parseConfig, type Config, type RuleConfig } from '../../src/config/load.js';
import { UsageError } from '../../src/errors.js';
import { isMigrationRule, type AnyRule } from '../../src/rule.js';
import { FUZZ_SEED } from '../helpers/fuzz.js';

const FILE = 'fuzz.yml';
const SEVERITIES = ['critical', 'warning', 'info'] as const;

/** parseConfig's contract: a config, or a UsageError naming the file and a line of it. */
function parseOrExplain(text: string, rules: readonly AnyRule[]): Config | UsageError {
  try {
    return parseConfig(text, FILE, rules);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const line = Number(/^fuzz\.yml:(\d+): \S/.exec(error.message)?.[1]);
    expect(line, error.message).toBeGreaterThanOrEqual(1);
    expect(line, error.message).toBeLessThanOrEqual(text.split('\n').length + 1);
    return error;
  }
}

// Any YAML value: scalars of every type the grammar uses, lists and mappings of them.
const anyValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1.5, '', 'none', ...SEVERITIES),
    fc.double(), fc.integer(), fc.string(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 })),
})).value;

/** Documents built from the config grammar: known and unknown keys, values of any type. */
function grammarDocument(rules: readonly AnyRule[]): fc.Arbitrary<unknown> {
  const ids = rules.map((rule) => rule.id);
  const optionNames = [...new Set(rules.flatMap((rule) => Object.keys(rule.options)))];
  const key = (known: readonly string[]) => fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 8 }));
  const settings = fc.oneof(fc.dictionary(key(['enabled', 'severity', ...optionNames]), anyValue, { maxKeys: 4 }), anyValue);
  const ignoreEntry = fc.oneof(fc.dictionary(key(['rule', 'table', 'index']), fc.oneof(fc.constantFrom(...ids, 'app.*', '*'), anyValue), { maxKeys: 3 }), anyValue);
  const document = fc.record({
    rules: fc.oneof(fc.dictionary(key(ids), settings, { maxKeys: 4 }), anyValue),
    ignore: fc.oneof(fc.array(ignoreEntry, { maxLength: 3 }), anyValue),
    failOn: fc.oneof(fc.constantFrom(...SEVERITIES, 'none'), anyValue),
    extra: anyValue,
  }, { requiredKeys: [] });
  return fc.oneof(document, anyValue);
}

/** Valid documents, each with the config it must parse to. */
function validDocument(rules: readonly AnyRule[]): fc.Arbitrary<{ document: unknown; expected: Config }> {
  const scanRules = rules.filter((rule) => !isMigrationRule(rule));
  const ruleSettings = fc.constantFrom(...scanRules).chain((rule) => fc.record({
    enabled: fc.boolean(),
    severity: fc.constantFrom(...SEVERITIES),
    options: fc.record(Object.fromEntries(Object.entries(rule.options).map(([name, fallback]) =>
      [name, typeof fallback === 'number' ? fc.double({ noNaN: true, noDefaultInfinity: true }) : typeof fallback === 'boolean' ? fc.boolean() : fc.string()])), { requiredKeys: [] }),
  }, { requiredKeys: [] }).map((settings) => [rule.id, settings] as const));
  const ignore = fc.array(fc.record({ rule: fc.constantFrom(...scanRules.map((rule) => rule.id)), table: fc.string({ minLength: 1 }) }, { requiredKeys: ['rule'] }), { maxLength: 3 });
  return fc.record({ rules: fc.uniqueArray(ruleSettings, { selector: ([id]) => id, maxLength: 4 }), ignore, failOn: fc.constantFrom(...SEVERITIES, 'none') })
    .map(({ rules: chosen, ignore: entries, failOn }) => ({
      document: { rules: Object.fromEntries(chosen.map(([id, { options, ...rest }]) => [id, { ...rest, ...options }])), ignore: entries, failOn },
      expected: { rules: Object.fromEntries(chosen.map(([id, settings]) => [id, { options: {}, ...settings } as RuleConfig])), ignore: entries, failOn },
    }));
}

describe('config loader under fuzzing', () => {
  let rules: AnyRule[];
  beforeAll(async () => {
    rules = await loadRules();
  });

  it('parses arbitrary text or says which line is wrong', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => void parseOrExplain(text, rules)),
      { seed: FUZZ_SEED, numRuns: 500 });
  });

  it('parses documents of the config grammar with random keys, values and types, or says which line is wrong', () => {
    const outcomes = { parsed: 0, rejected: 0 };
    const text = fc.tuple(grammarDocument(rules), fc.boolean()).map(([document, flow]) => flow ? JSON.stringify(document) ?? '' : stringify(document));
    fc.assert(fc.property(text, (yaml) => void outcomes[parseOrExplain(yaml, rules) instanceof UsageError ? 'rejected' : 'parsed']++),
      { seed: FUZZ_SEED, numRuns: 500 });
    expect(outcomes.parsed).toBeGreaterThan(10);
    expect(outcomes.rejected).toBeGreaterThan(10);
  });

  it('reads every valid document exactly', () => {
    fc.assert(fc.property(validDocument(rules), ({ document, expected }) => {
      expect(parseConfig(stringify(document), FILE, rules)).toEqual(expected);
    }), { seed: FUZZ_SEED, numRuns: 200 });
  });

  it.each([['.nan'], ['.inf'], ['-.inf']])('refuses %s as a number option', (value) => {
    expect(() => parseConfig(`rules:\n  missing-index:\n    minRows: ${value}\n`, FILE, rules))
      .toThrow(new UsageError('fuzz.yml:3: rules.missing-index.minRows: expected a number'));
  });
});
