import { readdir } from 'node:fs/promises';
import { loadModule } from 'libpg-query';
import type { AnyRule } from '../rule.js';

const RULES_DIR = new URL('../../rules/', import.meta.url);
const RULE_FILE = /^([a-z0-9-]+)\.(js|ts)$/;

/**
 * Every rule in `rules/`, by file: the registry is the directory, never a hand-kept list.
 * Runs from source (tests, `.ts`) and from the build (`.js`) alike. Loads the SQL parser
 * too: rules are synchronous, and libpg-query parses synchronously only once loaded.
 */
export async function loadRules(): Promise<AnyRule[]> {
  await loadModule();
  const files = (await readdir(RULES_DIR)).filter((file) => RULE_FILE.test(file) && !file.endsWith('.d.ts')).sort();
  return Promise.all(files.map(async (file) => {
    const module = (await import(new URL(file, RULES_DIR).href)) as { default?: AnyRule };
    const rule = module.default;
    const id = RULE_FILE.exec(file)?.[1];
    if (!rule || rule.id !== id) throw new Error(`rules/${file} must default-export the rule with id "${id}"`);
    return rule;
  }));
}
