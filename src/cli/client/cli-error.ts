/**
 * What a client command tells a person when it cannot do what was asked: what happened (the
 * server's own message when it answered), what to do next, and an exit code a script can test.
 * main.ts prints it as two lines, never with a stack.
 */
export const EXIT = {
  /** The server refused the request, or the run ended in `error`. */
  failed: 1,
  /** A flag or argument is wrong (commander's errors too). */
  usage: 2,
  /** The server could not be reached. */
  unreachable: 3,
  /** No credentials, or the server rejected them: sign in (again). */
  signIn: 4,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly hint: string | undefined,
    readonly exitCode: number = EXIT.failed,
    /** The request field the server named as wrong, when it named one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A wrong flag or argument, found before anything is sent. */
export const usageError = (message: string, hint?: string) => new CliError(message, hint, EXIT.usage);
