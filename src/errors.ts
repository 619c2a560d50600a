/**
 * The one error class of the package and the check that works across copies of it.
 *
 * @module
 */

/**
 * Stable error codes carried by {@link ApiKeyError}.
 *
 * @example
 * ```ts
 * import { isApiKeyError, type ApiKeyErrorCode } from "@fluenzr/api-keys";
 * const codeOf = (error: unknown): ApiKeyErrorCode | undefined => (isApiKeyError(error) ? error.code : undefined);
 * await manager.revoke({ accountId: "acc_1", actor, id: "key_123" }).catch((error: unknown) => {
 *   if (codeOf(error) === "NOT_FOUND") return null; // status 404, "API key not found"
 *   throw error;
 * });
 * ```
 */
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

/**
 * The JSON body every failure answers with: `{"success":false,"error":{...}}`.
 *
 * @example
 * ```ts
 * import { errorBody, type ApiKeyErrorBody } from "@fluenzr/api-keys";
 * const notFound: ApiKeyErrorBody = errorBody("NOT_FOUND", "Contact not found"); // your own errors, same envelope
 * res.status(404).json(notFound);
 * // a client reads every failure the same way:
 * const { error } = (await response.json()) as ApiKeyErrorBody; // { code: "UNAUTHORIZED", message: "Invalid or missing API key" }
 * ```
 */
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

/**
 * Options of {@link ApiKeyError}.
 *
 * @example
 * ```ts
 * import { ApiKeyError, type ApiKeyErrorOptions } from "@fluenzr/api-keys";
 * const options: ApiKeyErrorOptions = { status: 400, field: "name" };
 * const error = new ApiKeyError("VALIDATION_ERROR", "Invalid name: must be 1 to 100 printable characters", options);
 * error.field; // "name"
 * error.body;  // { success: false, error: { code: "VALIDATION_ERROR", message: "Invalid name: must be 1 to 100 printable characters" } }
 * new ApiKeyError("STORE_ERROR", "insert failed", { cause: driverError }); // the original error, for your logs
 * ```
 */
export interface ApiKeyErrorOptions {
  /** HTTP status to answer with, for errors that reach a client (management calls). */
  status?: number | undefined;
  /** The field of the input that was refused, for `VALIDATION_ERROR`. */
  field?: string | undefined;
  /** The original error. */
  cause?: unknown;
}

/**
 * The only error class this package throws or rejects with, from every subpath (`/postgres`,
 * `/redis`, the adapters and `/testing` throw this same class). Configuration mistakes throw it at
 * setup (`INVALID_OPTIONS`); management calls reject with it carrying `status` and `body`.
 * Bad keys on the request path are never thrown: they are results. `instanceof ApiKeyError`
 * holds within one module system; where an app mixes `import` and `require` of the package (two
 * copies), use {@link isApiKeyError}, which recognises both.
 *
 * @example
 * ```ts
 * import { ApiKeyError, isApiKeyError } from "@fluenzr/api-keys";
 * try {
 *   await manager.create({ accountId: "acc_1", actor: { id: "u1", admin: false }, name: "CI" });
 * } catch (error) {
 *   if (isApiKeyError(error)) res.status(error.status ?? 500).json(error.body);
 * }
 * // Your own store or plan lookup may throw it too:
 * throw new ApiKeyError("NOT_FOUND", "API key not found", { status: 404 });
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
 * True for an {@link ApiKeyError}, also one thrown by another copy of this package (the
 * CommonJS build where you `import`ed the ES module build, or a second installed version), where
 * `instanceof` fails. The test to use in code that may meet both.
 *
 * @example
 * ```ts
 * import { isApiKeyError } from "@fluenzr/api-keys";
 * if (isApiKeyError(error) && error.code === "NOT_FOUND") console.warn("no such key");
 * ```
 */
export function isApiKeyError(value: unknown): value is ApiKeyError {
  // Never throws: it runs in catch blocks on whatever was thrown, a revoked Proxy included.
  try {
    return (
      value instanceof ApiKeyError ||
      (typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true)
    );
  } catch {
    return false;
  }
}

/**
 * An unknown option's name as it may be repeated in an error: short identifier-like names only.
 * Anything else (31 characters or more could be a key's body; any key is longer) is described,
 * not echoed, since a key pasted in the wrong place must not reach logs through the error. @internal
 */
export function shownOptionName(name: string): string {
  return /^[A-Za-z_$][\w$.-]{0,29}$/.test(name) ? name : "(an unknown option)";
}

/**
 * Is `value` an options object: a plain object, of any realm (`{ … }`, `Object.create(null)`)? Not
 * an array, a Map or another built-in whose entries are not its properties, and not a class
 * instance or an object whose options come from its prototype: options are read as own
 * properties, so a getter of a class or an inherited `environment` would be dropped silently (a
 * server meant for `prod` keys accepting `dev` ones). @internal
 */
export function isOptionsObject(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  try {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) return true; // the usual case, at once
    // Another realm's plain object: its prototype is that realm's Object.prototype, which has none.
    return (
      typeof proto === "object" &&
      Object.getPrototypeOf(proto) === null &&
      !Array.isArray(value) &&
      Object.prototype.toString.call(value) === "[object Object]"
    );
  } catch {
    // A revoked Proxy, a throwing trap: taken as options here, so reading them reports the
    // option that could not be read, as for any other unreadable options object.
    return true;
  }
}

/** Throw `INVALID_OPTIONS` naming the option. @internal */
export function invalidOption(option: string, problem: string, cause?: unknown): never {
  throw new ApiKeyError("INVALID_OPTIONS", `Invalid option "${option}": ${problem}`, { cause, field: option });
}

/**
 * Read option `name` once. A getter (or Proxy trap) that throws is `INVALID_OPTIONS` naming the
 * option (as `label`, e.g. `runner.describe`), never the raw error. @internal
 */
export function readOption(options: object, name: string, label = name): unknown {
  try {
    return (options as Record<string, unknown>)[name];
  } catch (cause) {
    return invalidOption(label, "could not be read (its getter threw)", cause);
  }
}

/**
 * Check the options argument of a function: an object whose own names are all in `known`, else
 * `INVALID_OPTIONS` naming the first unknown one. A typo (`peper`, `enviroment`) would otherwise
 * silently fall back to a default: no pepper, no environment tag. Returns the known options, each
 * read once ({@link readOption}), so a getter or Proxy that throws, or answers differently on a
 * second read, is refused or read consistently. @internal
 */
export function checkOptionNames(options: unknown, known: readonly string[], what?: string, listed = known): Record<string, unknown> {
  // A Map or an array is an object too, but its entries are no options: `hashApiKey(key, new
  // Map([["pepper", …]]))` would otherwise hash without the pepper, silently.
  if (!isOptionsObject(options)) {
    throw new ApiKeyError("INVALID_OPTIONS", `${what ?? "This function"} expects a plain options object ({ … }; not a class instance or an object that inherits its options)`);
  }
  let names: string[];
  try {
    names = Object.keys(options); // own enumerable names, as for-in with hasOwnProperty
  } catch (cause) {
    // A Proxy whose ownKeys trap throws, a revoked Proxy: nothing can be read from it.
    throw new ApiKeyError("INVALID_OPTIONS", `${what ?? "This function"}: the options object could not be read`, { cause, field: "(options)" });
  }
  for (const name of names) {
    if (!known.includes(name)) {
      invalidOption(shownOptionName(name), `unknown option${what === undefined ? "" : ` of ${what}`} (expected ${listed.join(", ")})`);
    }
  }
  const values: Record<string, unknown> = {};
  for (const name of known) values[name] = readOption(options, name);
  return values;
}
