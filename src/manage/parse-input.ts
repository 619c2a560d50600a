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


/** Longest key id accepted (the manager's are far shorter; a custom store's may be longer). @internal */
export const MAX_KEY_ID_LENGTH = 200;

/**
 * What is wrong with `id` as a key id, or `null`: one rule, one wording, for revoke, rotate and
 * rotationStatus. @internal
 */
export function keyIdProblem(id: unknown): string | null {
  if (typeof id !== "string" || id.length === 0) return "a key id is required";
  if (id.length > MAX_KEY_ID_LENGTH) return `a key id is at most ${MAX_KEY_ID_LENGTH} characters`;
  if (!storableText(id)) return "not a key id (it holds a NUL or a lone surrogate)";
  return null;
}

/**
 * A field checked by one of this module's readers (`value`, or the `problem` to name), as a zod
 * schema: the same rule and words whether a method checks the field with zod or by hand.
 */
function schemaOf<T>(read: (value: unknown) => { value: T } | { problem: string }): z.ZodType<T> {
  return z.unknown().transform((v, ctx): T => {
    const reading = read(v);
    if ("problem" in reading) {
      ctx.addIssue({ code: "custom", message: reading.problem });
      return z.NEVER;
    }
    return reading.value;
  }) as unknown as z.ZodType<T>;
}

/** A key id as the manager issues them (and any custom store's, up to 200 characters). @internal */
export const keyIdSchema = schemaOf((v) => {
  const problem = keyIdProblem(v);
  return problem === null ? { value: v as string } : { problem };
});

/** Longest date string looked at; a longer one is refused before any parsing. @internal */
export const MAX_DATE_TEXT = 40;

// `2030-01-31`, or `2030-01-31T12:00`, `…:00`, `…:00.123` (up to 9 decimals) with `Z` or `±hh:mm`.
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** What a date field accepts, in the words of its error. @internal */
export const DATE_EXPECTED = "must be a Date or an ISO 8601 date (2030-01-31, or 2030-01-31T12:00:00Z with Z or an offset)";

/** Days in `month` (1–12) of `year`, years 0–99 included (`Date.UTC` would read those as 1900–1999). */
function daysIn(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/**
 * A date field's value as a valid Date, or the reason it is none. Takes a real Date (of any realm,
 * read by its internal time: a Proxy of a Date is no Date) or an ISO 8601 string, strictly: a
 * date alone (midnight UTC, as `Date` reads it), or a date and time that says its offset (`Z` or
 * `+02:00`). A time without an offset, or text such as `01/02/2030` or `March 7, 2030`, is refused
 * rather than read in the server's time zone or the server's idea of day and month order. @internal
 */
export function dateFromInput(value: unknown): Date | string {
  if (typeof value === "string") {
    if (value.length > MAX_DATE_TEXT) return DATE_EXPECTED;
    const m = ISO_DATE.exec(value);
    if (m === null) return DATE_EXPECTED;
    const [, y, mo, d, h, mi, sec, frac, zone] = m;
    if (h !== undefined && zone === undefined) return "needs Z or an offset after the time (2030-01-31T12:00:00Z), so it does not depend on the server's time zone";
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h ?? 0);
    const minute = Number(mi ?? 0);
    const second = Number(sec ?? 0);
    let offset = 0;
    if (zone !== undefined && zone !== "Z") {
      const oh = Number(zone.slice(1, 3));
      const om = Number(zone.slice(4, 6));
      if (oh > 23 || om > 59) return DATE_EXPECTED;
      offset = (zone.charCodeAt(0) === 45 /* - */ ? -1 : 1) * (oh * 60 + om);
    }
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) {
      return DATE_EXPECTED;
    }
    const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, "0"));
    const utc = new Date(0);
    utc.setUTCFullYear(year, month - 1, day); // years 0–99 stay themselves (Date.UTC would add 1900)
    utc.setUTCHours(hour, minute - offset, second, ms);
    return utc;
  }
  const time = validTime(value);
  return time === null || Number.isNaN(time) ? DATE_EXPECTED : new Date(time);
}

const dateReading = (v: unknown): { value: Date } | { problem: string } => {
  const d = dateFromInput(v);
  return typeof d === "string" ? { problem: d } : { value: d };
};

/** A Date or an ISO 8601 string ({@link dateFromInput}), as a valid Date. @internal */
export const dateSchema = schemaOf(dateReading);

/** {@link dateSchema}, or `null`. @internal */
export const nullableDateSchema = schemaOf<Date | null>((v) => (v === null ? { value: null } : dateReading(v)));
