/**
 * What of the client's own text (path, user agent, method, an address from a header) may go into events: never a key. A key pasted
 * into the query string, the path or the User-Agent must not reach logs through `onEvent`.
 *
 * @module
 */
import { BODY_LENGTH, MAX_KEY_LENGTH, type KeyFormat } from "../format/key-format.js";
import { FOLDED_BODY_SOLVES, isCaseFoldedKeyBodyAt, isKeyBodyAt, type FoldedBodyBudget } from "../format/parse-api-key.js";

/** Put in place of a key-shaped run of characters. @internal */
export const REDACTED_KEY = "[redacted API key]";

/**
 * Longest client text kept in an event field, in characters; longer text is cut there and ends
 * with "…" (a 16 KB User-Agent is not worth a log line of its own). @internal
 */
export const MAX_EVENT_TEXT = 1024;

/**
 * Longest client text looked at: far enough past the cut that a key that would straddle the cut
 * is seen whole and redacted before it, even written all in percent-escapes. What lies beyond is
 * never read. @internal
 */
const MAX_SCANNED = MAX_EVENT_TEXT + 3 * MAX_KEY_LENGTH;

const KEY_CHAR = /[A-Za-z0-9_]/;
const KEY_OR_ESCAPE_CHAR = /[A-Za-z0-9_%]/;

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Client text for an event: at most {@link MAX_EVENT_TEXT} characters, with every key in it
 * replaced by {@link REDACTED_KEY}: every run that starts with the format's `head` (e.g.
 * `flz_sk_`) and goes on over key characters, and (for a format with checksum) every run of
 * letters and digits that begins or ends with a checksum-confirmed key body, wherever its head
 * went (`%2566lz%255Fsk…` escaped twice, say), also one whose letters were all upper- or
 * lower-cased (`FLZ-SK-PROD-XU7Y…`). Text without either is returned as it is. @internal
 */
export function redactKeys(text: string, format: KeyFormat): string {
  const scanned = scannedPart(text, KEY_CHAR);
  return keptPart(redacted(scanned, format), scanned.length < text.length);
}

/**
 * The first {@link MAX_SCANNED} characters of `text`, less the whole run of `keyChar` characters
 * that reaches that cut: a key cut in two there could not be recognized, nor a key body inside a
 * longer run cut anywhere else, so no cut is ever made inside a run. What is dropped lies past
 * the cut or in a run that reaches it (a 2 KB run of letters is dropped whole).
 */
function scannedPart(text: string, keyChar: RegExp): string {
  if (text.length <= MAX_SCANNED) return text;
  let end = MAX_SCANNED;
  while (end > 0 && keyChar.test(text.charAt(end - 1))) end--;
  return text.slice(0, end);
}

/** Every key in `text` replaced: by its head, then by its checksummed body. */
function redacted(text: string, format: KeyFormat): string {
  return redactBodies(redactHeads(text, format), format);
}

/**
 * Does `text` hold a key, as {@link redactKeys} would find it (by its head in any letter case,
 * or by its checksummed body)? For text that is about to be stored (a key's name, metadata, the
 * creating administrator's id), which must never carry a key in plaintext. @internal
 */
export function containsKey(text: string, format: KeyFormat): boolean {
  return redacted(text, format) !== text;
}

/** At most {@link MAX_EVENT_TEXT} characters, ending with "…" if anything was cut. */
function keptPart(redacted: string, cut: boolean): string {
  return cut || redacted.length > MAX_EVENT_TEXT ? `${redacted.slice(0, MAX_EVENT_TEXT)}…` : redacted;
}

const headPatterns = new WeakMap<KeyFormat, RegExp>();

/**
 * The format's head in any ASCII letter case (`flz_sk_`, `FLZ_SK_`): a key upper-cased by a log
 * pipeline or a proxy has lost only the case of its letters, which its checksum gives back to
 * anyone who tries the few candidates. No `u` flag: `i` alone never folds other characters to ASCII.
 */
function headPattern(format: KeyFormat): RegExp {
  let pattern = headPatterns.get(format);
  if (pattern === undefined) {
    pattern = new RegExp(format.head.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
    headPatterns.set(format, pattern);
  }
  return pattern;
}

/** Runs that start with the format's head (in any letter case), over key characters, replaced. */
function redactHeads(text: string, format: KeyFormat): string {
  const pattern = headPattern(format);
  pattern.lastIndex = 0;
  let found = pattern.exec(text);
  if (found === null) return text;
  let out = "";
  let from = 0;
  while (found !== null) {
    let end = found.index + format.head.length;
    while (end < text.length && KEY_CHAR.test(text.charAt(end))) end++;
    out += text.slice(from, found.index) + REDACTED_KEY;
    from = end;
    pattern.lastIndex = end;
    found = pattern.exec(text);
  }
  return out + text.slice(from);
}

/**
 * A key body at `at`, as written or upper- or lower-cased (its checksum gives the case back).
 * One-case windows are solved up to the text's `budget`; past it they count as keys (redacted).
 */
function bodyAt(text: string, at: number, format: KeyFormat, budget: FoldedBodyBudget): boolean {
  return isKeyBodyAt(text, at, format) || isCaseFoldedKeyBodyAt(text, at, format, budget);
}

/** Runs of letters and digits that begin or end with a key body, replaced. */
function redactBodies(text: string, format: KeyFormat): string {
  if (!format.checksum || text.length < BODY_LENGTH) return text;
  const budget: FoldedBodyBudget = { solves: FOLDED_BODY_SOLVES };
  let out = "";
  let from = 0;
  let i = 0;
  while (i < text.length) {
    if (!isAlnum(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    while (i < text.length && isAlnum(text.charCodeAt(i))) i++;
    // A run of 32 or more: the key's body at its start (text glued after it) or at its end
    // (what is left of an escaped head before it), as written or with its letters turned to one
    // case. Two windows per run, at most.
    const length = i - start;
    if (length >= BODY_LENGTH && (bodyAt(text, i - BODY_LENGTH, format, budget) || (length > BODY_LENGTH && bodyAt(text, start, format, budget)))) {
      out += text.slice(from, start) + REDACTED_KEY;
      from = i;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * A request path for events: without its query string or fragment, and with keys redacted. A
 * request target in absolute form (`GET http://user:secret@host/v1/x`, which servers must accept)
 * is cut to its path, so the scheme, host and any user:password in it stay out of events, and
 * every framework reports the same path. @internal
 */
export function eventPath(target: string, format: KeyFormat): string {
  // Cut before any work; a percent-escape counts as key characters here, since it may be one.
  const scanned = scannedPart(target, KEY_OR_ESCAPE_CHAR);
  const path = scanned.charCodeAt(0) !== 47 /* "/" */ ? pathOfAbsolute(scanned) : scanned;
  let end = path.length;
  const query = path.indexOf("?");
  if (query !== -1) end = query;
  const fragment = path.indexOf("#");
  if (fragment !== -1 && fragment < end) end = fragment;
  const bare = end === path.length ? path : path.slice(0, end);
  // `/v1/%66lz_sk_…` is the same path as `/v1/flz_sk_…` (RFC 3986 §6.2.2.2): escapes of
  // unreserved characters are read as those characters, so an escaped key is redacted too.
  let decoded = bare.includes("%") ? decodeUnreserved(bare) : bare;
  // Escaped twice (`%2566lz…`, `%25` being "%" itself): a server or proxy that decodes twice
  // sees the key, so the event is written with those escapes read too (at most two more levels).
  for (let round = 0; round < 2 && decoded.includes("%25"); round++) decoded = decodeUnreserved(decoded.replaceAll("%25", "%"));
  // Cut only if the path itself ran into the cut (a long query string is dropped anyway).
  const cut = scanned.length < target.length && end === path.length;
  return keptPart(redacted(decoded, format), cut);
}

/** Value of a hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** Is `c` an unreserved character (ALPHA / DIGIT / "-" / "." / "_" / "~")? */
function unreserved(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95 || c === 126;
}

/**
 * `%XX` escapes of unreserved characters replaced by the characters; every other escape is kept
 * as written (decoding those could put separators or control characters into a log line).
 */
function decodeUnreserved(text: string): string {
  let out = "";
  let from = 0;
  for (let at = text.indexOf("%"); at !== -1 && at + 2 < text.length; at = text.indexOf("%", at + 1)) {
    const hi = hexValue(text.charCodeAt(at + 1));
    const lo = hexValue(text.charCodeAt(at + 2));
    if (hi < 0 || lo < 0) continue;
    const c = hi * 16 + lo;
    if (!unreserved(c)) continue;
    out += text.slice(from, at) + String.fromCharCode(c);
    from = at + 3;
  }
  return out + text.slice(from);
}

/** The path of an absolute-form target (`scheme://authority/path…`); other text as it is. */
function pathOfAbsolute(target: string): string {
  const scheme = target.indexOf("://");
  if (scheme <= 0) return target; // "*" (OPTIONS *) or text that is no URL
  let at = scheme + 3;
  // The authority ends at the first "/", "?" or "#" (RFC 3986 §3.2); the path starts there.
  while (at < target.length) {
    const c = target.charCodeAt(at);
    if (c === 47 || c === 63 || c === 35) break;
    at++;
  }
  return target.charCodeAt(at) === 47 ? target.slice(at) : "/" + target.slice(at);
}
