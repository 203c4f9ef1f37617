import Table from 'cli-table3';
import { loadRules } from '../analyze/registry.js';
import { UsageError } from '../errors.js';

/** `perfaudit rules [ID]`: the catalogue, or one rule's docs. */
export async function rulesCommand(id: string | undefined): Promise<number> {
  const rules = await loadRules();
  if (id) {
    const rule = rules.find((candidate) => candidate.id === id);
    if (!rule) throw new UsageError(`unknown rule "${id}" (see perfaudit rules)`);
    const options = Object.entries(rule.options).map(([name, value]) => `  ${name}: ${JSON.stringify(value)}`);
    process.stdout.write([
      `${rule.id}: ${rule.title}`,
      `category: ${rule.category} · default severity: ${rule.severity}${rule.requires.length ? ` · requires: ${rule.requires.join(', ')}` : ''}`,
      ...(options.length ? ['options (override in .perfaudit.yml under rules.' + rule.id + '):', ...options] : []),
      rule.docs.trim(),
      '',
    ].join('\n'));
    return 0;
  }
  const table = new Table({ head: ['rule', 'category', 'severity', 'title'], style: { head: [], border: [] } });
  for (const rule of rules) table.push([rule.id, rule.category, rule.severity, rule.title]);
  process.stdout.write(`${table.toString()}\n`);
  return 0;
}
