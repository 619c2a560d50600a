/**
 * Echoing user input in error messages without ever echoing a key.
 *
 * @module
 */
import { BODY_LENGTH, type KeyFormat } from "../index.js";

// A run of 20+ alphanumerics, or anything shaped like `<tag>_<tag>_`, may be (part of) a key or
// another secret: such input is described, never repeated (no output carries a key).
const SECRET_LIKE = /[A-Za-z0-9]{20,}|[a-z][a-z0-9]*_[a-z][a-z0-9]*_/;

/**
 * The argument quoted for a message, or a placeholder when it could be a secret.
 *
 * @example
 * ```ts
 * quoteArgument("--fast");                 // '"--fast"'
 * quoteArgument("flz_sk_prod_0123…");      // "(an argument that looks like a key, not shown)"
 * ```
 */
export function quoteArgument(text: string): string {
  if (SECRET_LIKE.test(text) || text.length > 64) return "(an argument that looks like a key, not shown)";
  return JSON.stringify(text);
}

/**
 * A file name for scan's output, unless it holds something shaped like a key of `format` (the
 * prefix and 32 more characters, checksum or not): `fluenzr-keys scan "$API_KEY"` names a file
 * that does not exist, and the message about it must not print the key.
 *
 * @example
 * ```ts
 * displayPath("config/.env", getDefaultKeyFormat());           // "config/.env"
 * displayPath("flz_sk_prod_9fXq…", getDefaultKeyFormat());     // "(a path that looks like an API key, not shown)"
 * ```
 */
export function displayPath(path: string, format: KeyFormat): string {
  return safeText(pathOrPlaceholder(path, format));
}

/**
 * The path, or a placeholder if it holds something shaped like a key of `format` or of any other
 * format (`scan --prefix acme "$FLZ_KEY"`). Not made safe for a terminal: for JSON output, which
 * escapes it ({@link jsonText}).
 */
export function pathOrPlaceholder(path: string, format: KeyFormat): string {
  const shape = new RegExp(`${escapeRegExp(format.head)}(?:[a-z0-9]{1,16}_)?[A-Za-z0-9]{${BODY_LENGTH}}`);
  return shape.test(path) || ANY_KEY_SHAPE.test(path) ? "(a path that looks like an API key, not shown)" : path;
}

/**
 * `JSON.stringify(value)` with the characters JSON leaves as they are but a terminal acts on (DEL,
 * C1 controls, line separators, bidirectional controls) written as `\uXXXX` escapes too.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

// `<vendor>_<type>_[<env>_]<32 alphanumerics>` for any vendor, type and environment tag.
const ANY_KEY_SHAPE = new RegExp(`[A-Za-z0-9]+_[A-Za-z0-9]+_(?:[A-Za-z0-9]{1,16}_)?[A-Za-z0-9]{${BODY_LENGTH}}`);

// C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional overrides and
// isolates: characters that move the cursor, recolour or clear a terminal, start a new line, or
// reorder what a reader sees.
const UNSAFE_IN_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` as it can be printed on a terminal or in a CI log: as it is when it holds no control
 * character, else in double quotes with each such character (and `"`, `\\`) escaped, so a file
 * name cannot forge a finding line or clear the screen of the person reading the report.
 *
 * @example
 * ```ts
 * safeText("config/.env");            // "config/.env"
 * safeText("a\nb.json:3: flz_sk_…");  // "\"a\\nb.json:3: flz_sk_…\"" (one line, quoted)
 * ```
 */
export function safeText(text: string): string {
  UNSAFE_IN_TERMINAL.lastIndex = 0;
  if (!UNSAFE_IN_TERMINAL.test(text)) return text;
  const escaped = text.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE_IN_TERMINAL, (c) => {
    const code = c.charCodeAt(0);
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
  return `"${escaped}"`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, (c) => `\\${c}`);
}
