/**
 * Hashing keys for storage (docs/hashing-and-storage.md): `sha256:<hex>`, or `hmac-sha256:<version>:<hex>` with a
 * server-side pepper. The stored value names its scheme and pepper version, so peppers can rotate.
 *
 * @module
 */
import { ApiKeyError, checkOptionNames, invalidOption, isApiKeyError } from "../errors.js";
import { MAX_KEY_LENGTH } from "../format/key-format.js";
import { hmacSha256Digest, sha256Digest, type DigestEncoding } from "./digest.js";

/**
 * A pepper secret: a string (UTF-8) or bytes. Keep it out of the database (env var, secrets manager).
 *
 * @example
 * ```ts
 * import { hashApiKey, type PepperSecret } from "@fluenzr/api-keys";
 * const text: PepperSecret = process.env.API_KEY_PEPPER!;                        // a string: hashed as UTF-8
 * const bytes: PepperSecret = Buffer.from(process.env.API_KEY_PEPPER_B64!, "base64"); // bytes: copied when read
 * hashApiKey(key, { pepper: text });                            // "hmac-sha256:1:<64 hex>": a bare secret is version "1"
 * hashApiKey(key, { pepper: { version: "2", secret: bytes } }); // "hmac-sha256:2:<64 hex>"
 * ```
 */
export type PepperSecret = string | Uint8Array;

/**
 * A pepper with its version, so stored hashes say which pepper made them.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, createKeyManager, type Pepper } from "@fluenzr/api-keys";
 * const pepper: Pepper = { version: "1", secret: process.env.API_KEY_PEPPER! }; // not set: INVALID_OPTIONS naming pepper
 * const manager = createKeyManager({ store, accounts, pepper }); // stores "hmac-sha256:1:<64 hex>"
 * const auth = createApiKeyAuth({ store, accounts, pepper });    // the same pepper finds the key
 * ```
 */
export interface Pepper {
  /** 1 to 32 characters of `[A-Za-z0-9._-]`. A bare secret has version `"1"`. */
  readonly version: string;
  readonly secret: PepperSecret;
}

/**
 * The `pepper` option: a secret, a versioned pepper, or a list of versioned peppers with the
 * current one first and older ones after it (verification tries them in that order). In a list,
 * `null` after the first stands for "no pepper": keys hashed with plain SHA-256 before a pepper
 * was added are still accepted, until they are rotated and `null` is dropped.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, createKeyManager, type PepperOption } from "@fluenzr/api-keys";
 * const pepper: PepperOption = [
 *   { version: "2", secret: process.env.API_KEY_PEPPER_V2! }, // current: hashes new keys
 *   { version: "1", secret: process.env.API_KEY_PEPPER_V1! }, // older: still verified
 * ];
 * createKeyManager({ store, accounts, pepper });
 * createApiKeyAuth({ store, accounts, pepper });
 * // Adding a pepper to a service whose keys have none yet: new keys get it, old ones still pass.
 * createApiKeyAuth({ store, accounts, pepper: [{ version: "1", secret: process.env.API_KEY_PEPPER! }, null] });
 * ```
 */
export type PepperOption = PepperSecret | Pepper | readonly (Pepper | null)[];

/**
 * Options of {@link hashApiKey}.
 *
 * @example
 * ```ts
 * import { hashApiKey, type HashApiKeyOptions } from "@fluenzr/api-keys";
 * const options: HashApiKeyOptions = { pepper: { version: "2", secret: process.env.API_KEY_PEPPER_V2! } };
 * hashApiKey(key, options);                       // "hmac-sha256:2:<64 hex>"
 * hashApiKey(key, { pepper: [current, older] });  // hashed with the first (current) one only
 * hashApiKey(key, {});                            // "sha256:<64 hex>": no pepper
 * ```
 */
export interface HashApiKeyOptions {
  /** A secret or a versioned pepper; with a list, the first (current) one is used. */
  pepper?: PepperOption | undefined;
}

const VERSION = /^[A-Za-z0-9._-]{1,32}$/;

/**
 * Validate and normalise the pepper option into a list, current first; `undefined` in it (from a
 * `null` entry, never the first) is plain SHA-256. @internal
 */
export function normalizePeppers(option: PepperOption | undefined, name = "pepper"): readonly (Pepper | undefined)[] {
  try {
    return peppersOf(option, name);
  } catch (error) {
    // A getter or Proxy in the option that throws: refused naming the option, not a raw TypeError.
    if (isApiKeyError(error)) throw error;
    return invalidOption(name, "could not be read (a getter or Proxy trap threw)", error);
  }
}

function peppersOf(option: PepperOption | undefined, name: string): readonly (Pepper | undefined)[] {
  if (option === undefined) return [];
  // Array.from visits holes: a sparse list's empty slot is refused, not skipped (map skips it, and
  // an empty first slot would then hash with no pepper at all).
  const list: unknown[] = typeof option === "string" || option instanceof Uint8Array ? [{ version: "1", secret: option }] : Array.isArray(option) ? Array.from(option as unknown[]) : [option];
  if (list.length === 0) invalidOption(name, "an empty list; leave the option out for plain SHA-256");
  const seen = new Set<string>();
  let plain = false;
  return Object.freeze(
    list.map((p, index) => {
      if (p === null && Array.isArray(option)) {
        // "No pepper" as an older entry: keys stored before a pepper was added.
        if (index === 0) invalidOption(name, "null (no pepper) may only follow the current pepper: new keys are hashed with the first");
        if (plain) invalidOption(name, "null (no pepper) appears twice");
        plain = true;
        return undefined;
      }
      if (typeof p !== "object" || p === null || p instanceof Uint8Array || !("secret" in p))
        invalidOption(name, "expected a secret string, bytes (Uint8Array), or { version, secret }");
      // `{ version, secret, secert }`: a typo in a pepper is refused like one in any option (not named: it may be the secret).
      if (Object.keys(p).some((field) => field !== "version" && field !== "secret"))
        invalidOption(name, "a pepper object has only version and secret");
      const { version, secret } = p as { version?: unknown; secret?: unknown };
      if (typeof version !== "string" || !VERSION.test(version))
        invalidOption(name, "each version is 1 to 32 characters of [A-Za-z0-9._-]");
      if (seen.has(version)) invalidOption(name, `version "${version}" appears twice`);
      seen.add(version);
      if (!(typeof secret === "string" || secret instanceof Uint8Array) || secret.length === 0)
        invalidOption(name, "the secret must be a non-empty string or Uint8Array");
      // Bytes are copied: a caller that wipes or reuses its buffer after setup (good hygiene for a
      // secret) must not change the pepper keys are hashed and verified with.
      return Object.freeze({ version, secret: typeof secret === "string" ? secret : new Uint8Array(secret) });
    }),
  );
}

/** The scheme part of a stored hash, up to and including its last ":". @internal */
export function schemeOf(pepper: Pepper | undefined): string {
  return pepper === undefined ? "sha256:" : `hmac-sha256:${pepper.version}:`;
}

/**
 * The digest part of a hash, after the scheme: hex as stored, or `latin1` (one character per
 * byte) for the request path's in-memory lookups. @internal
 */
export function digestWith(key: string, pepper: Pepper | undefined, encoding: DigestEncoding = "hex"): string {
  return pepper === undefined ? sha256Digest(key, encoding) : hmacSha256Digest(pepper.secret, key, encoding);
}

/** Hash with one pepper (or none): scheme and hex digest, as stored. @internal */
export function hashWith(key: string, pepper: Pepper | undefined): string {
  return schemeOf(pepper) + digestWith(key, pepper);
}

const HASH_OPTION_NAMES: readonly string[] = ["pepper"];

/**
 * Hash a key for storage and lookup, synchronously. Without a pepper: `sha256:<64 hex>`; with one:
 * `hmac-sha256:<version>:<64 hex>`. Only this value is stored, never the key.
 *
 * @example
 * ```ts
 * import { generateApiKey, hashApiKey } from "@fluenzr/api-keys";
 * const { key } = generateApiKey();
 * hashApiKey(key);                                             // "sha256:<64 hex>"
 * const secret = process.env.API_KEY_PEPPER!;                  // check it is set: undefined means no pepper
 * hashApiKey(key, { pepper: { version: "1", secret } });       // "hmac-sha256:1:<64 hex>"
 * hashApiKey(key, { pepper: { version: "2024-06", secret } }); // "hmac-sha256:2024-06:<64 hex>"
 * ```
 */
export function hashApiKey(key: string, options: HashApiKeyOptions = {}): string {
  // A misspelt `pepper` must not silently give plain SHA-256 hashes.
  const o = checkOptionNames(options, HASH_OPTION_NAMES, "hashApiKey") as HashApiKeyOptions;
  if (typeof key !== "string") throw new ApiKeyError("INVALID_INPUT", "hashApiKey expects the key as a string");
  if (key.length > MAX_KEY_LENGTH)
    throw new ApiKeyError("INVALID_INPUT", `hashApiKey refuses input over ${MAX_KEY_LENGTH} characters`);
  return hashWith(key, normalizePeppers(o.pepper)[0]);
}
