/**
 * `fluenzr-keys hash`: the stored hash of a key read from stdin (never from an argument).
 *
 * @module
 */
import { hashApiKey, parseApiKey } from "../../index.js";
import type { CliCommand } from "../command.js";
import { FORMAT_FLAGS, formatFromFlags } from "../format-flags.js";
import { readKeyFromStdin } from "../io.js";
import { PEPPER_FLAGS, pepperFromEnv } from "../pepper-from-env.js";
import { UsageError } from "../usage-error.js";
import { explainFailure } from "./check.js";

/** `hash [--pepper-env NAME [--pepper-version V]] < key`. */
export const hashCommand: CliCommand = {
  name: "hash",
  summary: "Print the hash to store for a key read from stdin.",
  usage: ["fluenzr-keys hash [--pepper-env NAME [--pepper-version V]] < key.txt"],
  flags: [...PEPPER_FLAGS, ...FORMAT_FLAGS],
  details: `The key is read from stdin only: a key given as an argument would be kept in your shell
history and be visible to other users in the process list, so it is refused.
The input must be a valid key (format and checksum), so a typo is caught before it is stored.

Output: sha256:<hex>, or hmac-sha256:<version>:<hex> with --pepper-env.
Exit codes: 0 hashed, 1 not a valid key, 2 usage error (argument given, pepper variable unset).

Examples:
  printf %s "$API_KEY" | fluenzr-keys hash
  fluenzr-keys hash --pepper-env API_KEY_PEPPER --pepper-version 2024-06 < key.txt`,
  async run(args, io) {
    if (args.positionals.some((p) => p !== "-")) {
      throw new UsageError(
        "hash reads the key from stdin only: an argument is kept in shell history and shown in the process list. " +
          "Pipe it instead: printf %s \"$API_KEY\" | fluenzr-keys hash",
        "hash",
      );
    }
    const pepper = pepperFromEnv(args, io, "hash");
    const format = formatFromFlags(args, "hash");
    const key = await readKeyFromStdin(io, "hash");
    const parsed = parseApiKey(key, { format });
    if (!parsed.ok) {
      io.err(`fluenzr-keys hash: not a valid key (${parsed.reason}): ${explainFailure(parsed.reason, format)}\n`);
      return 1;
    }
    io.out(`${hashApiKey(key, { pepper })}\n`);
    return 0;
  },
};
