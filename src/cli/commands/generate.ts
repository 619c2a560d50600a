/**
 * `fluenzr-keys generate`: a new key, its hint and the hash to store.
 *
 * @module
 */
import { generateApiKey, hashApiKey } from "../../index.js";
import type { CliCommand } from "../command.js";
import { FORMAT_FLAGS, formatFromFlags } from "../format-flags.js";
import { PEPPER_FLAGS, pepperFromEnv } from "../pepper-from-env.js";
import { quoteArgument } from "../redact.js";
import { UsageError } from "../usage-error.js";

/** `generate [--env prod|stag|dev] [--json] [--pepper-env NAME]`. */
export const generateCommand: CliCommand = {
  name: "generate",
  summary: "Generate a new API key and the hash to store for it.",
  usage: ["fluenzr-keys generate [--env prod|stag|dev] [--json] [--pepper-env NAME [--pepper-version V]]"],
  flags: [
    { name: "env", value: true, placeholder: "prod|stag|dev", description: "environment tag in the key (default: none)" },
    { name: "json", description: "print one JSON object: key, hint, environment, hash" },
    ...PEPPER_FLAGS,
    ...FORMAT_FLAGS,
  ],
  details: `The key is printed once: hand it to its owner and store only the hash (and the hint).
With --pepper-env the hash is HMAC-SHA-256 with the pepper from that environment variable,
as createApiKeyAuth({ pepper }) computes it.

Examples:
  fluenzr-keys generate --env prod
  fluenzr-keys generate --prefix acme --environments live,test --env live
  API_KEY_PEPPER=... fluenzr-keys generate --env dev --json --pepper-env API_KEY_PEPPER`,
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError("generate takes no arguments", "generate");
    const format = formatFromFlags(args, "generate");
    const env = args.values.get("env");
    if (env !== undefined && !format.environments.includes(env)) {
      const allowed = format.environments.length > 0 ? `one of ${format.environments.join(", ")}` : "left out (the format has no environments)";
      throw new UsageError(`option "--env" must be ${allowed}; got ${quoteArgument(env)}`, "generate");
    }
    const pepper = pepperFromEnv(args, io, "generate");
    const { key, hint, environment } = generateApiKey({ environment: env, format });
    const hash = hashApiKey(key, { pepper });
    if (args.switches.has("json")) io.out(`${JSON.stringify({ key, hint, environment, hash })}\n`);
    else io.out(`key:  ${key}\nhint: ${hint}\nhash: ${hash}\n`);
    return 0;
  },
};
