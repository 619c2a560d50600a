/**
 * What of the client's own text (path, user agent, method, an address from a header) may go into events: never a key. A key pasted
 * into the query string, the path or the User-Agent must not reach logs through `onEvent`.
 *
 * @module
 */

/** Put in place of a key-shaped run of characters. @internal */
export const REDACTED_KEY = "[redacted API key]";

const KEY_CHAR = /[A-Za-z0-9_]/;

/**
 * `text` with every run that starts with the key format's `head` (e.g. `flz_sk_`) and goes on
 * over key characters replaced by {@link REDACTED_KEY}. Text without the head is returned as is,
 * after one `includes` scan. @internal
 */
export function redactKeys(text: string, head: string): string {
  if (!text.includes(head)) return text;
  let out = "";
  let from = 0;
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, from)) {
    let end = at + head.length;
    while (end < text.length && KEY_CHAR.test(text.charAt(end))) end++;
    out += text.slice(from, at) + REDACTED_KEY;
    from = end;
  }
  return out + text.slice(from);
}

/**
 * A request path for events: without its query string or fragment, and with keys redacted. A
 * request target in absolute form (`GET http://user:secret@host/v1/x`, which servers must accept)
 * is cut to its path, so the scheme, host and any user:password in it stay out of events, and
 * every framework reports the same path. @internal
 */
export function eventPath(path: string, head: string): string {
  if (path.charCodeAt(0) !== 47 /* "/" */) path = pathOfAbsolute(path);
  let end = path.length;
  const query = path.indexOf("?");
  if (query !== -1) end = query;
  const fragment = path.indexOf("#");
  if (fragment !== -1 && fragment < end) end = fragment;
  const bare = end === path.length ? path : path.slice(0, end);
  // `/v1/%66lz_sk_…` is the same path as `/v1/flz_sk_…` (RFC 3986 §6.2.2.2): escapes of
  // unreserved characters are read as those characters, so an escaped key is redacted too.
  return redactKeys(bare.includes("%") ? decodeUnreserved(bare) : bare, head);
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
