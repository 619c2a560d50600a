/**
 * The one error class of the package and the check that works across copies of it.
 *
 * @module
 */

/** Stable error codes carried by {@link ApiKeyError}. */
export type ApiKeyErrorCode =
  | "INVALID_OPTIONS"
  | "INVALID_INPUT"
  | "VALIDATION_ERROR"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "DUPLICATE_KEY"
  | "STORE_ERROR"
  | "TIMEOUT"
  | "SERVICE_UNAVAILABLE";

/** The JSON body every failure answers with (DESIGN §5): `{"success":false,"error":{...}}`. */
export interface ApiKeyErrorBody {
  readonly success: false;
  readonly error: { readonly code: string; readonly message: string };
}

const BRAND = Symbol.for("@fluenzr/api-keys/ApiKeyError");

/**
 * Build the error envelope body.
 *
 * @example
 * ```ts
 * import { errorBody } from "@fluenzr/api-keys";
 * errorBody("FORBIDDEN", "Administrator rights required");
 * // { success: false, error: { code: "FORBIDDEN", message: "Administrator rights required" } }
 * ```
 */
export function errorBody(code: string, message: string): ApiKeyErrorBody {
  return { success: false, error: { code, message } };
}

/** Options of {@link ApiKeyError}. */
export interface ApiKeyErrorOptions {
  /** HTTP status to answer with, for errors that reach a client (management calls). */
  status?: number | undefined;
  /** The field of the input that was refused, for `VALIDATION_ERROR`. */
  field?: string | undefined;
  /** The original error. */
  cause?: unknown;
}

/**
 * The only error class this package throws or rejects with. Configuration mistakes throw it at
 * setup (`INVALID_OPTIONS`); management calls reject with it carrying `status` and `body`.
 * Bad keys on the request path are never thrown: they are results.
 *
 * @example
 * ```ts
 * import { ApiKeyError, isApiKeyError } from "@fluenzr/api-keys";
 * try {
 *   await manager.create({ accountId: "acc_1", actor: { id: "u1", admin: false }, name: "CI" });
 * } catch (error) {
 *   if (isApiKeyError(error)) res.status(error.status ?? 500).json(error.body);
 * }
 * ```
 */
export class ApiKeyError extends Error {
  /** A stable, machine-readable code. */
  readonly code: ApiKeyErrorCode;
  /** HTTP status for errors that answer a client. */
  readonly status: number | undefined;
  /** The field that was refused, for `VALIDATION_ERROR`. */
  readonly field: string | undefined;
  /** The envelope to send: `{ success: false, error: { code, message } }`. */
  readonly body: ApiKeyErrorBody;

  constructor(code: ApiKeyErrorCode, message: string, options: ApiKeyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ApiKeyError";
    this.code = code;
    this.status = options.status;
    this.field = options.field;
    this.body = errorBody(code, message);
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True for an {@link ApiKeyError}, also one thrown by another copy of this package
 * (where `instanceof` fails).
 *
 * @example
 * ```ts
 * import { isApiKeyError } from "@fluenzr/api-keys";
 * if (isApiKeyError(error) && error.code === "NOT_FOUND") { ... }
 * ```
 */
export function isApiKeyError(value: unknown): value is ApiKeyError {
  return (
    value instanceof ApiKeyError ||
    (typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true)
  );
}

/** Throw `INVALID_OPTIONS` naming the option. @internal */
export function invalidOption(option: string, problem: string, cause?: unknown): never {
  throw new ApiKeyError("INVALID_OPTIONS", `Invalid option "${option}": ${problem}`, { cause, field: option });
}

/**
 * Check the options argument of a function: an object whose own names are all in `known`, else
 * `INVALID_OPTIONS` naming the first unknown one. A typo (`peper`, `enviroment`) would otherwise
 * silently fall back to a default: no pepper, no environment tag. Allocates nothing when the
 * options are fine. @internal
 */
export function checkOptionNames(options: unknown, known: readonly string[], what?: string, listed = known): void {
  if (typeof options !== "object" || options === null) {
    throw new ApiKeyError("INVALID_OPTIONS", `${what ?? "This function"} expects an options object`);
  }
  for (const name in options) {
    if (!known.includes(name) && Object.prototype.hasOwnProperty.call(options, name)) {
      invalidOption(name, `unknown option${what === undefined ? "" : ` of ${what}`} (expected ${listed.join(", ")})`);
    }
  }
}
