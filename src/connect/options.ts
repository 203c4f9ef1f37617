import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** Where and how to connect, resolved the way libpq resolves it. */
export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string | undefined;
  readonly sslmode: SslMode;
  /** How long to wait for the server to answer (`connect_timeout`, `PGCONNECT_TIMEOUT`; default 10 s). */
  readonly connectTimeoutMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;
const PARAMETERS = ['host', 'port', 'dbname', 'user', 'password', 'sslmode', 'connect_timeout'] as const;
type Params = Partial<Record<(typeof PARAMETERS)[number], string>>;

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
// Accepted for libpq compatibility, and ignored: perfaudit sets its own.
const IGNORED_KEYWORDS = new Set(['application_name', 'options']);
const DEFAULT_CONNECT_TIMEOUT_S = 10;

/**
 * Resolves `-d` (a URL or a libpq keyword string), else `DATABASE_URL`, with the libpq
 * environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`)
 * and `~/.pgpass` filling in whatever the string leaves out.
 */
export function resolveConnection(dbname: string | undefined, env: Env = process.env): ConnectionSettings {
  const source = dbname ?? env.DATABASE_URL;
  const given = source === undefined || source === '' ? {} : parseConnectionString(source);
  const user = given.user ?? env.PGUSER ?? userInfo().username;
  const host = given.host ?? env.PGHOST ?? 'localhost';
  const port = parsePort(given.port ?? env.PGPORT ?? '5432');
  const database = given.dbname ?? env.PGDATABASE ?? user;
  const sslmode = parseSslMode(given.sslmode ?? env.PGSSLMODE ?? 'prefer');
  const password = given.password ?? env.PGPASSWORD ?? passwordFromPgpass({ host, port, database, user }, env);
  const connectTimeoutMs = parseConnectTimeout(given.connect_timeout ?? env.PGCONNECT_TIMEOUT ?? String(DEFAULT_CONNECT_TIMEOUT_S));
  return { host, port, database, user, password, sslmode, connectTimeoutMs };
}

/** A URL or libpq keyword string, as parameters. */
export function parseConnectionString(text: string): Params {
  return /^postgres(ql)?:\/\//.test(text) ? parseUrl(text) : parseKeywords(text);
}

/** How a connection is shown to people: never with its password. */
export function describeConnection(settings: ConnectionSettings): string {
  return `postgres://${encodeURIComponent(settings.user)}@${settings.host}:${settings.port}/${encodeURIComponent(settings.database)}`;
}

function parseUrl(text: string): Params {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('malformed connection URL (expected postgres://user:password@host:port/dbname)');
  }
  const params: Params = {};
  if (url.hostname) params.host = decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (url.port) params.port = url.port;
  if (url.username) params.user = decodeURIComponent(url.username);
  if (url.password) params.password = decodeURIComponent(url.password);
  const path = decodeURIComponent(url.pathname.slice(1));
  if (path) params.dbname = path;
  for (const [key, value] of url.searchParams) assign(params, key, value);
  return params;
}

// libpq keyword/value syntax: key = value pairs, values optionally single-quoted with
// backslash escapes.
function parseKeywords(text: string): Params {
  const params: Params = {};
  const pattern = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))\s*/y;
  let position = 0;
  while (position < text.length) {
    pattern.lastIndex = position;
    const match = pattern.exec(text);
    if (!match) {
      if (text.slice(position).trim() === '') break;
      throw new UsageError(`malformed connection string${near(text, position)} (expected key=value pairs or a postgres:// URL)`);
    }
    const [, key = '', quoted, bare] = match;
    assign(params, key, quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? ''));
    position = pattern.lastIndex;
  }
  return params;
}

function assign(params: Params, key: string, value: string): void {
  const parameter = PARAMETERS.find((candidate) => candidate === key);
  if (parameter) params[parameter] = value;
  else if (key === 'hostaddr') params.host ??= value;
  else if (!IGNORED_KEYWORDS.has(key)) throw new UsageError(`unknown connection parameter "${key}"`);
}

// Where parsing stopped, unless the string holds a password: a mis-quoted one could be
// cut anywhere, so no part of such a string is echoed.
function near(text: string, position: number): string {
  return /password/i.test(text) ? '' : ` near "${text.slice(position, position + 20)}"`;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`invalid port "${text}"`);
  return port;
}

// libpq: whole seconds; 0 (or less) waits forever; 1 counts as 2.
function parseConnectTimeout(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isInteger(seconds)) throw new UsageError(`invalid connect_timeout "${text}" (expected whole seconds)`);
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000;
}

function parseSslMode(text: string): SslMode {
  const mode = SSL_MODES.find((candidate) => candidate === text);
  if (!mode) throw new UsageError(`invalid sslmode "${text}" (expected ${SSL_MODES.join(', ')})`);
  return mode;
}

interface PgpassKey {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

// ~/.pgpass (or PGPASSFILE): host:port:database:user:password, `*` matches anything,
// `\:` and `\\` escape. Like libpq, a file readable by group or others is ignored.
function passwordFromPgpass(key: PgpassKey, env: Env): string | undefined {
  const file = env.PGPASSFILE ?? join(homedir(), '.pgpass');
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) return undefined;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const wanted = [key.host, String(key.port), key.database, key.user];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = splitPgpassLine(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields[4];
  }
  return undefined;
}

function splitPgpassLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i++) {
    const char = line.charAt(i);
    if (char === '\\' && i + 1 < line.length) field += line.charAt(++i);
    else if (char === ':') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}
