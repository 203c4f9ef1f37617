import { randomBytes } from 'node:crypto';
import { resolveConnection } from '../connect/options.js';
import { connectionError } from '../connect/session.js';
import { startEmbeddedPostgres, withClient } from '../embedded/server.js';
import { UsageError } from '../errors.js';
import { quoteIdent } from '../plan/quote.js';

/** An empty database to apply migrations to, and how to throw it away. */
export interface ScratchDatabase {
  readonly url: string;
  /** On a server started for the check (free to create roles on), not the user's. */
  readonly embedded: boolean;
  dispose(): Promise<void>;
}

/**
 * A fresh database: on `server` (a postgres:// URL of a role with CREATEDB; for
 * migrations that need extensions the embedded server lacks), else on an embedded
 * PostgreSQL started for the purpose. Either is dropped by dispose().
 */
export async function scratchDatabase(server: string | undefined): Promise<ScratchDatabase> {
  const name = `perfaudit_migrations_${randomBytes(4).toString('hex')}`;
  if (server === undefined) {
    const embedded = await startEmbeddedPostgres();
    await embedded.createDatabase(name);
    return { url: embedded.url(name), embedded: true, dispose: () => embedded.stop() };
  }
  if (!/^postgres(ql)?:\/\//.test(server)) throw new UsageError('--server needs a postgres:// URL');
  const admin = (sql: string) => withClient(server, (client) => client.query(sql)).catch((error: unknown) => {
    throw connectionError(error, resolveConnection(server));
  });
  await admin(`CREATE DATABASE ${quoteIdent(name)}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString(), embedded: false, dispose: () => admin(`DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`).then(() => undefined) };
}
