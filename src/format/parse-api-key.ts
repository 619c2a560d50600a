/**
 * @module
 */
import { checkOptionNames, invalidOption } from "../errors.js";
import { CHECKSUM_LENGTH, crc32Final, crcTable } from "./checksum.js";
import { ALPHABET as BASE62_ALPHABET } from "../lib/random.js";
import { BODY_LENGTH, getDefaultKeyFormat, hintOf, isKeyFormat, MAX_KEY_LENGTH, type KeyFormat } from "./key-format.js";

/**
 * Why a string is not a key of the format. Never carries the input.
 *
 * @example
 * ```ts
 * import { parseApiKey, type ParseApiKeyFailure } from "@fluenzr/api-keys";
 * const advice: Partial<Record<ParseApiKeyFailure, string>> = {
 *   length: "The key looks cut short: copy all of it",
 *   checksum: "The key has a typo: copy it again",
 * };
 * const parsed = parseApiKey("flz_sk_oops");
 * if (!parsed.ok) console.error(advice[parsed.reason] ?? `Not an API key (${parsed.reason})`); // parsed.reason: "length"
 * ```
 */
export type ParseApiKeyFailure =
  | "not_a_string"
  | "empty"
  | "too_long"
  | "prefix"
  | "environment"
  | "length"
  | "charset"
  | "checksum";

/**
 * What {@link parseApiKey} returns.
 *
 * @example
 * ```ts
 * import { parseApiKey, type ParseApiKeyResult } from "@fluenzr/api-keys";
 * const result: ParseApiKeyResult = parseApiKey(input);
 * if (result.ok) console.log(result.environment, result.hint); // "prod" "flz_sk_prod_…Xy4z"
 * else console.log(result.reason);                              // "checksum" for a typo
 * ```
 */
export type ParseApiKeyResult =
  | {
      readonly ok: true;
      /** The environment tag, or `null`. */
      readonly environment: string | null;
      /** Display hint, e.g. `flz_sk_prod_…Xy4z`. */
      readonly hint: string;
    }
  | { readonly ok: false; readonly reason: ParseApiKeyFailure };

/**
 * Options of {@link parseApiKey}.
 *
 * @example
 * ```ts
 * import { defineKeyFormat, generateApiKey, parseApiKey, type ParseApiKeyOptions } from "@fluenzr/api-keys";
 * const format = defineKeyFormat({ prefix: "acme", environments: ["live", "test"] });
 * const options: ParseApiKeyOptions = { format };
 * parseApiKey(generateApiKey({ format, environment: "live" }).key, options); // { ok: true, environment: "live", hint: "acme_sk_live_…" }
 * parseApiKey(generateApiKey().key, options); // { ok: false, reason: "prefix" } (a flz_sk_ key)
 * ```
 */
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
 * Per character code below 256: 0 for `[A-Za-z0-9]`, 1 for anything else. Read with the code
 * masked to 8 bits; a code of 256 or more is caught apart (`code >> 8`).
 */
const NOT_ALNUM: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(1);
  for (let c = 48; c <= 57; c++) t[c] = 0;
  for (let c = 65; c <= 90; c++) t[c] = 0;
  for (let c = 97; c <= 122; c++) t[c] = 0;
  return t;
})();

/** Value of each base62 digit by char code below 256; a large negative number for anything else. */
const DIGIT_VALUES: Int32Array = (() => {
  const t = new Int32Array(256).fill(-(2 ** 30));
  for (let i = 0; i < 62; i++) t[BASE62_ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/**
 * The key check of one format, as {@link checkApiKey} answers it: the index of the key's
 * environment in `format.environments`, {@link UNTAGGED}, or a failure code below that (see
 * {@link failureOf}). The key is `input` from `start` to its end, read in place (the request path
 * passes the whole Authorization line and where the token starts). Nothing is allocated.
 * @internal
 */
export type KeyCheck = (input: string, start: number) => number;

/**
 * Build the check of `format` once: its head and tags as character codes, its CRC states at
 * hand. The request path reads every character exactly once, with one branch at the end for
 * the character set (a bad character anywhere is "charset", as if found first).
 * @internal
 */
export function keyCheckOf(format: KeyFormat): KeyCheck {
  const headCodes = Array.from(format.head, (c) => c.charCodeAt(0));
  const headLength = headCodes.length;
  const tags = format.environments.map((tag) => Array.from(tag, (c) => c.charCodeAt(0)));
  const states = format.crcStateList.slice();
  const checksum = format.checksum;
  return (input, start) => {
    const length = input.length;
    if (length - start > MAX_KEY_LENGTH) return TOO_LONG;
    if (length === start) return EMPTY;
    if (length - start < headLength) return PREFIX;
    for (let i = 0; i < headLength; i++) if (input.charCodeAt(start + i) !== headCodes[i]) return PREFIX;
    let bodyStart = start + headLength;
    let environment = UNTAGGED;
    let sep = -1;
    for (let i = bodyStart; i < length; i++) {
      if (input.charCodeAt(i) === 95 /* "_" */) {
        sep = i;
        break;
      }
    }
    if (sep !== -1) {
      // The tag is compared in place, without cutting it out of the key.
      const tagLength = sep - bodyStart;
      next: for (let e = 0; e < tags.length; e++) {
        const tag = tags[e] as number[];
        if (tag.length !== tagLength) continue;
        for (let j = 0; j < tagLength; j++) if (input.charCodeAt(bodyStart + j) !== tag[j]) continue next;
        environment = e;
        break;
      }
      if (environment === UNTAGGED) return ENVIRONMENT;
      bodyStart = sep + 1;
    }
    if (length - bodyStart !== BODY_LENGTH) return LENGTH;
    let bad = 0;
    if (!checksum) {
      for (let i = bodyStart; i < length; i++) {
        const c = input.charCodeAt(i);
        bad |= (NOT_ALNUM[c & 0xff] as number) | (c >> 8);
      }
      return bad === 0 ? environment : CHARSET;
    }
    // One pass over the body: the CRC continued from the state the format precomputed for its
    // head and environment (it covers everything before the last 6 characters), then the last 6
    // read back as a number. A character that is no base62 digit makes the number negative.
    const body = checksummedBody(input, bodyStart, states[environment + 1] as number);
    return body === 0 ? environment : body;
  };
}

/**
 * The 32-character body at `text[at]` checked against the CRC state its head (and tag) left:
 * 0 if it is one, {@link CHARSET} for a character that is not alphanumeric, {@link CHECKSUM} if
 * its last 6 characters do not spell the CRC of what comes before. One pass: every character is
 * read once, and the character set is checked without a branch per character.
 */
function checksummedBody(text: string, at: number, state: number): number {
  const table = crcTable();
  const split = at + BODY_LENGTH - CHECKSUM_LENGTH;
  let bad = 0;
  let crc = state;
  for (let i = at; i < split; i++) {
    const c = text.charCodeAt(i);
    bad |= (NOT_ALNUM[c & 0xff] as number) | (c >> 8);
    crc = (table[(crc ^ c) & 0xff] as number) ^ (crc >>> 8);
  }
  // A character that is no base62 digit makes the number negative.
  let digits = 0;
  for (let i = split; i < at + BODY_LENGTH; i++) {
    const c = text.charCodeAt(i);
    const d = DIGIT_VALUES[c & 0xff] as number;
    bad |= (c >> 8) | (d >>> 31);
    digits = digits * 62 + d;
  }
  if (bad !== 0) return CHARSET;
  return digits === crc32Final(crc) ? 0 : CHECKSUM;
}

/**
 * Is `text[at .. at + 32)` the body of a key of `format` (32 alphanumerics whose last 6 are the
 * checksum of the head, one of the environment tags or none, and the first 26), wherever it stands
 * and whatever surrounds it? For finding keys whose head was mangled (escaped twice, say). Always
 * false for a format without checksum: 32 random characters cannot be told from other text.
 * @internal
 */
export function isKeyBodyAt(text: string, at: number, format: KeyFormat): boolean {
  if (!format.checksum || at < 0 || at + BODY_LENGTH > text.length) return false;
  // Under each environment's CRC state in turn; a bad character settles it at the first.
  for (const state of format.crcStateList) {
    const body = checksummedBody(text, at, state);
    if (body !== CHECKSUM) return body === 0;
  }
  return false;
}

const RANDOM_LENGTH = BODY_LENGTH - CHECKSUM_LENGTH;

/**
 * What flipping the letter case of the character at each position of the random part (0x20 in
 * that byte) does to the CRC: CRC-32 is linear in its input, so for inputs of one length
 * `crc(m ^ d) = crc(m) ^ crc₀(d)`, where `crc₀` starts from 0 and skips the final inversion, and
 * `d` is zero everywhere but 0x20 at that position. Built on first use.
 */
let caseFlips: Int32Array | undefined;
function caseFlipVectors(): Int32Array {
  if (caseFlips !== undefined) return caseFlips;
  const table = crcTable();
  const out = new Int32Array(RANDOM_LENGTH);
  for (let at = 0; at < RANDOM_LENGTH; at++) {
    let crc = 0;
    for (let i = at; i < RANDOM_LENGTH; i++) crc = (table[(crc ^ (i === at ? 0x20 : 0)) & 0xff] as number) ^ (crc >>> 8);
    out[at] = crc;
  }
  return (caseFlips = out);
}

const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;

/**
 * How many one-case windows one text may have solved ({@link isCaseFoldedKeyBodyAt}); past it,
 * such windows count as keys without solving, so a client's crafted text costs little. @internal
 */
export interface FoldedBodyBudget {
  solves: number;
}

/** One-case windows solved per event field before the rest count as keys unsolved. @internal */
export const FOLDED_BODY_SOLVES = 8;

/** Greatest CRC-32 value: a checksum whose 6 digits read more is no checksum. */
const MAX_CRC = 0xffffffff;

/**
 * Is `text[at .. at + 32)` a key body of `format` whose letters were all turned to one case
 * (`XU7Y…` or `xu7y…`: a log pipeline or proxy that upper-cases), for some choice of the
 * original case of each letter? Such text gives the key back to anyone who tries those choices
 * against the checksum, so it must be found as a key. Solved directly rather than by trying: the
 * checksum's letters give at most 32 candidate values, and whether some choice of the random
 * part's letter cases reaches one is a linear equation over GF(2) (see {@link caseFlipVectors}),
 * answered by Gaussian elimination on 32-bit words. Only for text whose letters are all of one
 * case (mixed case is checked exactly by {@link isKeyBodyAt}), and only when the checksum can be
 * one at all (its first character a digit from 0 to 4); about 1 in 500 random runs of 32 capitals
 * and digits passes by chance. With a `budget`, a one-case window met once the budget is spent
 * counts as a key (redacted) without being solved. @internal
 */
export function isCaseFoldedKeyBodyAt(text: string, at: number, format: KeyFormat, budget?: FoldedBodyBudget): boolean {
  if (!format.checksum || at < 0 || at + BODY_LENGTH > text.length) return false;
  const checksumAt = at + RANDOM_LENGTH;
  const first = text.charCodeAt(checksumAt);
  if (first < 48 || first > 52) return false; // the checksum's first digit is 0–4 (5 × 62^5 > 2^32)
  let upper = false;
  let lower = false;
  for (let i = at; i < at + BODY_LENGTH; i++) {
    const c = text.charCodeAt(i);
    if (isUpper(c)) upper = true;
    else if (isLower(c)) lower = true;
    else if (c < 48 || c > 57) return false;
  }
  if (upper === lower) return false; // mixed case (checked exactly elsewhere), or no letter at all
  if (budget !== undefined && budget.solves <= 0) return true;
  // The checksum's candidate values: each of its letters in either case.
  const letters: number[] = [];
  for (let i = 1; i < CHECKSUM_LENGTH; i++) if (text.charCodeAt(checksumAt + i) > 57) letters.push(i);
  const targets: number[] = [];
  for (let mask = 0; mask < 1 << letters.length; mask++) {
    let value = 0;
    let l = 0;
    for (let i = 0; i < CHECKSUM_LENGTH; i++) {
      let c = text.charCodeAt(checksumAt + i);
      if (c > 57) c = (mask >> l++) & 1 ? c | 0x20 : c & ~0x20;
      value = value * 62 + (DIGIT_VALUES[c] as number);
    }
    if (value <= MAX_CRC) targets.push(value);
  }
  if (targets.length === 0) return false;
  if (budget !== undefined) budget.solves--;
  // A basis of what flipping the random part's letters can do to the CRC, in echelon form:
  // basis[b] has its highest set bit at b (or is 0). Reducing by it is linear, so a difference is
  // reachable exactly when both sides reduce to the same remainder.
  const flips = caseFlipVectors();
  const basis = new Int32Array(32);
  let pivots = 0; // bit b set: basis[b] is a vector
  for (let i = 0; i < RANDOM_LENGTH; i++) {
    if (text.charCodeAt(at + i) <= 57) continue; // a digit has no case
    let v = flips[i] as number;
    while (v !== 0) {
      const b = 31 - Math.clz32(v);
      if (((pivots >>> b) & 1) === 0) {
        basis[b] = v;
        pivots |= 1 << b;
        break;
      }
      v ^= basis[b] as number;
    }
  }
  for (let t = 0; t < targets.length; t++) targets[t] = remainderOf(targets[t] as number, basis, pivots);
  const table = crcTable();
  for (const state of format.crcStateList) {
    let crc = state;
    for (let i = at; i < checksumAt; i++) crc = (table[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
    if (targets.includes(remainderOf(crc32Final(crc), basis, pivots))) return true;
  }
  return false;
}

/**
 * `value` reduced by an echelon `basis` whose vectors sit at the bits of `pivots` (see
 * isCaseFoldedKeyBodyAt): two values have the same remainder exactly when their difference is in
 * the basis's span. Each pivot bit of the value is cleared, from the highest down.
 */
function remainderOf(value: number, basis: Int32Array, pivots: number): number {
  let v = value | 0;
  let todo = v & pivots;
  while (todo !== 0) {
    const b = 31 - Math.clz32(todo);
    v ^= basis[b] as number;
    todo = v & pivots & ((1 << b) - 1 | 0);
    if (b === 0) break;
  }
  return v;
}

const keyChecks = new WeakMap<KeyFormat, KeyCheck>();

/**
 * {@link keyCheckOf} for any input, with the check of each format built once.
 * @internal
 */
export function checkApiKey(input: unknown, format: KeyFormat, start = 0): number {
  if (typeof input !== "string") return NOT_A_STRING;
  let check = keyChecks.get(format);
  if (check === undefined) keyChecks.set(format, (check = keyCheckOf(format)));
  return check(input, start);
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
