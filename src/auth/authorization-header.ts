/**
 * The Authorization header grammar (DESIGN §5, RFC 6750 §2.1): `Bearer` in any letter case, one
 * or more spaces (0x20 only), then one b64token, and nothing else on the line.
 *
 * @module
 */

/** Longest header value looked at; a longer one is malformed before any scanning. */
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
  for (const ch of "-._~+/=") B64TOKEN[ch.charCodeAt(0)] = 1;
  tablesReady = true;
}

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

const BEARER = "bearer";

/**
 * Split off the bearer token from all raw Authorization header lines, or say why not. The token
 * is not scanned here (see {@link isB64token}). Several lines are malformed, whatever they hold.
 * @internal
 */
export function splitBearer(raw: unknown): string | HeaderFailure {
  let value = raw;
  if (Array.isArray(value)) {
    if (value.length === 0) return "missing";
    if (value.length > 1) return "malformed";
    value = value[0];
  }
  if (value === undefined || value === null) return "missing";
  if (typeof value !== "string") return "malformed";
  const length = value.length;
  if (length === 0) return "missing";
  if (length > MAX_AUTHORIZATION_LENGTH) return "malformed";
  if (!tablesReady) tables();
  for (let i = 0; i < 6; i++) {
    // `| 0x20` lower-cases ASCII letters only; every char of "bearer" is a letter.
    if (i >= length || (value.charCodeAt(i) | 0x20) !== BEARER.charCodeAt(i)) {
      return isTchar(value.charCodeAt(0)) ? "scheme" : "malformed";
    }
  }
  if (length === 6) return "malformed"; // `Bearer` alone
  const sep = value.charCodeAt(6);
  if (sep !== 32) return isTchar(sep) ? "scheme" : "malformed"; // `Bearerx…` is another scheme; tab, NBSP… are not
  let start = 7;
  while (start < length && value.charCodeAt(start) === 32) start++;
  if (start === length) return "malformed";
  return value.slice(start);
}

/** Is every character of `token` a b64token character (RFC 6750 §2.1)? @internal */
export function isB64token(token: string): boolean {
  if (!tablesReady) tables();
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 128 || B64TOKEN[c] !== 1) return false;
  }
  return token.length > 0;
}
