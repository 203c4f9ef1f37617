import { createInterface } from 'node:readline/promises';
import { applicableSteps, executeSteps, type Outcome } from '../apply/executor.js';
import { parseDuration } from '../collect/sample.js';
import { resolveConnection } from '../connect/options.js';
import { UsageError } from '../errors.js';
import { buildPlan, type PlanStep } from '../plan/plan.js';
import { lockImpact } from '../report/sql.js';
import { idList } from './output.js';
import { runScan } from './run-scan.js';

export interface ApplyOptions {
  readonly dbname?: string;
  readonly config?: string;
  readonly only?: string[];
  readonly yes?: boolean;
  readonly dryRun?: boolean;
  readonly lockTimeout?: string;
  readonly maxRetries?: string;
  readonly log?: string;
}

/** 128 + SIGINT, as shells report a command ended by Ctrl-C. */
const EXIT_INTERRUPTED = 130;
/** A connection error, as for every command. */
const EXIT_CONNECTION_LOST = 2;

/**
 * `perfaudit apply`: runs the safe steps of a fresh plan, one statement at a time, outside
 * any transaction, with lock_timeout and retries, re-checking each step just before it.
 * Exits 0 only when every statement it attempted succeeded; 1 when some failed or gave up
 * on lock timeouts; 2 when the connection was lost for good; 130 on Ctrl-C.
 */
export async function applyCommand(options: ApplyOptions): Promise<number> {
  const lockTimeoutMs = parseDuration(options.lockTimeout ?? '5s');
  const maxRetries = Number(options.maxRetries ?? '5');
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new UsageError(`invalid --max-retries "${options.maxRetries}" (expected a whole number)`);
  const retryBaseMs = Number(process.env.PERFAUDIT_RETRY_BASE_MS ?? '4000');
  const interactive = process.stdin.isTTY === true;
  if (!options.dryRun && !options.yes && !interactive) {
    throw new UsageError('apply changes the database: pass --yes to run without a terminal (or --dry-run to see the plan)');
  }
  const only = idList(options.only);
  const settings = resolveConnection(options.dbname);
  const { report } = await runScan({ dbname: options.dbname, config: options.config, rules: only });
  const steps = applicableSteps(buildPlan(report.findings).steps, only);
  const say = (line: string) => void process.stderr.write(`${line}\n`);

  if (steps.length === 0) {
    say('nothing to apply');
    return 0;
  }
  const listing = describe(steps);
  if (options.dryRun) {
    process.stdout.write(`-- perfaudit apply --dry-run: ${steps.length} statement(s) it would run, in order\n${listing}`);
    return 0;
  }
  if (!options.yes) {
    process.stdout.write(`${listing}`);
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Run these ${steps.length} statement(s)? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      say('nothing done');
      return 1;
    }
  }
  const { entries, stopped } = await executeSteps(settings, steps, { lockTimeoutMs, maxRetries, retryBaseMs, log: options.log, say });
  // The summary counts the plan's steps; a failed cleanup of a leftover fails the run too.
  const count = (outcome: Outcome, error?: string) =>
    entries.filter((entry) => !entry.cleanup && entry.outcome === outcome && (error === undefined || entry.error === error)).length;
  const notRun = stopped ? count('skipped', stopped) : 0;
  say(`${count('done')} done, ${count('skipped') - notRun} skipped, ${count('failed')} failed, ${count('lock-timeout')} gave up on lock timeouts`
    + (stopped ? `, ${notRun} not run (${stopped})` : ''));
  if (stopped) return stopped === 'interrupted' ? EXIT_INTERRUPTED : EXIT_CONNECTION_LOST;
  return entries.some((entry) => entry.outcome === 'failed' || entry.outcome === 'lock-timeout') ? 1 : 0;
}

function describe(steps: readonly PlanStep[]): string {
  return steps.map(({ action, findings }) => {
    const rules = [...new Set(findings.map((f) => f.rule))].join(', ');
    return `-- ${rules}; lock ${action.lock ?? 'none'} (${lockImpact(action.lock)})\n${action.sql}\n`;
  }).join('');
}
