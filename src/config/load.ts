import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { UsageError } from '../errors.js';
import type { AnyRule, Severity } from '../rule.js';

export type FailOn = Severity | 'none';

export interface RuleConfig {
  readonly enabled?: boolean;
  readonly severity?: Severity;
  readonly options: Readonly<Record<string, number | string | boolean>>;
}

/** One `ignore:` entry: globs over `schema.table` and `schema.object` names. */
export interface IgnoreEntry {
  readonly rule?: string;
  readonly table?: string;
  readonly index?: string;
}

export interface Config {
  readonly rules: Readonly<Record<string, RuleConfig>>;
  readonly ignore: readonly IgnoreEntry[];
  readonly failOn?: FailOn;
}

export const EMPTY_CONFIG: Config = { rules: {}, ignore: [] };
export const DEFAULT_CONFIG_FILE = '.perfaudit.yml';
const SEVERITIES = ['critical', 'warning', 'info'];
const FAIL_ON = [...SEVERITIES, 'none'];

/**
 * Loads `--config FILE`, else `.perfaudit.yml` in the working directory if present.
 * Every mistake is an error naming the file and line: unknown keys, unknown rule ids,
 * unknown options and values of the wrong type.
 */
export function loadConfig(file: string | undefined, rules: readonly AnyRule[]): Config {
  const path = file ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (!path) return EMPTY_CONFIG;
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseConfig(text, path, rules);
}

export function parseConfig(text: string, file: string, rules: readonly AnyRule[]): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const fail = (node: Node | null | undefined, message: string): never => {
    const line = node?.range ? lines.linePos(node.range[0]).line : 1;
    throw new UsageError(`${file}:${line}: ${message}`);
  };
  const syntax = doc.errors[0];
  if (syntax) {
    // An error found at the end of the file (an unclosed bracket) belongs to its last line.
    const line = Math.min(lines.linePos(syntax.pos[0]).line, text.trimEnd().split('\n').length);
    throw new UsageError(`${file}:${Math.max(line, 1)}: invalid YAML: ${syntax.message.split('\n')[0]}`);
  }
  return readConfig(doc, rules, fail);
}

type Fail = (node: Node | null | undefined, message: string) => never;

function readConfig(doc: Document, rules: readonly AnyRule[], fail: Fail): Config {
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return EMPTY_CONFIG;
  if (!isMap(root)) return fail(root, 'the config must be a mapping (rules:, ignore:, failOn:)');
  let config: Config = EMPTY_CONFIG;
  for (const pair of root.items) {
    const key = scalarText(pair.key as Node, fail);
    const value = pair.value as Node | null;
    if (key === 'rules') config = { ...config, rules: readRules(value, rules, fail) };
    else if (key === 'ignore') config = { ...config, ignore: readIgnores(value, rules, fail) };
    else if (key === 'failOn') config = { ...config, failOn: oneOf(value, FAIL_ON, 'failOn', fail) as FailOn };
    else fail(pair.key as Node, `unknown key "${key}" (expected rules, ignore, failOn)`);
  }
  return config;
}

function readRules(node: Node | null, rules: readonly AnyRule[], fail: Fail): Record<string, RuleConfig> {
  if (!isMap(node)) return fail(node, 'rules: must map rule ids to settings');
  const result: Record<string, RuleConfig> = {};
  for (const pair of node.items) {
    const id = scalarText(pair.key as Node, fail);
    const rule = rules.find((candidate) => candidate.id === id);
    if (!rule) fail(pair.key as Node, `unknown rule "${id}" (see perfaudit rules)`);
    else result[id] = readRuleConfig(pair.value as Node | null, rule, fail);
  }
  return result;
}

function readRuleConfig(node: Node | null, rule: AnyRule, fail: Fail): RuleConfig {
  if (!isMap(node)) return fail(node, `rules.${rule.id}: must be a mapping of settings`);
  let enabled: boolean | undefined;
  let severity: Severity | undefined;
  const options: Record<string, number | string | boolean> = {};
  for (const pair of node.items) {
    const key = scalarText(pair.key as Node, fail);
    const value = pair.value as Node | null;
    if (key === 'enabled') enabled = typed(value, 'boolean', `rules.${rule.id}.enabled`, fail) as boolean;
    else if (key === 'severity') severity = oneOf(value, SEVERITIES, `rules.${rule.id}.severity`, fail) as Severity;
    else if (key in rule.options) {
      const expected = typeof rule.options[key] as 'number' | 'string' | 'boolean';
      options[key] = typed(value, expected, `rules.${rule.id}.${key}`, fail);
    } else {
      const known = ['enabled', 'severity', ...Object.keys(rule.options)].join(', ');
      fail(pair.key as Node, `unknown setting "${key}" for rule ${rule.id} (expected ${known})`);
    }
  }
  return { ...(enabled === undefined ? {} : { enabled }), ...(severity ? { severity } : {}), options };
}

function readIgnores(node: Node | null, rules: readonly AnyRule[], fail: Fail): IgnoreEntry[] {
  if (!isSeq(node)) return fail(node, 'ignore: must be a list of entries like {rule: ID, table: schema.name}');
  return node.items.map((item) => {
    if (!isMap(item)) return fail(item as Node, 'each ignore entry must be a mapping (rule, table, index)');
    const entry: Record<string, string> = {};
    for (const pair of item.items) {
      const key = scalarText(pair.key as Node, fail);
      const value = typed(pair.value as Node | null, 'string', `ignore.${key}`, fail) as string;
      if (key === 'rule' && !rules.some((rule) => rule.id === value)) fail(pair.value as Node, `unknown rule "${value}" in ignore`);
      if (!['rule', 'table', 'index'].includes(key)) fail(pair.key as Node, `unknown ignore key "${key}" (expected rule, table, index)`);
      entry[key] = value;
    }
    if (Object.keys(entry).length === 0) fail(item as Node, 'an empty ignore entry would ignore everything');
    return entry;
  });
}

function scalarText(node: Node | null, fail: Fail): string {
  if (!isScalar(node)) return fail(node, 'expected a plain key');
  return String(node.value);
}

function typed(node: Node | null, type: 'number' | 'string' | 'boolean', where: string, fail: Fail): number | string | boolean {
  const value = isScalar(node) ? node.value : undefined;
  // .nan and .inf are YAML numbers, and no threshold means anything with them.
  if (typeof value !== type || (typeof value === 'number' && !Number.isFinite(value))) return fail(node, `${where}: expected a ${type}`);
  return value as number | string | boolean;
}

function oneOf(node: Node | null, allowed: readonly string[], where: string, fail: Fail): string {
  const value = isScalar(node) ? node.value : undefined;
  if (typeof value !== 'string' || !allowed.includes(value)) return fail(node, `${where}: expected one of ${allowed.join(', ')}`);
  return value;
}
