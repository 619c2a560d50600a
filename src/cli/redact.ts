/**
 * Echoing user input in error messages without ever echoing a key.
 *
 * @module
 */

// A run of 20+ alphanumerics, or anything shaped like `<tag>_<tag>_`, may be (part of) a key or
// another secret: such input is described, never repeated (DESIGN §9: no output carries a key).
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
