import { execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI (`bin/perfaudit.js`) as a user would, without a TTY. */
export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}, cwd = PACKAGE_ROOT): Promise<CliResult> {
  return startCli(args, env, cwd).done;
}

/** Starts the built CLI like runCli, handing out the process too (to signal it). */
export function startCli(args: readonly string[], env: Record<string, string | undefined> = {}, cwd = PACKAGE_ROOT): { child: ChildProcess; done: Promise<CliResult> } {
  let settle: (result: CliResult) => void = () => undefined;
  const done = new Promise<CliResult>((resolve) => (settle = resolve));
  const child = execFile(process.execPath, [join(PACKAGE_ROOT, 'bin', 'perfaudit.js'), ...args], {
    cwd,
    env: { ...process.env, DATABASE_URL: undefined, PGHOST: undefined, PGPASSWORD: undefined, NO_COLOR: '1', ...env },
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  }, (error, stdout, stderr) => {
    const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
    settle({ code, stdout, stderr });
  });
  return { child, done };
}
