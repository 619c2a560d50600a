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
  const shape = new RegExp(`${escapeRegExp(format.head)}(?:[a-z0-9]{1,16}_)?[A-Za-z0-9]{${BODY_LENGTH}}`);
  return shape.test(path) ? "(a path that looks like an API key, not shown)" : path;
}

function escapeRegExp(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, (c) => `\\${c}`);
}
