import { readFile } from 'node:fs/promises';
import type pg from 'pg';

/**
 * Replays a workload file: statements separated by `;` at the end of a line. A
 * `-- repeat N` comment line runs the next statement N times with $1 bound to 1..N,
 * the way an application loop would (pg_stat_statements records one normalized entry).
 */
export async function runWorkload(client: pg.Client, file: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  let executed = 0;
  for (const block of text.split(/;[ \t]*$/m)) {
    const repeat = Number(/^--\s*repeat\s+(\d+)\s*$/m.exec(block)?.[1] ?? 1);
    const statement = block.split('\n').filter((line) => !/^\s*--/.test(line)).join('\n').trim();
    if (!statement) continue;
    const parameterized = /\$1\b/.test(statement);
    for (let i = 1; i <= repeat; i++) {
      await client.query(statement, parameterized ? [i] : []);
      executed++;
    }
  }
  return executed;
}
