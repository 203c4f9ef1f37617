import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/embedded/server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the `postgres` database on the test run's embedded server. */
    pgUrl: string;
  }
}

/** One real PostgreSQL for the whole test run; each test file creates its own databases. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startEmbeddedPostgres();
  project.provide('pgUrl', server.url());
  return () => server.stop();
}
