import { buildPlan } from '../plan/plan.js';
import type { Report } from './report.js';

/**
 * All fix actions as one script that `psql -f` runs as-is. psql runs each statement in
 * its own transaction unless told otherwise, which CONCURRENTLY requires; statements
 * that must not be wrapped in BEGIN/COMMIT are marked. Manual steps are comments only.
 */
export function renderSql(report: Report): string {
  const lines = [
    `-- perfaudit fixes for database ${report.database.name} (${report.startedAt})`,
    '-- Run with: psql -v ON_ERROR_STOP=1 -f THIS_FILE. Do not wrap it in a transaction:',
    '-- statements marked "not transactional" (CONCURRENTLY) refuse to run inside one.',
    "SET lock_timeout = '5s';",
    'SET statement_timeout = 0;',
  ];
  const plan = buildPlan(report.findings);
  for (const step of plan.steps) {
    const { action } = step;
    lines.push('');
    for (const finding of step.findings) lines.push(`-- ${finding.severity} ${finding.rule}: ${oneLine(finding.message)}`);
    if (action.kind === 'manual') {
      lines.push('-- manual step, not run by this script:', ...action.sql.split('\n').map((line) => `--   ${line}`));
      continue;
    }
    const locking = `${action.lock ? `lock ${action.lock}` : 'no table lock'} (${lockImpact(action.lock)})`;
    lines.push(`-- ${locking}; ${action.transactional ? 'transactional' : 'not transactional'}`);
    lines.push(action.sql);
  }
  for (const step of plan.held) lines.push('', `-- held back: ${oneLine(step.action.sql)} (${oneLine(step.reason)})`);
  return `${lines.join('\n')}\n`;
}

// Table lock modes that conflict with neither SELECT (ACCESS SHARE) nor INSERT/UPDATE/DELETE (ROW EXCLUSIVE).
const ONLINE_LOCKS = new Set(['ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE']);
// Modes that conflict with ROW EXCLUSIVE (writes) but not with ACCESS SHARE (reads).
const WRITE_BLOCKING_LOCKS = new Set(['SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE']);

/**
 * What a step's table lock means for the application while it runs: "online" (reads and
 * writes go on: SHARE UPDATE EXCLUSIVE or weaker), "blocks writes", or "blocks reads and
 * writes" (ACCESS EXCLUSIVE, and any mode this does not know, to be safe).
 */
export function lockImpact(lock: string | null): 'online' | 'blocks writes' | 'blocks reads and writes' {
  if (lock === null) return 'online';
  const mode = lock.trim().toUpperCase().replace(/\s+/g, ' ').replace(/ LOCK$/, '');
  if (ONLINE_LOCKS.has(mode)) return 'online';
  if (WRITE_BLOCKING_LOCKS.has(mode)) return 'blocks writes';
  return 'blocks reads and writes';
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}
