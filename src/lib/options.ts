/**
 * Option checking at setup with zod: the first problem throws `INVALID_OPTIONS` naming the option.
 *
 * @module
 */
import { z } from "zod";
import { ApiKeyError, invalidOption, isOptionsObject, shownOptionName } from "../errors.js";
import { isKeyFormat, type KeyFormat } from "../format/key-format.js";
import type { KeyStore } from "../store/key-store.js";

/** Parse `input` with `schema`, or throw naming the first bad option. @internal */
export function parseOptions<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  if (!isOptionsObject(input)) {
    throw new ApiKeyError("INVALID_OPTIONS", `${what} expects a plain options object ({ … }; not a class instance or an object that inherits its options)`);
  }
  // zod does not catch what a getter or a Proxy trap throws: read each option once here, and
  // name the one whose reading threw (at the top level, or further down while zod checks it).
  const given = readAll(input, what);
  let result: ReturnType<typeof schema.safeParse>;
  let issue: z.core.$ZodIssue | undefined;
  let problem: string;
  try {
    result = schema.safeParse(given);
    if (result.success) return result.data;
    // Inside the try too: zod words its messages on first access, and describing a revoked Proxy throws.
    issue = result.error.issues[0];
    if (issue !== undefined) issue = innermostIssue(issue);
    problem = issue?.message ?? "invalid";
  } catch (cause) {
    throw unreadable(what, propertyThatThrows(schema, given) ?? "(options)", cause);
  }
  let option = issue?.path.map(String).join(".") ?? "";
  if (issue?.code === "unrecognized_keys") {
    // The same words as checkOptionNames: "unknown option (expected …)", not zod's wording.
    const known = optionNamesAt(schema, issue.path);
    option = [option, ...issue.keys.map(shownOptionName)].filter(Boolean).join(".");
    problem = known === undefined ? "unknown option" : `unknown option (expected ${known.join(", ")})`;
  }
  throw new ApiKeyError("INVALID_OPTIONS", `${what}: invalid option "${option || "(options)"}": ${problem}`, {
    field: option,
    cause: result.error,
  });
}

/**
 * For an option that takes one of several shapes (`timeouts`: a number or `{ storeMs, accountsMs }`),
 * zod reports "Invalid input" on the option itself. The problem is then named inside the shape the
 * value does have: `timeouts.storeMs` for `{ storeMs: "x" }`.
 */
function innermostIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  let current = issue;
  while (current.code === "invalid_union") {
    // A branch whose first issue is a wrong type of the value itself is a shape the value does not have.
    const branch = current.errors.find((issues) => {
      const first = issues[0];
      return first !== undefined && !(first.code === "invalid_type" && first.path.length === 0);
    });
    const inner = branch?.[0];
    if (inner === undefined) {
      // None: say every shape it could have had ("expected int or object").
      const expected = current.errors.map((issues) => (issues[0] as { expected?: unknown } | undefined)?.expected).filter((e) => typeof e === "string");
      if (expected.length === current.errors.length && expected.length > 0) {
        current = { ...current, message: `Invalid input: expected ${expected.join(" or ")}` };
      }
      break;
    }
    current = { ...inner, path: [...current.path, ...inner.path] } as z.core.$ZodIssue;
  }
  return current;
}

function unreadable(what: string, option: string, cause: unknown): ApiKeyError {
  return new ApiKeyError("INVALID_OPTIONS", `${what}: invalid option "${option}": could not be read (a getter or Proxy trap threw)`, {
    field: option,
    cause,
  });
}

/** Every own enumerable option, read once, into a plain object (an own `__proto__` stays an own, unknown, option). */
function readAll(input: object, what: string): Record<string, unknown> {
  let names: string[];
  try {
    names = Object.keys(input);
  } catch (cause) {
    throw new ApiKeyError("INVALID_OPTIONS", `${what}: the options object could not be read`, { field: "(options)", cause });
  }
  const given: Record<string, unknown> = {};
  for (const name of names) {
    let value: unknown;
    try {
      value = (input as Record<string, unknown>)[name];
    } catch (cause) {
      throw unreadable(what, name, cause);
    }
    Object.defineProperty(given, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return given;
}

/**
 * The property of an object schema whose own check throws on `input` (a getter, or a Proxy
 * inside its value): zod lets such errors through, so the callers that caught one name it with
 * this. Shared by option checks here and management input (manage/parse-input.ts). @internal
 */
export function propertyThatThrows(schema: z.ZodType, input: unknown): string | undefined {
  if (!(schema instanceof z.ZodObject) || typeof input !== "object" || input === null) return undefined;
  const shape = schema.shape as Record<string, z.ZodType | undefined>;
  for (const name of Object.keys(shape)) {
    try {
      const result = shape[name]?.safeParse((input as Record<string, unknown>)[name]);
      if (result?.success === false) void result.error.issues[0]?.message;
    } catch {
      return name;
    }
  }
  return undefined;
}

/** The option names an object schema at `path` knows, through optional and nullable wrappers. */
function optionNamesAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let at: unknown = schema;
  for (let i = 0; i <= path.length; i++) {
    while (at instanceof z.ZodOptional || at instanceof z.ZodNullable) at = at.unwrap();
    if (!(at instanceof z.ZodObject)) return undefined;
    if (i === path.length) return Object.keys(at.shape as Record<string, unknown>);
    at = (at.shape as Record<string, unknown>)[String(path[i])];
  }
  return undefined;
}

const METHODS = ["insert", "getByHash", "getById", "listByAccount", "revoke", "recordUsage"] as const;

/** A KeyStore-shaped object. @internal */
export const storeSchema = z.custom<KeyStore>(
  (v) => typeof v === "object" && v !== null && METHODS.every((m) => typeof (v as Record<string, unknown>)[m] === "function"),
  { message: `expected a KeyStore (an object with ${METHODS.join(", ")})` },
);

/** Plan lookup. @internal */
export const accountsSchema = z.custom<{ getPlan(accountId: string): unknown }>(
  (v) => typeof v === "object" && v !== null && typeof (v as { getPlan?: unknown }).getPlan === "function",
  { message: "expected { getPlan(accountId) }" },
);

/** A format built by defineKeyFormat. @internal */
export const formatSchema = z.custom<KeyFormat>(isKeyFormat, { message: "expected a format from defineKeyFormat()" });

/** A clock. @internal */
export const clockSchema = z.custom<{ now(): number }>(
  (v) => typeof v === "object" && v !== null && typeof (v as { now?: unknown }).now === "function",
  { message: "expected { now(): number }" },
);

/**
 * Read a configured clock once at setup: it must give a finite number (ms since the epoch). A
 * stub that returns nothing would otherwise make every expiry and revocation check fail open.
 * @internal
 */
export function checkClockReading(clock: { now(): number }, option = "clock"): void {
  let reading: unknown;
  try {
    reading = clock.now();
  } catch {
    invalidOption(option, "now() threw when read at setup");
  }
  if (typeof reading !== "number" || !Number.isFinite(reading)) {
    invalidOption(option, "now() must return a finite number of milliseconds since the epoch");
  }
}

/** A function. @internal */
export const functionSchema = z.custom<(...args: never[]) => unknown>((v) => typeof v === "function", {
  message: "expected a function",
});

/** Anything, checked later by normalizePeppers (which names the option). @internal */
export const pepperSchema = z.unknown();

/** Plan names: non-empty list of non-empty strings. @internal */
export const apiPlansSchema = z.array(z.string().min(1)).min(1, "list at least one plan");

/** "pro" -> "Pro". @internal */
export function displayPlanName(plan: string): string {
  return plan.charAt(0).toUpperCase() + plan.slice(1);
}

/** The system clock. @internal */
export const systemClock = { now: (): number => Date.now() };

/** Longest delay a timer takes (2^31 - 1 ms, about 24.8 days); a longer one would fire at once. @internal */
export const MAX_TIMER_MS = 2_147_483_647;

/** The `timeouts` option of the authenticator and the manager: a number for both, or one each. @internal */
export const timeoutsSchema = z.union([
  z.number().int().positive().max(MAX_TIMER_MS),
  z.strictObject({
    storeMs: z.number().int().positive().max(MAX_TIMER_MS).optional(),
    accountsMs: z.number().int().positive().max(MAX_TIMER_MS).optional(),
  }),
]);

/** The two limits a `timeouts` option sets (default 2000 ms each). @internal */
export function timeLimits(timeouts: z.output<typeof timeoutsSchema> | undefined): { storeMs: number; accountsMs: number } {
  if (typeof timeouts === "number") return { storeMs: timeouts, accountsMs: timeouts };
  return { storeMs: timeouts?.storeMs ?? 2000, accountsMs: timeouts?.accountsMs ?? 2000 };
}
