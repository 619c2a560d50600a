/**
 * @module
 */
import { checkOptionNames, invalidOption } from "../errors.js";
import { base62Value, CHECKSUM_LENGTH, crc32Final, crcTable } from "./checksum.js";
import { BODY_LENGTH, getDefaultKeyFormat, hintOf, isKeyFormat, MAX_KEY_LENGTH, type KeyFormat } from "./key-format.js";

/** Why a string is not a key of the format. Never carries the input. */
export type ParseApiKeyFailure =
  | "not_a_string"
  | "empty"
  | "too_long"
  | "prefix"
  | "environment"
  | "length"
  | "charset"
  | "checksum";

/** What {@link parseApiKey} returns. */
export type ParseApiKeyResult =
  | {
      readonly ok: true;
      /** The environment tag, or `null`. */
      readonly environment: string | null;
      /** Display hint, e.g. `flz_sk_prod_…Xy4z`. */
      readonly hint: string;
    }
  | { readonly ok: false; readonly reason: ParseApiKeyFailure };

/** Options of {@link parseApiKey}. */
export interface ParseApiKeyOptions {
  /** The key format. Default: {@link getDefaultKeyFormat}. */
  format?: KeyFormat | undefined;
}

const failures = new Map<ParseApiKeyFailure, ParseApiKeyResult>();
function fail(reason: ParseApiKeyFailure): ParseApiKeyResult {
  let r = failures.get(reason);
  if (r === undefined) failures.set(reason, (r = Object.freeze({ ok: false as const, reason })));
  return r;
}

/** `[A-Za-z0-9]` by char code below 128 (no regex flags can widen it): one load per character. */
const ALNUM: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 48; c <= 57; c++) t[c] = 1;
  for (let c = 65; c <= 90; c++) t[c] = 1;
  for (let c = 97; c <= 122; c++) t[c] = 1;
  return t;
})();

/** {@link checkApiKey}'s answer for a key without an environment tag. @internal */
export const UNTAGGED = -1;
const FAILURE_CODES: readonly ParseApiKeyFailure[] = ["not_a_string", "empty", "too_long", "prefix", "environment", "length", "charset", "checksum"];

/** The reason for a negative {@link checkApiKey} answer below {@link UNTAGGED}. @internal */
export function failureOf(code: number): ParseApiKeyFailure {
  return FAILURE_CODES[-code - 2] as ParseApiKeyFailure;
}

const fails = (reason: ParseApiKeyFailure): number => -2 - FAILURE_CODES.indexOf(reason);
const NOT_A_STRING = fails("not_a_string");
const EMPTY = fails("empty");
const TOO_LONG = fails("too_long");
const PREFIX = fails("prefix");
const ENVIRONMENT = fails("environment");
const LENGTH = fails("length");
const CHARSET = fails("charset");
const CHECKSUM = fails("checksum");

/**
 * The parser without allocations, for the request path: the index of the key's environment in
 * `format.environments`, {@link UNTAGGED}, or a failure code below that (see {@link failureOf}).
 * The key is `input` from `start` to its end, read in place (the request path passes the whole
 * Authorization line and where the token starts).
 * @internal
 */
export function checkApiKey(input: unknown, format: KeyFormat, start = 0): number {
  if (typeof input !== "string") return NOT_A_STRING;
  const length = input.length;
  if (length - start > MAX_KEY_LENGTH) return TOO_LONG;
  if (length === start) return EMPTY;
  const head = format.head;
  if (!input.startsWith(head, start)) return PREFIX;
  let environment = UNTAGGED;
  let bodyStart = start + head.length;
  const sep = input.indexOf("_", bodyStart);
  if (sep !== -1) {
    // The tag is compared in place, without cutting it out of the key.
    const tagLength = sep - bodyStart;
    const environments = format.environments;
    for (let e = 0; e < environments.length; e++) {
      const tag = environments[e] as string;
      if (tag.length === tagLength && input.startsWith(tag, bodyStart)) {
        environment = e;
        break;
      }
    }
    if (environment === UNTAGGED) return ENVIRONMENT;
    bodyStart = sep + 1;
  }
  if (length - bodyStart !== BODY_LENGTH) return LENGTH;
  if (!format.checksum) {
    for (let i = bodyStart; i < length; i++) {
      const c = input.charCodeAt(i);
      if (c >= 128 || ALNUM[c] !== 1) return CHARSET;
    }
    return environment;
  }
  // One pass over the body: every character alphanumeric, and the CRC continued from the state
  // the format precomputed for its head and environment (the CRC covers everything before the
  // last 6 characters), then the last 6 read back as a number.
  const split = length - CHECKSUM_LENGTH;
  const table = crcTable();
  let crc = format.crcStateList[environment + 1] as number;
  for (let i = bodyStart; i < split; i++) {
    const c = input.charCodeAt(i);
    if (c >= 128 || ALNUM[c] !== 1) return CHARSET;
    crc = (table[(crc ^ c) & 0xff] as number) ^ (crc >>> 8);
  }
  const digits = base62Value(input, split);
  if (digits < 0) return CHARSET;
  return digits === crc32Final(crc) ? environment : CHECKSUM;
}

const PARSE_OPTION_NAMES: readonly string[] = ["format"];

/**
 * Check that a string is a key of the format: exact prefix (case-sensitive), a known environment
 * tag or none, a 32-character ASCII alphanumeric body and a matching checksum. Inputs over 256
 * characters are refused before anything else. A failure gives a reason, never the input.
 *
 * @example
 * ```ts
 * import { parseApiKey } from "@fluenzr/api-keys";
 * parseApiKey("flz_sk_prod_0123456789abcdefghijklmnopqrstuv");
 * // { ok: false, reason: "checksum" }
 * ```
 */
export function parseApiKey(input: string, options: ParseApiKeyOptions = {}): ParseApiKeyResult {
  // The options are the caller's configuration, not the input: a bad one throws (naming it),
  // rather than every key failing as "prefix" against a format that is not one.
  // Only an absent format means the default: `null` is a format defineKeyFormat() did not build.
  const given = (checkOptionNames(options, PARSE_OPTION_NAMES, "parseApiKey") as ParseApiKeyOptions).format;
  const format = given === undefined ? getDefaultKeyFormat() : given;
  if (!isKeyFormat(format)) invalidOption("format", "use defineKeyFormat() to build one");
  const code = checkApiKey(input, format);
  if (code < UNTAGGED) return fail(failureOf(code));
  const environment = code === UNTAGGED ? null : (format.environments[code] as string);
  return { ok: true, environment, hint: hintOf(format, environment, input) };
}
