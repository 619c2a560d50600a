/**
 * Management input checked with zod: the first problem rejects with 400 `VALIDATION_ERROR`
 * naming the field, the same shape as `create`'s hand-written checks.
 *
 * @module
 */
import { z } from "zod";
import { propertyThatThrows } from "../lib/options.js";
import { ApiKeyError } from "../errors.js";
import { storableText, validTime } from "../store/key-store.js";

/** 400 VALIDATION_ERROR naming the field. @internal */
export function fieldError(field: string, problem: string): ApiKeyError {
  return new ApiKeyError("VALIDATION_ERROR", `Invalid ${field}: ${problem}`, { status: 400, field });
}

/** What a field whose getter (or Proxy trap) threw reads as: every check refuses it (403 or 400). @internal */
export const UNREADABLE: unique symbol = Symbol("unreadable field");

/** Where {@link readInput} keeps what it found besides the fields (not enumerable: zod never sees it). */
const EXTRA: unique symbol = Symbol("fields the method does not know");

/** A field the method does not know, as {@link readInput} found it: its name, or the input could not be listed. */
interface Extra {
  readonly fields: readonly string[];
  readonly name: string | typeof UNREADABLE;
}

/**
 * The fields of a management input, each read once; a field whose reading throws is
 * {@link UNREADABLE}. Not an object: every field `undefined` (the callers refuse that). The first
 * field the method does not know is kept aside for {@link refuseUnknownFields}, which the caller
 * runs after its administrator check. @internal
 */
export function readInput(input: unknown, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof input !== "object" || input === null) return out;
  for (const field of fields) {
    try {
      out[field] = (input as Record<string, unknown>)[field];
    } catch {
      out[field] = UNREADABLE;
    }
  }
  let name: string | typeof UNREADABLE | undefined;
  try {
    name = Object.keys(input).find((key) => !fields.includes(key));
  } catch {
    name = UNREADABLE;
  }
  if (name !== undefined) Object.defineProperty(out, EXTRA, { value: { fields, name } satisfies Extra });
  return out;
}

/** A field name the error may repeat: short and plain (a client-written name could hold a key). */
const NAMEABLE_FIELD = /^[A-Za-z][A-Za-z0-9_]{0,29}$/;

/**
 * Refuse a field the method does not know, found by {@link readInput} (400 `VALIDATION_ERROR`):
 * a misspelt `permission: "read-only"` or `gracePeriod` would otherwise be dropped, and the key
 * made with the default (all permissions, no grace) instead. The field is named when its name is
 * short and plain and holds no key head; otherwise the error names `input`. Called after the
 * administrator check, like every other field check. @internal
 */
export function refuseUnknownFields(read: object, head: string): void {
  const extra = (read as { [EXTRA]?: Extra })[EXTRA];
  if (extra === undefined) return;
  if (extra.name === UNREADABLE) throw fieldError("input", "could not be read");
  const shown = NAMEABLE_FIELD.test(extra.name) && !extra.name.includes(head) ? extra.name : null;
  const expected = extra.fields.join(", ");
  throw fieldError(shown ?? "input", shown === null ? `a field is not one of ${expected}` : `unknown field, expected one of ${expected}`);
}

/** Parse `input` with `schema`, or throw naming the first refused field. @internal */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  let field: string;
  let problem: string;
  try {
    const result = schema.safeParse(input);
    if (result.success) return result.data;
    // Inside the try: zod words its messages on first access, and describing a Proxy whose traps
    // throw (its prototype, its type) throws a raw TypeError.
    const issue = result.error.issues[0];
    field = issue?.path.map(String).join(".") || "input";
    problem = issue?.message ?? "invalid";
  } catch {
    field = propertyThatThrows(schema, input) ?? "input";
    problem = "could not be read";
  }
  throw fieldError(field, problem);
}


/** A key id as the manager issues them (and any custom store's, up to 200 characters). @internal */
export const keyIdSchema = z
  .string({ error: "a key id is required" })
  .min(1, "a key id is required")
  .max(200, "a key id is at most 200 characters")
  .refine(storableText, "a key id is required");

/**
 * A real Date (of any realm) by its internal time value: `z.date()` calls `getTime()` on anything
 * `instanceof Date`, which throws a raw TypeError for a Proxy of a Date or an object made from
 * Date.prototype. An Invalid Date passes here and is refused below.
 */
const realDate = z.custom<Date>((v) => {
  try {
    Date.prototype.getTime.call(v);
    return true;
  } catch {
    return false;
  }
});

/** A Date or an ISO 8601 string, as a valid Date. @internal */
export const dateSchema = z
  .union([realDate, z.string().max(100)], { error: "must be a date" })
  .transform((v, ctx) => {
    const d = typeof v === "string" ? new Date(v) : new Date(validTime(v) ?? NaN);
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: "custom", message: "must be a date" });
      return z.NEVER;
    }
    return d;
  });
