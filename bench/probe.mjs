// @ts-check
/**
 * Preloaded into the benchmark's scan (`node --import ./bench/probe.mjs bin/perfaudit.js scan …`),
 * so the real CLI runs unchanged. It records every statement sent through `pg` (the scan's
 * session is one pg.Client: this is what session.statementCount counts), the time spent
 * waiting for them, and on exit writes them with the process's peak RSS to the file named
 * by PERFAUDIT_BENCH_PROBE. Plain JavaScript: a TypeScript loader would inflate both time and memory.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';

const out = process.env.PERFAUDIT_BENCH_PROBE;
/** @type {Array<{ text: string, values: unknown[] | undefined }>} */
const statements = [];
let sqlMs = 0;
let firstStatementMs = null;

const query = pg.Client.prototype.query;
/** @this {pg.Client} @param {any} config @param {any[]} rest */
function timedQuery(config, ...rest) {
  const started = performance.now();
  firstStatementMs ??= started;
  statements.push({ text: typeof config === 'string' ? config : config.text, values: Array.isArray(rest[0]) ? rest[0] : config.values });
  const result = query.call(this, config, ...rest);
  const settled = () => void (sqlMs += performance.now() - started);
  if (result && typeof result.then === 'function') result.then(settled, settled);
  return result;
}
pg.Client.prototype.query = /** @type {any} */ (timedQuery);

process.on('exit', () => {
  if (!out) return;
  const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage();
  const cpuMs = (userCPUTime + systemCPUTime) / 1000;
  writeFileSync(out, JSON.stringify({ statements, sqlMs, firstStatementMs, cpuMs, maxRssKb: maxRSS }));
});
