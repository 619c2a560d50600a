/**
 * `--pepper-env NAME` and `--pepper-version V`: the pepper comes from an environment variable,
 * never from an argument (arguments land in shell history and `ps`).
 *
 * @module
 */
import type { Pepper } from "../index.js";
import type { FlagSpec, ParsedArgs } from "./args.js";
import type { CliIo } from "./io.js";
import { quoteArgument } from "./redact.js";
import { UsageError } from "./usage-error.js";

/** The pepper flags shared by `generate` and `hash`. */
export const PEPPER_FLAGS: readonly FlagSpec[] = [
  {
    name: "pepper-env",
    value: true,
    placeholder: "NAME",
    description: "HMAC-SHA-256 with the pepper in environment variable NAME (default: plain SHA-256)",
  },
  {
    name: "pepper-version",
    value: true,
    placeholder: "V",
    description: 'version recorded in the hash, 1 to 32 of [A-Za-z0-9._-] (default "1")',
  },
];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * The pepper the flags ask for, or `undefined` for plain SHA-256.
 *
 * @example
 * ```ts
 * pepperFromEnv(args, io, "hash"); // { version: "1", secret: process.env.API_KEY_PEPPER }
 * ```
 */
export function pepperFromEnv(args: ParsedArgs, io: CliIo, command: string): Pepper | undefined {
  const name = args.values.get("pepper-env");
  const version = args.values.get("pepper-version");
  if (name === undefined) {
    if (version !== undefined) throw new UsageError('option "--pepper-version" needs "--pepper-env"', command);
    return undefined;
  }
  // A value that is no variable name is most likely the pepper itself, pasted in by mistake:
  // it is refused without being repeated (messages end up in CI logs).
  if (!ENV_NAME.test(name)) {
    throw new UsageError(
      'option "--pepper-env" takes the NAME of an environment variable (letters, digits and _), not the pepper itself',
      command,
    );
  }
  const secret = io.env[name];
  if (secret === undefined || secret === "") {
    // Named only when it reads like a variable name by convention (upper case): a pepper of
    // letters and digits pasted by mistake passes the check above, and must not be repeated.
    const shown = /^[A-Z][A-Z0-9_]{0,63}$/.test(name) ? quoteArgument(name) : "named by it";
    throw new UsageError(`environment variable ${shown} (from "--pepper-env") is not set or empty`, command);
  }
  const v = version ?? "1";
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(v)) {
    throw new UsageError('option "--pepper-version" must be 1 to 32 characters of [A-Za-z0-9._-]', command);
  }
  return { version: v, secret };
}
