/**
 * `--prefix`, `--type`, `--environments`, `--no-checksum`: the key format of a service that
 * uses `defineKeyFormat(...)` instead of the default `flz_sk_[prod_|stag_|dev_]`.
 *
 * @module
 */
import { defineKeyFormat, getDefaultKeyFormat, isApiKeyError, type KeyFormat, type KeyFormatOptions } from "../index.js";
import type { FlagSpec, ParsedArgs } from "./args.js";
import { UsageError } from "./usage-error.js";

/** The format flags shared by every command. */
export const FORMAT_FLAGS: readonly FlagSpec[] = [
  { name: "prefix", value: true, placeholder: "P", description: 'vendor prefix of the key format (default "flz")' },
  { name: "type", value: true, placeholder: "T", description: 'key type of the key format (default "sk")' },
  {
    name: "environments",
    value: true,
    placeholder: "A,B",
    description: 'allowed environment tags, comma-separated, "-" for none (default "prod,stag,dev")',
  },
  { name: "no-checksum", description: "keys of a format without checksum (defineKeyFormat({ checksum: false }))" },
];

// defineKeyFormat names the option it refused; the user typed the flag.
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  prefix: "--prefix",
  type: "--type",
  environments: "--environments",
  checksum: "--no-checksum",
};

/**
 * The format the flags describe: the default one when none is given, else `defineKeyFormat` of
 * them (its refusal becomes a usage error naming the flag).
 *
 * @example
 * ```ts
 * formatFromFlags(parseArgs(["--prefix", "acme"], FORMAT_FLAGS, "scan"), "scan").head; // "acme_sk_"
 * ```
 */
export function formatFromFlags(args: ParsedArgs, command: string): KeyFormat {
  const prefix = args.values.get("prefix");
  const type = args.values.get("type");
  const environments = args.values.get("environments");
  const noChecksum = args.switches.has("no-checksum");
  if (prefix === undefined && type === undefined && environments === undefined && !noChecksum) return getDefaultKeyFormat();
  const options: KeyFormatOptions = {};
  if (prefix !== undefined) options.prefix = prefix;
  if (type !== undefined) options.type = type;
  if (environments !== undefined) options.environments = environments === "-" ? [] : environments.split(",");
  if (noChecksum) options.checksum = false;
  try {
    return defineKeyFormat(options);
  } catch (error) {
    if (!isApiKeyError(error)) throw error;
    const flag = FLAG_OF_OPTION[error.field ?? ""] ?? "the format options";
    const problem = error.message.replace(/^Invalid option "[^"]*": /, "");
    throw new UsageError(`option "${flag}" is not valid: ${problem}`, command);
  }
}
