import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConnection, resolveConnection } from '../../src/connect/options.js';

describe('resolveConnection', () => {
  it('reads URLs with encoded parts and query parameters', () => {
    expect(resolveConnection('postgresql://app%40corp:p%3Ass@db.example:6543/my%20db?sslmode=require', {})).toEqual({
      host: 'db.example', port: 6543, database: 'my db', user: 'app@corp', password: 'p:ss', sslmode: 'require', connectTimeoutMs: 10_000,
    });
  });

  it('reads libpq keyword strings with quoted values', () => {
    expect(resolveConnection("host=h port=5433 dbname='my db' user=u password='it\\'s' sslmode=disable", {})).toEqual({
      host: 'h', port: 5433, database: 'my db', user: 'u', password: "it's", sslmode: 'disable', connectTimeoutMs: 10_000,
    });
  });

  it('falls back to DATABASE_URL, then the PG* environment, for what the string leaves out', () => {
    expect(resolveConnection(undefined, { DATABASE_URL: 'postgres://a@b/c' })).toMatchObject({ host: 'b', user: 'a', database: 'c', port: 5432 });
    expect(resolveConnection('dbname=x', { PGHOST: 'envhost', PGPORT: '7000', PGUSER: 'envuser', PGPASSWORD: 'pw', PGSSLMODE: 'verify-full', PGCONNECT_TIMEOUT: '3' }))
      .toEqual({ host: 'envhost', port: 7000, database: 'x', user: 'envuser', password: 'pw', sslmode: 'verify-full', connectTimeoutMs: 3000 });
    expect(resolveConnection(undefined, { PGUSER: 'solo' })).toMatchObject({ database: 'solo', sslmode: 'prefer' });
  });

  it('reads the password from a private .pgpass, honouring wildcards and escapes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgpass-'));
    const file = join(dir, 'pgpass');
    await writeFile(file, '# comment\nother:5432:*:u:nope\nh:*:*:u:pa\\:ss\n');
    await chmod(file, 0o600);
    expect(resolveConnection('host=h user=u', { PGPASSFILE: file }).password).toBe('pa:ss');
    await chmod(file, 0o644); // libpq ignores a file others can read
    expect(resolveConnection('host=h user=u', { PGPASSFILE: file }).password).toBeUndefined();
  });

  it('describes a connection without its password', () => {
    const settings = resolveConnection('postgres://u:topsecret@h:5/d', {});
    expect(describeConnection(settings)).toBe('postgres://u@h:5/d');
  });

  it('rejects bad values with usage errors', () => {
    expect(() => resolveConnection('sslmode=sometimes', {})).toThrow('invalid sslmode "sometimes"');
    expect(() => resolveConnection('port=0', {})).toThrow('invalid port "0"');
    expect(() => resolveConnection('connect_timeout=soon', {})).toThrow('invalid connect_timeout "soon" (expected whole seconds)');
  });

  it('reads connect_timeout as libpq does: seconds, at least 2, 0 waits forever', () => {
    expect(resolveConnection('connect_timeout=1', {}).connectTimeoutMs).toBe(2000);
    expect(resolveConnection('postgres://h/d?connect_timeout=7', {}).connectTimeoutMs).toBe(7000);
    expect(resolveConnection('host=h', { PGCONNECT_TIMEOUT: '0' }).connectTimeoutMs).toBe(0);
  });

  it('never echoes a password from a malformed string, quoted or not', () => {
    for (const text of ["host=h password='s3cret and more", "host=h password=s3cret'x", 'password=s3cret port']) {
      expect(() => resolveConnection(text, {})).toThrow(/^malformed connection string \(expected key=value pairs or a postgres:\/\/ URL\)$/);
    }
    expect(() => resolveConnection('host=x port', {})).toThrow('malformed connection string near "port" (expected');
  });
});
