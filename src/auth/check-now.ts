/**
 * The symbol under which an authenticator made by `createApiKeyAuth` keeps its synchronous-when-
 * possible check. A module of its own, so an adapter can reach it without loading the core.
 *
 * @module
 */

/**
 * Key of the authenticator's internal check that answers synchronously when nothing had to wait
 * (memory store or cache hit, synchronous plan lookup) and with a promise otherwise; it never
 * throws or rejects. This package's adapters use it, when present and when the authenticator's
 * `authenticate` is still the one it stands for, to call the framework's `next` in the same tick:
 * deferring to a microtask costs a web framework more than the check itself.
 * @internal
 */
export const checkNow: unique symbol = Symbol.for("@fluenzr/api-keys/checkNow");

/** What an authenticator keeps under {@link checkNow}. @internal */
export interface CheckNow<Request, Result> {
  /** The check: a result when nothing had to wait, else a promise; never throws or rejects. */
  readonly check: (request: Request) => Result | Promise<Result>;
  /** The `authenticate` this check stands for. */
  readonly authenticate: (request: Request) => Promise<Result>;
}
