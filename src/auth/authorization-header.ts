/**
 * The Authorization header grammar (RFC 6750 §2.1): `Bearer` in any letter case, one
 * or more spaces (0x20 only), then one b64token, and nothing else on the line.
 *
 * @module
 */

/**
 * Longest header value looked at; a longer one is malformed before any scanning.
 *
 * @example
 * ```ts
 * import { MAX_AUTHORIZATION_LENGTH } from "@fluenzr/api-keys";
 * // A proxy in front can refuse longer Authorization headers the same way.
 * if (header.length > MAX_AUTHORIZATION_LENGTH) reply.status(401);
 * ```
 */
export const MAX_AUTHORIZATION_LENGTH = 1024;

/** Why no token could be read from the header. @internal */
export type HeaderFailure = "missing" | "scheme" | "malformed";

// Character classes as 128-entry tables: one load per character on the request path.
const TCHAR = new Uint8Array(128); // RFC 9110 tchar: what a scheme name may contain
const B64TOKEN = new Uint8Array(128); // RFC 6750 b64token: ALPHA DIGIT - . _ ~ + / and trailing "="
let tablesReady = false;
function tables(): void {
  for (let c = 48; c <= 57; c++) TCHAR[c] = B64TOKEN[c] = 1;
  for (let c = 65; c <= 90; c++) TCHAR[c] = B64TOKEN[c] = 1;
  for (let c = 97; c <= 122; c++) TCHAR[c] = B64TOKEN[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;
  for (const ch of "-._~+/") B64TOKEN[ch.charCodeAt(0)] = 1; // "=" only as trailing padding
  tablesReady = true;
}

function isTchar(c: number): boolean {
  if (!tablesReady) tables();
  return c < 128 && TCHAR[c] === 1;
}

/**
 * A line that does not start with `Bearer `: another scheme if its first word is a scheme name
 * (RFC 9110 token characters up to a space or the end: `Basic …`, `Token …`), else malformed
 * (`Bеarer` with a Cyrillic letter, a zero-width character inside the word, `Bearer` then a tab).
 */
function schemeOrMalformed(value: string): "scheme" | "malformed" {
  let i = 0;
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 32) break;
    if (!isTchar(c)) return "malformed";
  }
  return i > 0 ? "scheme" : "malformed";
}

/**
 * Where the bearer token starts in the one raw Authorization line, or why there is none. Several
 * lines are malformed, whatever they hold. The token is not scanned here (see {@link isB64token});
 * the line it is in is {@link soleLine}. An offset, not a copy of the token: the key check reads
 * the line in place, and a token such as "missing" can never be mistaken for a failure.
 * @internal
 */
export function bearerStart(raw: unknown): number | HeaderFailure {
  let value = raw;
  if (typeof value !== "string") {
    if (Array.isArray(value)) {
      if (value.length === 0) return "missing";
      if (value.length > 1) return "malformed";
      value = value[0];
    }
    if (value === undefined || value === null) return "missing";
    if (typeof value !== "string") return "malformed";
  }
  const length = value.length;
  if (length === 0) return "missing";
  if (length > MAX_AUTHORIZATION_LENGTH) return "malformed";
  // `| 0x20` lower-cases ASCII letters only; every char of "bearer" is a letter.
  if (
    length < 6 ||
    (value.charCodeAt(0) | 0x20) !== 98 /* b */ ||
    (value.charCodeAt(1) | 0x20) !== 101 /* e */ ||
    (value.charCodeAt(2) | 0x20) !== 97 /* a */ ||
    (value.charCodeAt(3) | 0x20) !== 114 /* r */ ||
    (value.charCodeAt(4) | 0x20) !== 101 /* e */ ||
    (value.charCodeAt(5) | 0x20) !== 114 /* r */
  ) {
    return schemeOrMalformed(value);
  }
  if (length === 6) return "malformed"; // `Bearer` alone
  const sep = value.charCodeAt(6);
  if (sep !== 32) return schemeOrMalformed(value); // `Bearerx…` is another scheme; tab, NBSP… are not
  let start = 7;
  while (start < length && value.charCodeAt(start) === 32) start++;
  if (start === length) return "malformed";
  return start;
}

/** The one Authorization line, once {@link bearerStart} has found a token in it. @internal */
export function soleLine(raw: string | readonly string[]): string {
  return typeof raw === "string" ? raw : (raw[0] as string);
}

/**
 * Is `line` from `start` on one b64token (RFC 6750 §2.1): `1*( ALPHA / DIGIT / "-" / "." / "_" /
 * "~" / "+" / "/" ) *"="`? An `=` may only pad the end, after at least one other character.
 * @internal
 */
export function isB64token(line: string, start = 0): boolean {
  if (!tablesReady) tables();
  let i = start;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 61 /* "=" */) break;
    if (c >= 128 || B64TOKEN[c] !== 1) return false;
  }
  if (i === start) return false; // empty, or padding with nothing before it
  for (; i < line.length; i++) if (line.charCodeAt(i) !== 61) return false;
  return true;
}
