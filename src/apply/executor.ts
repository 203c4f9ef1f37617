import { appendFile, writeFile } from 'node:fs/promises';
import type { ConnectionSettings } from '../connect/options.js';
import { isConnectionLoss, LOCK_NOT_AVAILABLE, openSession, tagged, type Session } from '../connect/session.js';
import type { PlanStep } from '../plan/plan.js';
import { indexState, invalidTwins, recheck } from './leftovers.js';
import { watchProgress, type WatchedKind } from './progress.js';
import { createdIndex, qualifyIndex, type IndexRef } from './sql-names.js';

export type Outcome = 'done' | 'skipped' | 'failed' | 'lock-timeout';

/** Why apply stopped before its last step. */
export type StopReason = 'interrupted' | 'connection lost';

/** One line of the apply log. */
export interface LogEntry {
  sql: string;
  startedAt: string;
  durationMs: number;
  outcome: Outcome;
  attempts: number;
  error?: string;
  /** Set on the drop of an INVALID index a build left, which is no step of the plan. */
  cleanup?: true;
}

export interface ExecuteOptions {
  readonly lockTimeoutMs: number;
  readonly maxRetries: number;
  /** First retry delay; each next one doubles (4 s → about two minutes over 5 retries). */
  readonly retryBaseMs: number;
  readonly log?: string | undefined;
  readonly say: (line: string) => void;
}

export interface ApplyResult {
  readonly entries: readonly LogEntry[];
  /** Null when every step was attempted; the steps after a stop are logged as skipped. */
  readonly stopped: StopReason | null;
}

const DROP_REASON_RULES = new Set(['duplicate-index', 'redundant-index', 'invalid-index']);

/**
 * The steps `apply` runs: index builds, drops of duplicate/redundant/invalid indexes (and
 * of unused ones only when `unused-index` was named), VACUUM and ANALYZE. Never table
 * changes, reindexes or manual steps.
 */
export function applicableSteps(steps: readonly PlanStep[], only: readonly string[] | undefined): PlanStep[] {
  const dropUnused = only?.includes('unused-index') ?? false;
  return steps.filter(({ action, findings }) => {
    switch (action.kind) {
      case 'create-index': case 'vacuum': case 'analyze': return true;
      case 'drop-index': return findings.some((f) => DROP_REASON_RULES.has(f.rule) || (dropUnused && f.rule === 'unused-index'));
      default: return false;
    }
  });
}

/**
 * Runs the steps one statement per call, outside any transaction, re-checking each first.
 * Ctrl-C cancels the running statement and stops; so does losing the connection for good.
 * Either way no INVALID index of ours is left where the server can still be reached.
 */
export async function executeSteps(settings: ConnectionSettings, steps: readonly PlanStep[], options: ExecuteOptions): Promise<ApplyResult> {
  if (options.log) await writeFile(options.log, '');
  const executor = new Executor(settings, options);
  await executor.connect();
  process.on('SIGINT', executor.interrupt);
  try {
    for (const [i, step] of steps.entries()) await executor.run(step, `[${i + 1}/${steps.length}]`);
  } finally {
    process.removeListener('SIGINT', executor.interrupt);
    await executor.close();
  }
  return { entries: executor.entries, stopped: executor.stopped };
}

class Executor {
  readonly entries: LogEntry[] = [];
  stopped: StopReason | null = null;
  private session: Session | undefined;
  /** The executing backend's pid, for the progress view and for cancelling. */
  private pid = 0;
  private running = false;
  private wake: (() => void) | undefined;

  constructor(private readonly settings: ConnectionSettings, private readonly options: ExecuteOptions) {}

  async connect(): Promise<void> {
    await this.close();
    this.session = await openSession(this.settings, { readOnly: false, statementTimeoutMs: 0, lockTimeoutMs: this.options.lockTimeoutMs });
    const { rows } = await this.session.client.query<{ pid: number }>(tagged('SELECT pg_backend_pid() AS pid'));
    this.pid = rows[0]?.pid ?? 0;
  }

  async close(): Promise<void> {
    await this.session?.close();
  }

  /** Ctrl-C: stop after this step, cancelling its statement (from a second connection). */
  readonly interrupt = (): void => {
    if (this.stopped) return;
    this.stopped = 'interrupted';
    this.options.say('interrupted: cancelling the running statement');
    this.wake?.();
    if (this.running) void cancel(this.settings, this.pid).catch((error) => this.options.say(`could not cancel: ${errorText(error)}`));
  };

  /** Re-checks, runs and logs one step; after a stop, only logs it as skipped. */
  async run(step: PlanStep, prefix: string): Promise<void> {
    const { sql } = step.action;
    if (this.stopped) return this.record(entry(sql, new Date(), 'skipped', 0, this.stopped));
    const label = `${prefix} ${sql}`;
    const startedAt = new Date();
    try {
      const skip = await recheck(step, this.live(), (ref) => this.dropInvalid(ref));
      if (skip) {
        await this.record(entry(sql, startedAt, 'skipped', 0, skip));
        this.options.say(`${label} skipped: ${skip}`);
        return;
      }
      const done = await this.attempt(step, prefix);
      await this.record(done);
      const seconds = (done.durationMs / 1000).toFixed(1);
      this.options.say(done.outcome === 'done' ? `${label} done in ${seconds} s`
        : done.outcome === 'lock-timeout' ? `${label} gave up after ${done.attempts} lock timeouts; moving on`
          : `${label} ${done.outcome}: ${done.error}`);
      if (done.outcome === 'done') await this.dropTwinsOf(sql);
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      this.stopped ??= 'connection lost';
      await this.record(entry(sql, startedAt, 'failed', 1, `connection lost: ${errorText(error)}`));
      this.options.say(`${label} failed: lost the connection to the server (${errorText(error)}); stopping here, run perfaudit apply again to finish`);
    }
  }

  /**
   * Runs the step's statement, retrying lock timeouts with back-off. A failure that cost
   * the connection is rethrown unless a new one can be had at once (the server is still
   * up: only our backend was ended); the INVALID index of a failed build is dropped.
   */
  private async attempt(step: PlanStep, prefix: string): Promise<LogEntry> {
    const { sql, kind } = step.action;
    const created = kind === 'create-index' ? createdIndex(sql) : undefined;
    const startedAt = new Date();
    for (let attempts = 1; ; attempts++) {
      if (this.stopped) return entry(sql, startedAt, 'skipped', attempts - 1, this.stopped);
      try {
        await this.send(sql, kind === 'create-index' || kind === 'vacuum' ? { kind, prefix } : undefined);
        return entry(sql, startedAt, 'done', attempts);
      } catch (error) {
        if (isConnectionLoss(error)) await this.connect().catch(() => Promise.reject(error));
        // A retry of CREATE INDEX … IF NOT EXISTS over an INVALID leftover would build nothing.
        const cleared = created ? await this.dropInvalid(created) : true;
        const lockTimeout = (error as { code?: string }).code === LOCK_NOT_AVAILABLE;
        if (lockTimeout && cleared && !this.stopped && attempts <= this.options.maxRetries) {
          const delay = this.options.retryBaseMs * 2 ** (attempts - 1);
          this.options.say(`    lock timeout, retry ${attempts}/${this.options.maxRetries} in ${(delay / 1000).toFixed(1)} s`);
          await this.sleep(delay);
          if (!this.stopped) continue;
        }
        if (this.stopped === 'interrupted') return entry(sql, startedAt, 'failed', attempts, `interrupted (${errorText(error)})`);
        return entry(sql, startedAt, lockTimeout ? 'lock-timeout' : 'failed', attempts, errorText(error));
      }
    }
  }

  /** Sends one statement; for index builds and VACUUM, a second connection reports progress. */
  private async send(sql: string, watch: { kind: WatchedKind; prefix: string } | undefined): Promise<void> {
    const watcher = watch ? watchProgress(this.settings, this.pid, watch.kind, watch.prefix) : undefined;
    this.running = true;
    try {
      await this.live().client.query(tagged(sql));
    } finally {
      this.running = false;
      await watcher?.stop();
    }
  }

  /**
   * Drops an INVALID index of that name (what a failed concurrent build leaves); true when
   * none is left. A failure to drop it is logged and said, unless it cost the connection.
   */
  private async dropInvalid(ref: IndexRef, cause = ''): Promise<boolean> {
    const startedAt = new Date();
    let sql = `DROP INDEX CONCURRENTLY IF EXISTS ${qualifyIndex(ref)};`;
    try {
      const state = await indexState(this.live(), ref);
      if (!state) return true;
      if (state.valid) return false;
      if (state.partitioned) sql = sql.replace('CONCURRENTLY ', ''); // refused on partitioned indexes
      await this.live().client.query(tagged(sql));
      this.options.say(`    dropped the invalid index ${ref.schema}.${ref.name} left behind${cause}`);
      await this.record({ ...entry(sql, startedAt, 'done', 1), cleanup: true });
      return true;
    } catch (error) {
      if (isConnectionLoss(error)) throw error;
      this.options.say(`    could not drop the invalid index ${ref.schema}.${ref.name}: ${errorText(error)}`);
      await this.record({ ...entry(sql, startedAt, 'failed', 1, errorText(error)), cleanup: true });
      return false;
    }
  }

  /** After a concurrent build: drops INVALID copies of the new index that earlier builds left. */
  private async dropTwinsOf(sql: string): Promise<void> {
    const created = createdIndex(sql);
    if (!created?.concurrently) return;
    for (const twin of await invalidTwins(this.live(), created)) await this.dropInvalid(twin, ' by an earlier build');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private live(): Session {
    if (!this.session) throw new Error('apply: not connected');
    return this.session;
  }

  private async record(logged: LogEntry): Promise<void> {
    this.entries.push(logged);
    if (this.options.log) await appendFile(this.options.log, `${JSON.stringify(logged)}\n`);
  }
}

function entry(sql: string, startedAt: Date, outcome: Outcome, attempts: number, error?: string): LogEntry {
  const logged: LogEntry = { sql, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), outcome, attempts };
  if (error !== undefined) logged.error = error;
  return logged;
}

/** Cancels the statement backend `pid` runs, from a short-lived second connection. */
async function cancel(settings: ConnectionSettings, pid: number): Promise<void> {
  const canceller = await openSession(settings, { readOnly: true, statementTimeoutMs: 10_000, lockTimeoutMs: 2_000 });
  try {
    await canceller.client.query(tagged('SELECT pg_cancel_backend($1)'), [pid]);
  } finally {
    await canceller.close();
  }
}

function errorText(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}
