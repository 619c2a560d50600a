/**
 * A mistake in how the command was called (unknown command, bad flag, missing input): exit 2.
 *
 * @module
 */

/** Exit code for usage errors, distinct from 1 ("a key was found" / "not a valid key"). */
export const USAGE_EXIT_CODE = 2;

/**
 * Thrown for a bad command line; `main` prints the message and the help hint, and exits 2.
 *
 * @example
 * ```ts
 * throw new UsageError('unknown option "--fast" for "scan"', "scan");
 * ```
 */
export class UsageError extends Error {
  /** The command whose `--help` the message points to, if any. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}
