/**
 * The key format: `<prefix>_<type>_[<env>_]<body>` (docs/key-format.md).
 *
 * @module
 */
import { checkOptionNames, invalidOption } from "../errors.js";
import { crc32Update } from "./checksum.js";

/**
 * Longest input any parser here looks at; anything longer is refused before other work.
 *
 * @example
 * ```ts
 * import { MAX_KEY_LENGTH } from "@fluenzr/api-keys";
 * const field = z.string().max(MAX_KEY_LENGTH); // a form field that takes a key
 * ```
 */
export const MAX_KEY_LENGTH = 256;

/**
 * Characters in a key body (after the prefix, type and environment tag).
 *
 * @example
 * ```ts
 * import { BODY_LENGTH } from "@fluenzr/api-keys";
 * const body = key.slice(-BODY_LENGTH); // "flz_sk_prod_<32 characters>"
 * ```
 */
export const BODY_LENGTH = 32;

/**
 * Options of {@link defineKeyFormat}.
 *
 * @example
 * ```ts
 * import { defineKeyFormat, getDefaultKeyFormat, type KeyFormatOptions } from "@fluenzr/api-keys";
 * const options: KeyFormatOptions = { prefix: "acme", type: "pk", environments: ["live", "test"], checksum: true };
 * defineKeyFormat(options).head; // "acme_pk_"
 * defineKeyFormat({ ...getDefaultKeyFormat(), checksum: false }); // a format spreads into options: flz_sk_ without checksum
 * ```
 */
export interface KeyFormatOptions {
  /** Vendor prefix, lower-case letters and digits, starting with a letter. Default `"flz"`. */
  prefix?: string | undefined;
  /** Key type, lower-case letters and digits. Default `"sk"` (secret key). */
  type?: string | undefined;
  /** Allowed environment tags, lower-case letters and digits. Default `["prod", "stag", "dev"]`. */
  environments?: readonly string[] | undefined;
  /** Last 6 body characters are a CRC-32 checksum. Default `true`; `false` for 32 random characters. */
  checksum?: boolean | undefined;
}

/**
 * A validated, frozen key format. Build one with {@link defineKeyFormat}.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, defineKeyFormat, generateApiKey, type KeyFormat } from "@fluenzr/api-keys";
 * const format: KeyFormat = defineKeyFormat({ prefix: "acme", environments: ["live", "test"] });
 * format.head;         // "acme_sk_"
 * format.environments; // ["live", "test"]
 * generateApiKey({ format, environment: "test" }).key; // "acme_sk_test_…"
 * const auth = createApiKeyAuth({ store, format });    // the authenticator reads the same format
 * ```
 */
export interface KeyFormat {
  readonly prefix: string;
  readonly type: string;
  readonly environments: readonly string[];
  readonly checksum: boolean;
  /** `"<prefix>_<type>_"`, what every key starts with. */
  readonly head: string;
  /** @internal CRC state after `head` and after `head + env + "_"`, per environment. */
  readonly crcStates: ReadonlyMap<string | null, number>;
  /** @internal The same states as a list: untagged first, then by environment index. */
  readonly crcStateList: readonly number[];
}

const TAG = /^[a-z][a-z0-9]{0,15}$/;

/**
 * What `defineKeyFormat` reads, plus the fields it derives (so `{ ...format, checksum: false }`
 * still works: the derived ones are computed again, never taken from the input).
 */
const FORMAT_OPTION_NAMES: readonly string[] = ["prefix", "type", "environments", "checksum"];
const FORMAT_FIELDS: readonly string[] = [...FORMAT_OPTION_NAMES, "head", "crcStates", "crcStateList"];

/**
 * Define a key format. Bad options throw an `ApiKeyError` (`INVALID_OPTIONS`) naming the option.
 *
 * @example
 * ```ts
 * import { defineKeyFormat, generateApiKey } from "@fluenzr/api-keys";
 * const format = defineKeyFormat({ prefix: "acme", type: "sk", environments: ["live", "test"] });
 * generateApiKey({ format, environment: "test" }).key; // "acme_sk_test_…"
 * ```
 */
export function defineKeyFormat(options: KeyFormatOptions = {}): KeyFormat {
  if (typeof options !== "object" || options === null) invalidOption("format", "expected an object");
  const o = checkOptionNames(options, FORMAT_FIELDS, "defineKeyFormat", FORMAT_OPTION_NAMES) as KeyFormatOptions;
  // Only a field left out (or undefined) takes the default: `null` is a value, refused below, as
  // `format: null` is everywhere else (a caller meaning "no environments" must not get three).
  const prefix: unknown = o.prefix === undefined ? "flz" : o.prefix;
  const type: unknown = o.type === undefined ? "sk" : o.type;
  const checksum: unknown = o.checksum === undefined ? true : o.checksum;
  if (typeof prefix !== "string" || !TAG.test(prefix))
    invalidOption("prefix", "1 to 16 lower-case letters or digits, starting with a letter");
  if (typeof type !== "string" || !TAG.test(type))
    invalidOption("type", "1 to 16 lower-case letters or digits, starting with a letter");
  // Copied once: a Proxy (or a revoked one) that throws is refused naming the option, not a raw TypeError.
  let environments: unknown[] | undefined;
  try {
    const given: unknown = o.environments === undefined ? ["prod", "stag", "dev"] : o.environments;
    environments = Array.isArray(given) ? Array.from(given as unknown[]) : undefined;
  } catch (cause) {
    invalidOption("environments", "could not be read (a getter or Proxy trap threw)", cause);
  }
  if (environments === undefined) invalidOption("environments", "expected an array of tags");
  for (const env of environments) {
    if (typeof env !== "string" || !TAG.test(env))
      invalidOption("environments", "each tag is 1 to 16 lower-case letters or digits, starting with a letter");
  }
  if (new Set(environments).size !== environments.length) invalidOption("environments", "tags must be distinct");
  if (typeof checksum !== "boolean") invalidOption("checksum", "expected a boolean");
  const tags = environments as string[];
  const head = `${prefix}_${type}_`;
  const crcStates = new Map<string | null, number>();
  const headState = crc32Update(0xffffffff, head);
  crcStates.set(null, headState);
  for (const env of tags) crcStates.set(env, crc32Update(headState, `${env}_`));
  const format = {
    prefix,
    type,
    environments: Object.freeze([...tags]),
    checksum,
    head,
    crcStates,
    crcStateList: Object.freeze([headState, ...tags.map((env) => crcStates.get(env) as number)]),
  };
  // The mark of a format built here (not enumerable: `{ ...format }` is options, not a format).
  Object.defineProperty(format, FORMAT_BRAND, { value: true });
  return Object.freeze(format);
}

/** Marks formats built by {@link defineKeyFormat}, also by another copy of this package. */
const FORMAT_BRAND = Symbol.for("@fluenzr/api-keys/KeyFormat");

let defaultFormat: KeyFormat | undefined;

/**
 * The default format: `flz_sk_[prod_|stag_|dev_]` and a checksummed 32-character body.
 *
 * @example
 * ```ts
 * import { getDefaultKeyFormat } from "@fluenzr/api-keys";
 * getDefaultKeyFormat().head; // "flz_sk_"
 * ```
 */
export function getDefaultKeyFormat(): KeyFormat {
  return (defaultFormat ??= defineKeyFormat());
}

/**
 * Is this a format built by {@link defineKeyFormat}? Not a look-alike (`{ head, crcStates }`,
 * a spread copy): the parsers read fields such an object lacks. Never throws. @internal
 */
export function isKeyFormat(value: unknown): value is KeyFormat {
  try {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[FORMAT_BRAND] === true;
  } catch {
    return false;
  }
}

/** The display hint: head, environment and the last 4 characters. @internal */
export function hintOf(format: KeyFormat, environment: string | null, key: string): string {
  return `${format.head}${environment === null ? "" : `${environment}_`}…${key.slice(-4)}`;
}
