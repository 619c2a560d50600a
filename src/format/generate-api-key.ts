/**
 * @module
 */
import { invalidOption } from "../errors.js";
import { poolFor, type RandomSource } from "../lib/random.js";
import { base62Checksum, CHECKSUM_LENGTH, crc32Final, crc32UpdateCode } from "./checksum.js";
import { BODY_LENGTH, getDefaultKeyFormat, hintOf, isKeyFormat, type KeyFormat } from "./key-format.js";

let scratch: Uint8Array | undefined;

/** Options of {@link generateApiKey}. */
export interface GenerateApiKeyOptions {
  /** An environment tag of the format's set; omitted: no tag. */
  environment?: string | undefined;
  /** The key format. Default: {@link getDefaultKeyFormat}. */
  format?: KeyFormat | undefined;
  /** Random bytes; default `crypto.getRandomValues`. Inject a seeded source in tests only. */
  random?: RandomSource | undefined;
}

/** A freshly generated key. `key` is the only copy of the plaintext: show it once, store its hash. */
export interface GeneratedApiKey {
  /** The plaintext key. */
  readonly key: string;
  /** Display hint, e.g. `flz_sk_prod_…Xy4z`. */
  readonly hint: string;
  /** The environment tag, or `null`. */
  readonly environment: string | null;
}

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
  const format = options.format ?? getDefaultKeyFormat();
  if (!isKeyFormat(format)) invalidOption("format", "use defineKeyFormat() to build one");
  const environment = options.environment ?? null;
  const state = format.crcStates.get(environment);
  if (state === undefined || (environment !== null && !format.environments.includes(environment)))
    invalidOption("environment", `expected one of ${format.environments.join(", ") || "(none)"}`);
  const pool = poolFor(options.random);
  const head = environment === null ? format.head : `${format.head}${environment}_`;
  const randomLength = format.checksum ? BODY_LENGTH - CHECKSUM_LENGTH : BODY_LENGTH;
  const codes = scratch ?? (scratch = new Uint8Array(BODY_LENGTH));
  pool.symbols(codes, randomLength);
  let crc = state;
  for (let i = 0; i < randomLength; i++) crc = crc32UpdateCode(crc, codes[i] as number);
  const body = String.fromCharCode.apply(null, codes.subarray(0, randomLength) as unknown as number[]);
  const key = format.checksum ? head + body + base62Checksum(crc32Final(crc)) : head + body;
  return { key, hint: hintOf(format, environment, key), environment };
}
