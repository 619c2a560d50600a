/**
 * @module
 */
import { checkOptionNames, invalidOption } from "../errors.js";
import { isRandomSource, poolFor, type RandomSource } from "../lib/random.js";
import { base62Checksum, CHECKSUM_LENGTH, crc32Final, crc32UpdateCode } from "./checksum.js";
import { BODY_LENGTH, getDefaultKeyFormat, hintOf, isKeyFormat, type KeyFormat } from "./key-format.js";

/**
 * Options of {@link generateApiKey}.
 *
 * @example
 * ```ts
 * import { defineKeyFormat, generateApiKey, type GenerateApiKeyOptions } from "@fluenzr/api-keys";
 * const format = defineKeyFormat({ prefix: "acme", environments: ["live", "test"] });
 * const options: GenerateApiKeyOptions = { format, environment: "test" };
 * generateApiKey(options).key; // "acme_sk_test_…"
 * generateApiKey({}).key;      // "flz_sk_…": the default format, no environment tag
 * ```
 */
export interface GenerateApiKeyOptions {
  /** An environment tag of the format's set; omitted: no tag. */
  environment?: string | undefined;
  /** The key format. Default: {@link getDefaultKeyFormat}. */
  format?: KeyFormat | undefined;
  /** Random bytes; default `crypto.getRandomValues`. Inject a seeded source in tests only. */
  random?: RandomSource | undefined;
}

/**
 * A freshly generated key. `key` is the only copy of the plaintext: show it once, store its hash.
 *
 * @example
 * ```ts
 * import { generateApiKey, hashApiKey, type GeneratedApiKey } from "@fluenzr/api-keys";
 * const generated: GeneratedApiKey = generateApiKey({ environment: "prod" });
 * generated.key;         // "flz_sk_prod_…": the only copy, show it once
 * generated.hint;        // "flz_sk_prod_…Xy4z": safe in key lists and logs
 * generated.environment; // "prod"
 * const hash = hashApiKey(generated.key); // "sha256:<64 hex>": store this, never the key
 * ```
 */
export interface GeneratedApiKey {
  /** The plaintext key. */
  readonly key: string;
  /** Display hint, e.g. `flz_sk_prod_…Xy4z`. */
  readonly hint: string;
  /** The environment tag, or `null`. */
  readonly environment: string | null;
}

const OPTION_NAMES: readonly string[] = ["environment", "format", "random"];

/**
 * Generate a key with the platform CSPRNG, uniform over `[A-Za-z0-9]` (no modulo bias), with a
 * CRC-32 checksum in the last 6 characters unless the format says `checksum: false`.
 *
 * @example
 * ```ts
 * import { generateApiKey, hashApiKey } from "@fluenzr/api-keys";
 * const { key, hint } = generateApiKey({ environment: "prod" });
 * // key: "flz_sk_prod_…" (show once), hint: "flz_sk_prod_…AbC1"; store hashApiKey(key) only
 * ```
 */
export function generateApiKey(options: GenerateApiKeyOptions = {}): GeneratedApiKey {
  const o = checkOptionNames(options, OPTION_NAMES, "generateApiKey") as GenerateApiKeyOptions;
  // Only an absent format means the default: `null` is a format defineKeyFormat() did not build.
  const format = o.format === undefined ? getDefaultKeyFormat() : o.format;
  if (!isKeyFormat(format)) invalidOption("format", "use defineKeyFormat() to build one");
  if (o.random !== undefined && !isRandomSource(o.random))
    invalidOption("random", "expected a function that fills a Uint8Array, or { getRandomValues }");
  const environment = o.environment ?? null;
  const state = format.crcStates.get(environment);
  if (state === undefined || (environment !== null && !format.environments.includes(environment)))
    invalidOption("environment", `expected one of ${format.environments.join(", ") || "(none)"}`);
  // The whole key is written as char codes into one array and made a string in one call: a flat
  // string, cheaper than concatenation and cheaper to hash and compare later.
  const codes = templateFor(format, environment);
  const bodyStart = codes.length - BODY_LENGTH;
  const randomLength = format.checksum ? BODY_LENGTH - CHECKSUM_LENGTH : BODY_LENGTH;
  poolFor(o.random).symbols(codes, bodyStart, randomLength);
  if (format.checksum) {
    let crc = state;
    for (let i = bodyStart; i < bodyStart + randomLength; i++) crc = crc32UpdateCode(crc, codes[i] as number);
    const digits = base62Checksum(crc32Final(crc));
    for (let i = 0; i < CHECKSUM_LENGTH; i++) codes[codes.length - CHECKSUM_LENGTH + i] = digits.charCodeAt(i);
  }
  const key = String.fromCharCode.apply(null, codes);
  // The array is reused for the next key: wipe the body, so the library keeps no copy of this one.
  codes.fill(0, bodyStart);
  return { key, hint: hintOf(format, environment, key), environment };
}

const templates = new WeakMap<KeyFormat, Map<string | null, number[]>>();

/** A reusable array of the key's length, starting with the char codes of its head. */
function templateFor(format: KeyFormat, environment: string | null): number[] {
  let byEnv = templates.get(format);
  if (byEnv === undefined) templates.set(format, (byEnv = new Map()));
  let codes = byEnv.get(environment);
  if (codes === undefined) {
    const head = environment === null ? format.head : `${format.head}${environment}_`;
    codes = Array.from({ length: head.length + BODY_LENGTH }, (_, i) => (i < head.length ? head.charCodeAt(i) : 0));
    byEnv.set(environment, codes);
  }
  return codes;
}
