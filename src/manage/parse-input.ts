/**
 * Management input checked with zod: the first problem rejects with 400 `VALIDATION_ERROR`
 * naming the field, the same shape as `create`'s hand-written checks.
 *
 * @module
 */
import { z } from "zod";
import { ApiKeyError } from "../errors.js";
import { storableText } from "../store/key-store.js";

/** 400 VALIDATION_ERROR naming the field. @internal */
export function fieldError(field: string, problem: string): ApiKeyError {
  return new ApiKeyError("VALIDATION_ERROR", `Invalid ${field}: ${problem}`, { status: 400, field });
}

/** Parse `input` with `schema`, or throw naming the first refused field. @internal */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join(".") || "input";
  throw fieldError(field, issue?.message ?? "invalid");
}

/** A key id as the manager issues them (and any custom store's, up to 200 characters). @internal */
export const keyIdSchema = z
  .string({ error: "a key id is required" })
  .min(1, "a key id is required")
  .max(200, "a key id is at most 200 characters")
  .refine(storableText, "a key id is required");

/** A Date or an ISO 8601 string, as a valid Date. @internal */
export const dateSchema = z
  .union([z.date(), z.string().max(100)], { error: "must be a date" })
  .transform((v, ctx) => {
    const d = v instanceof Date ? new Date(v.getTime()) : new Date(v);
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: "custom", message: "must be a date" });
      return z.NEVER;
    }
    return d;
  });
