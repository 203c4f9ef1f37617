import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { UsageError } from '../errors.js';
import { describeConnection, type ConnectionSettings } from './options.js';

/** Every statement perfaudit sends carries this, so it can recognise its own statements. */
export const QUERY_TAG = '/* perfaudit */';

/**
 * Tags a statement right after its first keyword. Not before it: PostgreSQL 18's
 * pg_stat_statements stores statements without their leading comments.
 *
 * @example tagged('SELECT 1') // 'SELECT /* perfaudit *\/ 1'
 */
export function tagged(statement: string): string {
  return statement.trim().replace(/^(\w+)/, `$1 ${QUERY_TAG}`);
}

export interface SessionOptions {
  readonly readOnly: boolean;
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly connectTimeoutMs?: number;
}

export const SCAN_SESSION: SessionOptions = { readOnly: true, statementTimeoutMs: 30_000, lockTimeoutMs: 2_000 };

/** One connection to the database, with a Kysely instance over it. */
export interface Session {
  readonly db: Kysely<unknown>;
  readonly client: pg.Client;
  /** Statements sent so far (the scan's cost, which must not grow with the schema). */
  readonly statementCount: () => number;
  /** Ends the connection (whether it was used through `db` or `client`); never throws. */
  close(): Promise<void>;
}

/**
 * Opens one guarded connection: `application_name=perfaudit`, timeouts, and for scans
 * `default_transaction_read_only`, all set at connection start-up so no statement of
 * ours ever runs without them.
 */
export async function openSession(settings: ConnectionSettings, options: SessionOptions): Promise<Session> {
  const client = await connect(settings, options);
  let statements = 0;
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: singleClientPool(client) }),
    log: (event) => {
      if (event.level === 'query' || event.level === 'error') statements++;
    },
  });
  let closing: Promise<void> | undefined;
  return {
    db,
    client,
    statementCount: () => statements,
    // Kysely's destroy() ends its pool only if it ever queried through it, so a session
    // used only through `client` would keep its connection: end the client here, once.
    close: () => (closing ??= db.destroy().catch(ignore).then(() => client.end()).catch(ignore)),
  };
}

const ignore = (): undefined => undefined;

async function connect(settings: ConnectionSettings, options: SessionOptions): Promise<pg.Client> {
  const gucs = [
    `-c statement_timeout=${options.statementTimeoutMs}`,
    `-c lock_timeout=${options.lockTimeoutMs}`,
    `-c idle_in_transaction_session_timeout=${Math.max(options.statementTimeoutMs, 60_000)}`,
    // Scans deparse expressions and types: with only pg_catalog on the path, every other
    // name comes out schema-qualified, so generated SQL works under any search_path.
    ...(options.readOnly ? ['-c default_transaction_read_only=on', '-c search_path=pg_catalog'] : []),
  ];
  const base: pg.ClientConfig = {
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: settings.password ?? '',
    application_name: 'perfaudit',
    options: gucs.join(' '),
    connectionTimeoutMillis: options.connectTimeoutMs ?? settings.connectTimeoutMs,
  };
  const attempts = sslAttempts(settings.sslmode);
  for (const [i, ssl] of attempts.entries()) {
    const client = new pg.Client({ ...base, ssl });
    client.on('error', () => undefined); // a dropped connection surfaces on the next query
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (i < attempts.length - 1 && isSslNegotiationFailure(error)) continue;
      throw connectionError(error, settings);
    }
  }
  throw new UsageError(`could not connect to ${describeConnection(settings)}`);
}

// libpq's meaning of each sslmode: prefer tries SSL and falls back; allow the reverse;
// require encrypts without verifying; verify-ca checks the chain; verify-full the host too.
function sslAttempts(mode: ConnectionSettings['sslmode']): Array<pg.ClientConfig['ssl']> {
  const unverified = { rejectUnauthorized: false };
  switch (mode) {
    case 'disable': return [false];
    case 'allow': return [false, unverified];
    case 'prefer': return [unverified, false];
    case 'require': return [unverified];
    case 'verify-ca': return [{ rejectUnauthorized: true, checkServerIdentity: () => undefined }];
    case 'verify-full': return [{ rejectUnauthorized: true }];
  }
}

function isSslNegotiationFailure(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /does not support SSL|no pg_hba.conf entry .*(SSL|no encryption)/i.test(message);
}

/** Turns a driver error into one line a person can act on, without any secret. */
export function connectionError(error: unknown, settings: ConnectionSettings): UsageError {
  const where = describeConnection(settings);
  const err = error as { code?: string; message?: string };
  const reason = (() => {
    switch (err.code) {
      case 'ECONNREFUSED': return `connection refused (is the server running on ${settings.host}:${settings.port}?)`;
      case 'ENOTFOUND': case 'EAI_AGAIN': return `unknown host "${settings.host}"`;
      case 'ETIMEDOUT': return 'connection timed out';
      case '28P01': return `password authentication failed for user "${settings.user}"`;
      case '3D000': return `database "${settings.database}" does not exist`;
      case '28000': return err.message ?? 'authorization failed';
      default:
        if (/timeout/i.test(err.message ?? '')) return 'connection timed out';
        return err.message ?? String(error);
    }
  })();
  const clean = settings.password ? reason.replaceAll(settings.password, '…') : reason;
  return new UsageError(`could not connect to ${where}: ${clean}`);
}

// Kysely drives a pool; perfaudit wants exactly one connection (one snapshot, one set
// of guards), so this pool hands out that connection and never ends it: close() does.
function singleClientPool(client: pg.Client): PostgresPool {
  const pooled = { query: client.query.bind(client), release: () => undefined } as unknown as PostgresPoolClient;
  return {
    connect: async () => pooled,
    end: async () => undefined,
  };
}

/** SQLSTATE lock_not_available: a lock wait ran past lock_timeout. */
export const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Whether an error means the session is gone: the server ended it (57P01–57P03: shut down,
 * crashed, not accepting connections), a connection exception (class 08), or the socket
 * dropped (the driver's own errors carry no SQLSTATE).
 */
export function isConnectionLoss(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return /^(08|57P0[123]$|E(CONNRESET|CONNREFUSED|PIPE|TIMEDOUT)$)/.test(code);
  return /Connection terminated|Client was closed|not queryable/i.test(String(message ?? error));
}
