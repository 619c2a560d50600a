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

/**
 * The fields of a management input, each read once; a field whose reading throws is
 * {@link UNREADABLE}. Not an object: every field `undefined` (the callers refuse that). @internal
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
  return out;
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
