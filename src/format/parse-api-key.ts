/**
 * @module
 */
import { checksumMatches } from "./checksum.js";
import { BODY_LENGTH, getDefaultKeyFormat, hintOf, MAX_KEY_LENGTH, type KeyFormat } from "./key-format.js";

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

/** `[A-Za-z0-9]`, by char code: no regex flags can widen it. */
function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

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
  if (typeof input !== "string") return fail("not_a_string");
  if (input.length > MAX_KEY_LENGTH) return fail("too_long");
  if (input.length === 0) return fail("empty");
  const format = options.format ?? getDefaultKeyFormat();
  const head = format.head;
  if (!input.startsWith(head)) return fail("prefix");
  let environment: string | null = null;
  let bodyStart = head.length;
  const sep = input.indexOf("_", bodyStart);
  if (sep !== -1) {
    const tag = input.slice(bodyStart, sep);
    if (!format.environments.includes(tag)) return fail("environment");
    environment = tag;
    bodyStart = sep + 1;
  }
  if (input.length - bodyStart !== BODY_LENGTH) return fail("length");
  for (let i = bodyStart; i < input.length; i++) if (!isAlnum(input.charCodeAt(i))) return fail("charset");
  if (format.checksum && !checksumMatches(input)) return fail("checksum");
  return { ok: true, environment, hint: hintOf(format, environment, input) };
}
