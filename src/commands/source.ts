import { collectSnapshot } from '../collect/collect.js';
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

/** Connects read-only, collects one snapshot and disconnects. */
export async function collectFromDatabase(dbname: string | undefined): Promise<Collected> {
  const settings = resolveConnection(dbname);
  const spinner = progress(`connecting to ${settings.host}:${settings.port}/${settings.database}`);
  try {
    const session = await openSession(settings, SCAN_SESSION);
    try {
      spinner.update('collecting catalog and statistics');
      const snapshot = await collectSnapshot(session);
      return { snapshot, statements: session.statementCount() };
    } catch (error) {
      throw collectError(error, settings.password);
    } finally {
      await session.close().catch(() => undefined);
    }
  } finally {
    spinner.done();
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
