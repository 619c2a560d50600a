/**
 * What of the client's own text (path, user agent) may go into events: never a key. A key pasted
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

/** A request path for events: without its query string or fragment, and with keys redacted. @internal */
export function eventPath(path: string, head: string): string {
  let end = path.length;
  const query = path.indexOf("?");
  if (query !== -1) end = query;
  const fragment = path.indexOf("#");
  if (fragment !== -1 && fragment < end) end = fragment;
  return redactKeys(end === path.length ? path : path.slice(0, end), head);
}
