/**
 * An error the user can act on: bad input, configuration or connection trouble.
 * The CLI prints its message as one line and exits with code 2, never a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
