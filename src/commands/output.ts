import { writeFile } from 'node:fs/promises';
import ora from 'ora';
import { UsageError } from '../errors.js';

/** Writes a report to `--output FILE`, or to stdout, which carries the report alone. */
export async function emit(text: string, file: string | undefined): Promise<void> {
  if (!file) {
    process.stdout.write(text);
    return;
  }
  try {
    await writeFile(file, text);
  } catch (error) {
    throw new UsageError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

export interface Progress {
  update(text: string): void;
  done(): void;
}

/** A spinner on stderr, and only when stderr is a terminal; silent otherwise. */
export function progress(text: string): Progress {
  if (!process.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  const spinner = ora({ text, stream: process.stderr }).start();
  return {
    update: (next) => void (spinner.text = next),
    done: () => void spinner.stop(),
  };
}

/** Splits `--rules a,b --rules c` style lists. */
export function idList(values: readonly string[] | undefined): string[] | undefined {
  return values?.flatMap((value) => value.split(',')).map((id) => id.trim()).filter(Boolean);
}
