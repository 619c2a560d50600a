/**
 * `fluenzr-keys check`: is this string a well-formed key (format and checksum)? Never echoes it.
 *
 * @module
 */
import { getDefaultKeyFormat, parseApiKey, type KeyFormat, type ParseApiKeyFailure } from "../../index.js";
import type { CliCommand } from "../command.js";
import { FORMAT_FLAGS, formatFromFlags } from "../format-flags.js";
import { readKeyFromStdin } from "../io.js";
import { UsageError } from "../usage-error.js";

/** A sentence per parser reason, for people (the reason code stays in `--json`). */
export function explainFailure(reason: ParseApiKeyFailure, format: KeyFormat = getDefaultKeyFormat()): string {
  switch (reason) {
    case "not_a_string":
    case "empty":
      return "the input is empty";
    case "too_long":
      return "the input is longer than 256 characters";
    case "prefix":
      return `it does not start with "${format.head}" (the prefix is case-sensitive)`;
    case "environment":
      return format.environments.length > 0
        ? `the environment tag is not one of ${format.environments.join(", ")}`
        : "it has an environment tag, and the format has none";
    case "length":
      return "the part after the prefix is not exactly 32 characters (truncated, or extra characters?)";
    case "charset":
      return "it has characters outside A-Z, a-z, 0-9 after the prefix (spaces, quotes, look-alike letters?)";
    case "checksum":
      return "the last 6 characters are not the checksum of the rest (a typo, or not a key of this format)";
  }
}

/** `check [<key> | -] [--json]`. */
export const checkCommand: CliCommand = {
  name: "check",
  summary: "Check that a string is a well-formed key (prefix, environment, length, checksum).",
  usage: ["fluenzr-keys check [--json] < key.txt", "fluenzr-keys check [--json] <key>"],
  flags: [{ name: "json", description: 'print {"valid", "reason" | "hint", "environment"} as JSON' }, ...FORMAT_FLAGS],
  details: `Reads the key from stdin when no argument (or "-") is given; prefer stdin, as arguments
are kept in shell history. This checks the format only, not whether a store knows the key.
The key is never printed: a valid one is shown by its hint (prefix and last 4 characters).

Exit codes: 0 valid, 1 not a valid key, 2 usage error.

Examples:
  printf %s "$API_KEY" | fluenzr-keys check
  fluenzr-keys check --json < key.txt`,
  async run(args, io) {
    if (args.positionals.length > 1) throw new UsageError("check takes one key (or none, to read stdin)", "check");
    const given = args.positionals[0];
    const format = formatFromFlags(args, "check");
    const input = given === undefined || given === "-" ? await readKeyFromStdin(io, "check") : given;
    const parsed = parseApiKey(input, { format });
    const json = args.switches.has("json");
    if (parsed.ok) {
      if (json) io.out(`${JSON.stringify({ valid: true, hint: parsed.hint, environment: parsed.environment })}\n`);
      else io.out(`valid: ${parsed.hint} (environment: ${parsed.environment ?? "none"})\n`);
      return 0;
    }
    const message = explainFailure(parsed.reason, format);
    if (json) io.out(`${JSON.stringify({ valid: false, reason: parsed.reason, message })}\n`);
    else io.out(`invalid (${parsed.reason}): ${message}\n`);
    return 1;
  },
};
