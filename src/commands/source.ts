import { collectSnapshot } from '../collect/collect.js';
import { sampleDifference } from '../collect/sample.js';
import type { Snapshot } from '../collect/snapshot.js';
import { resolveConnection } from '../connect/options.js';
import { openSession, SCAN_SESSION } from '../connect/session.js';
import { UsageError } from '../errors.js';
import { progress } from './output.js';

export interface Collected {
  readonly snapshot: Snapshot;
  /** Statements the collection sent, for the constant-cost check and the benchmark. */
  readonly statements: number;
}

/**
 * Connects read-only, collects one snapshot and disconnects. With `sampleMs`, collects
 * twice that far apart and keeps the difference (see sampleDifference).
 */
export async function collectFromDatabase(dbname: string | undefined, sampleMs?: number): Promise<Collected> {
  const settings = resolveConnection(dbname);
  const spinner = progress(`connecting to ${settings.host}:${settings.port}/${settings.database}`);
  try {
    const session = await openSession(settings, SCAN_SESSION);
    try {
      spinner.update('collecting catalog and statistics');
      const first = await collectSnapshot(session);
      if (sampleMs === undefined) return { snapshot: first, statements: session.statementCount() };
      await countdown(sampleMs, (left) => spinner.update(`sampling the workload: ${Math.ceil(left / 1000)} s left`));
      const second = await collectSnapshot(session);
      return { snapshot: sampleDifference(first, second), statements: session.statementCount() };
    } catch (error) {
      throw collectError(error, settings.password);
    } finally {
      await session.close().catch(() => undefined);
    }
  } finally {
    spinner.done();
  }
}

async function countdown(ms: number, tick: (left: number) => void): Promise<void> {
  const end = Date.now() + ms;
  for (let left = ms; left > 0; left = end - Date.now()) {
    tick(left);
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, 1000)));
  }
}

function collectError(error: unknown, password: string | undefined): Error {
  if (error instanceof UsageError) return error;
  const err = error as { code?: string; message?: string };
  const hint = err.code === '42501' ? ' (the role lacks a privilege; pg_monitor gives what perfaudit reads)'
    : err.code === '57014' ? ' (statement_timeout: the catalog read took longer than 30 s)'
    : err.code === '55P03' ? ' (lock_timeout: a catalog lock was held by another session)' : '';
  const message = `collecting the snapshot failed: ${err.message ?? String(error)}${hint}`;
  return new UsageError(password ? message.replaceAll(password, '…') : message);
}
