/**
 * A failure the CLI explains in one line and ends on, without a stack: the user asked for
 * something that cannot be done (exit 2) or the journal could not be read (exit 1). Anything
 * else is a bug and keeps its stack.
 */
export class CliError extends Error {
  override name = 'CliError';

  constructor(
    message: string,
    /** 2: wrong usage (a malformed connection URL included) or nothing at the path given; 1: the journal is there but cannot be read. */
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/** The command line itself is wrong: the message is followed by the usage text. */
export class UsageError extends CliError {
  override name = 'UsageError';

  constructor(message: string) {
    super(message, 2);
  }
}
