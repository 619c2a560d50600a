/**
 * The shared table of Authorization header cases (issue 3), each with what DESIGN §5 makes of it.
 * The bytes are sent as written, over a raw socket. Where Node's HTTP parser refuses a request
 * before any framework code runs, the row records that (`parser-400`, `parser-431`): the
 * request never reaches the app, so it cannot be let in either.
 */
import type { FixtureKeys } from "./fixture.js";

/** What a row expects; see EXPECTED for the status, code, message and challenge of each. */
export type Outcome =
  | "ok"
  | "open"
  | "missing"
  | "malformed"
  | "invalid-token"
  | "plan"
  | "scope"
  | "unavailable"
  | "parser-400"
  | "parser-431";

export interface HeaderCase {
  name: string;
  method?: "GET" | "POST" | "HEAD" | "DELETE";
  path?: string | ((k: FixtureKeys) => string);
  /** Header lines after Host and Connection. */
  lines: (k: FixtureKeys) => string[];
  /** How the lines become bytes. Default UTF-8. */
  encoding?: "utf8" | "latin1";
  /** HTTP version of the request line. Default 1.1. */
  version?: string;
  expect: Outcome;
  /** For "ok": which fixture key the route must see. Default "pro". */
  keyName?: keyof FixtureKeys;
}

export interface ExpectedAnswer {
  status: number;
  code?: string;
  message?: string;
  /** Exact `WWW-Authenticate`, or null when there must be none. */
  challenge?: string | null;
}

const realm = 'Bearer realm="api"';
const unauthorized = { code: "UNAUTHORIZED", message: "Invalid or missing API key" };

export const EXPECTED: Record<Outcome, ExpectedAnswer> = {
  ok: { status: 200 },
  open: { status: 200 },
  missing: { status: 401, ...unauthorized, challenge: realm },
  malformed: { status: 401, ...unauthorized, challenge: `${realm}, error="invalid_request"` },
  "invalid-token": { status: 401, ...unauthorized, challenge: `${realm}, error="invalid_token"` },
  plan: { status: 403, code: "FORBIDDEN", message: "API access requires Pro plan", challenge: null },
  scope: {
    status: 403,
    code: "FORBIDDEN",
    message: "API key does not have the required permissions",
    challenge: `${realm}, error="insufficient_scope"`,
  },
  unavailable: { status: 503, code: "SERVICE_UNAVAILABLE", message: "Authentication is temporarily unavailable", challenge: null },
  "parser-400": { status: 400 },
  "parser-431": { status: 431 },
};

const auth = (value: string): string[] => [`Authorization: ${value}`];
/** The body of a key (after `flz_sk_prod_`). */
const body = (key: string): string => key.slice("flz_sk_prod_".length);
const head = "flz_sk_prod_";
/** Swap one body character for another of the alphabet (a typo the checksum catches). */
const typo = (key: string): string => {
  const at = head.length + 3;
  const c = key.charAt(at);
  return key.slice(0, at) + (c === "a" ? "b" : "a") + key.slice(at + 1);
};

export const HEADER_CASES: readonly HeaderCase[] = [
  // Scheme letter case and spaces (DESIGN §5: `Bearer` in any case, one or more spaces)
  { name: "valid key with `Bearer`", lines: (k) => auth(`Bearer ${k.pro}`), expect: "ok" },
  { name: "scheme in lower case", lines: (k) => auth(`bearer ${k.pro}`), expect: "ok" },
  { name: "scheme in upper case", lines: (k) => auth(`BEARER ${k.pro}`), expect: "ok" },
  { name: "scheme in mixed case", lines: (k) => auth(`BeArEr ${k.pro}`), expect: "ok" },
  { name: "two spaces after the scheme", lines: (k) => auth(`Bearer  ${k.pro}`), expect: "ok" },
  { name: "five spaces after the scheme", lines: (k) => auth(`Bearer     ${k.pro}`), expect: "ok" },
  { name: "header name in lower case", lines: (k) => [`authorization: Bearer ${k.pro}`], expect: "ok" },
  { name: "header name in upper case", lines: (k) => [`AUTHORIZATION: Bearer ${k.pro}`], expect: "ok" },
  { name: "no space after the colon", lines: (k) => [`Authorization:Bearer ${k.pro}`], expect: "ok" },
  // RFC 9110 §5.5: spaces and tabs around a field value are not part of it (the parser strips them)
  { name: "spaces around the value (optional whitespace)", lines: (k) => [`Authorization:   Bearer ${k.pro}   `], expect: "ok" },
  { name: "tabs around the value (optional whitespace)", lines: (k) => [`Authorization:\tBearer ${k.pro}\t`], expect: "ok" },
  { name: "HTTP/1.0 request", version: "1.0", lines: (k) => auth(`Bearer ${k.pro}`), expect: "ok" },
  // Whitespace that is not 0x20 inside the value
  { name: "tab between scheme and key", lines: (k) => auth(`Bearer\t${k.pro}`), expect: "malformed" },
  { name: "space then tab before the key", lines: (k) => auth(`Bearer \t${k.pro}`), expect: "malformed" },
  { name: "tab then a word after the key", lines: (k) => auth(`Bearer ${k.pro}\tx`), expect: "malformed" },
  { name: "NBSP (UTF-8) between scheme and key", lines: (k) => auth(`Bearer\u00a0${k.pro}`), expect: "malformed" },
  { name: "NBSP (Latin-1 byte) between scheme and key", encoding: "latin1", lines: (k) => auth(`Bearer\u00a0${k.pro}`), expect: "malformed" },
  { name: "NBSP after the key", lines: (k) => auth(`Bearer ${k.pro}\u00a0`), expect: "malformed" },
  { name: "zero-width space before the key", lines: (k) => auth(`Bearer \u200b${k.pro}`), expect: "malformed" },
  { name: "zero-width space after the key", lines: (k) => auth(`Bearer ${k.pro}\u200b`), expect: "malformed" },
  { name: "zero-width joiner inside the key", lines: (k) => auth(`Bearer ${k.pro.slice(0, 20)}\u200d${k.pro.slice(20)}`), expect: "malformed" },
  { name: "byte-order mark before the scheme", lines: (k) => auth(`\ufeffBearer ${k.pro}`), expect: "malformed" },
  { name: "ideographic space after the scheme", lines: (k) => auth(`Bearer\u3000${k.pro}`), expect: "malformed" },
  // Unicode look-alikes (DESIGN §3: no look-alikes)
  { name: "Cyrillic letters in the scheme", lines: (k) => auth(`\u0412\u0435arer ${k.pro}`), expect: "malformed" },
  { name: "Cyrillic e inside the scheme, Latin B first", lines: (k) => auth(`B\u0435arer ${k.pro}`), expect: "malformed" },
  { name: "accented e inside the scheme", lines: (k) => auth(`B\u00e9arer ${k.pro}`), expect: "malformed" },
  { name: "zero-width space inside the scheme", lines: (k) => auth(`Bea\u200brer ${k.pro}`), expect: "malformed" },
  { name: "fullwidth B in the scheme", lines: (k) => auth(`\uff22earer ${k.pro}`), expect: "malformed" },
  { name: "Cyrillic a in the key body", lines: (k) => auth(`Bearer ${head}\u0430${body(k.pro).slice(1)}`), expect: "malformed" },
  { name: "fullwidth digit in the key body", lines: (k) => auth(`Bearer ${head}\uff11${body(k.pro).slice(1)}`), expect: "malformed" },
  { name: "ligature fl in the prefix", lines: (k) => auth(`Bearer \ufb02${k.pro.slice(2)}`), expect: "malformed" },
  { name: "Latin-1 é after the key", encoding: "latin1", lines: (k) => auth(`Bearer ${k.pro}\u00e9`), expect: "malformed" },
  // Key format and checksum (DESIGN §3)
  { name: "31-character body", lines: (k) => auth(`Bearer ${k.pro.slice(0, -1)}`), expect: "invalid-token" },
  { name: "33-character body", lines: (k) => auth(`Bearer ${k.pro}A`), expect: "invalid-token" },
  { name: "wrong vendor prefix", lines: (k) => auth(`Bearer abc_sk_prod_${body(k.pro)}`), expect: "invalid-token" },
  { name: "wrong key type", lines: (k) => auth(`Bearer flz_pk_prod_${body(k.pro)}`), expect: "invalid-token" },
  { name: "prefix in capitals", lines: (k) => auth(`Bearer FLZ_SK_PROD_${body(k.pro)}`), expect: "invalid-token" },
  { name: "lower-cased body", lines: (k) => auth(`Bearer ${head}${body(k.pro).toLowerCase()}`), expect: "invalid-token" },
  { name: "upper-cased body", lines: (k) => auth(`Bearer ${head}${body(k.pro).toUpperCase()}`), expect: "invalid-token" },
  { name: "one mistyped character (checksum)", lines: (k) => auth(`Bearer ${typo(k.pro)}`), expect: "invalid-token" },
  { name: "base64 padding after the key", lines: (k) => auth(`Bearer ${k.pro}=`), expect: "invalid-token" },
  { name: "b64token of other characters", lines: () => auth("Bearer abc+/def-._~=="), expect: "invalid-token" },
  // Malformed lines (DESIGN §5: nothing else on the line)
  { name: "`Bearer` alone", lines: () => auth("Bearer"), expect: "malformed" },
  { name: "`Bearer` and a trailing space (stripped: `Bearer` alone)", lines: () => auth("Bearer "), expect: "malformed" },
  { name: "double-quoted key", lines: (k) => auth(`Bearer "${k.pro}"`), expect: "malformed" },
  { name: "single-quoted key", lines: (k) => auth(`Bearer '${k.pro}'`), expect: "malformed" },
  { name: "a word after the key", lines: (k) => auth(`Bearer ${k.pro} extra`), expect: "malformed" },
  { name: "two credentials joined by a comma", lines: (k) => auth(`Bearer ${k.pro}, Bearer ${k.pro}`), expect: "malformed" },
  { name: "semicolon after the key", lines: (k) => auth(`Bearer ${k.pro};`), expect: "malformed" },
  { name: "the scheme twice", lines: (k) => auth(`Bearer Bearer ${k.pro}`), expect: "malformed" },
  { name: "colon instead of a space", lines: (k) => auth(`Bearer:${k.pro}`), expect: "malformed" },
  { name: "two Authorization lines with the same key", lines: (k) => [...auth(`Bearer ${k.pro}`), ...auth(`Bearer ${k.pro}`)], expect: "malformed" },
  { name: "two Authorization lines, the second garbage", lines: (k) => [...auth(`Bearer ${k.pro}`), ...auth("x")], expect: "malformed" },
  { name: "an empty Authorization line before a valid one", lines: (k) => ["Authorization:", ...auth(`Bearer ${k.pro}`)], expect: "malformed" },
  { name: "two lines with different header-name case", lines: (k) => [`authorization: Bearer ${k.pro}`, `AUTHORIZATION: Bearer ${k.starter}`], expect: "malformed" },
  { name: "8 KB header value", lines: () => auth(`Bearer ${"a".repeat(8192)}`), expect: "malformed" },
  { name: "1025-character value", lines: () => auth(`Bearer ${"a".repeat(1018)}`), expect: "malformed" },
  { name: "1024-character value of valid grammar", lines: () => auth(`Bearer ${"a".repeat(1017)}`), expect: "invalid-token" },
  // Missing, or another scheme (DESIGN §5: challenge without error)
  { name: "no Authorization header", lines: () => [], expect: "missing" },
  { name: "empty Authorization header", lines: () => ["Authorization:"], expect: "missing" },
  { name: "Basic scheme", lines: () => auth("Basic dXNlcjpwYXNz"), expect: "missing" },
  { name: "Token scheme with the key", lines: (k) => auth(`Token ${k.pro}`), expect: "missing" },
  { name: "bare key without a scheme", lines: (k) => auth(k.pro), expect: "missing" },
  { name: "no space between scheme and key", lines: (k) => auth(`Bearer${k.pro}`), expect: "missing" },
  { name: "key in the query string only (not read)", path: (k) => `/v1/contacts?api_key=${k.pro}`, lines: () => [], expect: "missing" },
  { name: "key in X-API-Key only (not read)", lines: (k) => [`X-API-Key: ${k.pro}`], expect: "missing" },
  { name: "key in Proxy-Authorization only (not read)", lines: (k) => [`Proxy-Authorization: Bearer ${k.pro}`], expect: "missing" },
  // The key's record (DESIGN §5: invalid_token, the same answer for all)
  { name: "revoked key", lines: (k) => auth(`Bearer ${k.revoked}`), expect: "invalid-token" },
  { name: "expired key", lines: (k) => auth(`Bearer ${k.expired}`), expect: "invalid-token" },
  { name: "unknown key of valid format", lines: (k) => auth(`Bearer ${k.unknown}`), expect: "invalid-token" },
  { name: "key of another environment", lines: (k) => auth(`Bearer ${k.otherEnvironment}`), expect: "invalid-token" },
  // Plan and permissions (DESIGN §5: 403)
  { name: "Starter-plan account", lines: (k) => auth(`Bearer ${k.starter}`), expect: "plan" },
  { name: "read-only key on GET", lines: (k) => auth(`Bearer ${k.readOnly}`), expect: "ok", keyName: "readOnly" },
  { name: "read-only key on HEAD", method: "HEAD", lines: (k) => auth(`Bearer ${k.readOnly}`), expect: "ok", keyName: "readOnly" },
  { name: "read-only key on POST", method: "POST", lines: (k) => auth(`Bearer ${k.readOnly}`), expect: "scope" },
  { name: "read-only key on DELETE", method: "DELETE", lines: (k) => auth(`Bearer ${k.readOnly}`), expect: "scope" },
  { name: "full key on POST", method: "POST", lines: (k) => auth(`Bearer ${k.pro}`), expect: "ok" },
  // Store outage (DESIGN §5: 503 with Retry-After); header errors are still answered first
  { name: "store down, valid key", path: "/down/contacts", lines: (k) => auth(`Bearer ${k.pro}`), expect: "unavailable" },
  { name: "store down, no header", path: "/down/contacts", lines: () => [], expect: "missing" },
  // Routes left open
  { name: "open route without a key", path: "/health", lines: () => [], expect: "open" },
  { name: "open route with garbage", path: "/health", lines: () => auth("Bearer \"x\""), expect: "open" },
  // Bytes Node's HTTP parser refuses before any application code runs
  { name: "NUL byte in the value", lines: (k) => auth(`Bearer ${k.pro}\u0000`), expect: "parser-400" },
  { name: "bare CR inside the value", lines: (k) => auth(`Bearer\r${k.pro}`), expect: "parser-400" },
  { name: "obsolete line folding", lines: (k) => [`Authorization: Bearer`, ` ${k.pro}`], expect: "parser-400" },
  { name: "DEL byte in the value", lines: (k) => auth(`Bearer ${k.pro}\u007f`), expect: "parser-400" },
  { name: "20 KB header (over Node's 16 KB limit)", lines: () => auth(`Bearer ${"a".repeat(20_000)}`), expect: "parser-431" },
];
