/**
 * Promises that user callbacks may hand back where a plain value was expected.
 *
 * @module
 */

/** Is `value` a promise or another thenable? @internal */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}

const ignoreRejection = (): void => {};

/**
 * If a user's callback returned a promise where a plain value was expected (an async `onEvent`,
 * `skip` or `getIp`), make sure its rejection is handled: an unhandled one ends a Node process.
 * Allocates nothing. May throw (a hostile `then`); callers call it inside their own `try`.
 * @internal
 */
export function dropRejection(value: unknown): void {
  if (isThenable(value)) value.then(undefined, ignoreRejection);
}
