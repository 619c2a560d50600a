/**
 * The KeyStore conformance suite: the rules of the KeyStore contract as tests, for any store.
 *
 * @module
 */
import { ApiKeyError, checkOptionNames, invalidOption, isApiKeyError, readOption } from "../errors.js";
import { generateApiKey } from "../format/generate-api-key.js";
import { hashApiKey } from "../hash/hash-api-key.js";
import { dateTime, type ApiKeyRecord, type ApiKeyRevocation, type KeyStore } from "../store/key-store.js";
import { testRunner, type TestRunner } from "./test-runner.js";

/**
 * Options of {@link runKeyStoreConformance}.
 *
 * @example
 * ```ts
 * import { runKeyStoreConformance, type KeyStoreConformanceOptions } from "@fluenzr/api-keys/testing";
 * const options: KeyStoreConformanceOptions = {
 *   strictInput: true, // also the input checks this package's stores make
 *   rotationRules: true, // and their rotation rules
 *   teardown: (store) => (store as MyStore).close(),
 * };
 * runKeyStoreConformance("MyStore", () => new MyStore(process.env.DATABASE_URL), options);
 * ```
 */
export interface KeyStoreConformanceOptions {
  /** Called after each test with the store it used (close connections here). */
  teardown?: ((store: KeyStore) => void | Promise<void>) | undefined;
  /** How long to wait for a revocation announcement. Default 3000 ms. */
  announcementTimeoutMs?: number | undefined;
  /** `describe` and `it` of your test runner. Default: vitest's (or test globals under CommonJS). */
  runner?: TestRunner | undefined;
  /**
   * Also hold the store to the input checks every store of this package makes (default `false`):
   * `revoke` refuses an `at` that is not a valid Date and `recordUsage` skips such times, `insert` refuses a malformed record (bad or out-of-range dates, wrong types, NUL characters,
   * unknown permissions, metadata that is not a JSON object) with `INVALID_INPUT` and stores
   * nothing, takes absent nullable fields as `null`, keeps dates from 1970 to 9999, and `revoke`
   * refuses a `reason` that is not a non-empty string. Not part of the KeyStore contract (see
   * docs/custom-key-store.md), so a store of your own passes without it; turn it on if yours
   * checks input too.
   */
  strictInput?: boolean | undefined;
  /**
   * Also hold the store to the rotation rules every store of this package keeps (default `false`):
   * `insert` refuses a record with a `rotatedFromId` when the account already holds a live
   * successor of that key (not revoked, or revoked only with reason `"rotated"`) with
   * `ApiKeyError` `CONFLICT`, while a successor revoked otherwise does not block one; and a
   * `"rotated"` revocation never replaces one made for another reason, even a later one. They make
   * rotations from several servers at once safe (see docs/custom-key-store.md); not part of the
   * KeyStore contract, so a store of your own passes without them.
   */
  rotationRules?: boolean | undefined;
}

/**
 * The arguments of {@link runKeyStoreConformance}, checked when the suite is defined: a typo
 * (`strictinput`) or a wrong type (`strictInput: "yes"`) would otherwise silently run a weaker
 * suite, and a bad runner would fall back to another one. Each option is read once.
 */
function conformanceOptions(name: unknown, makeStore: unknown, given: unknown): KeyStoreConformanceOptions {
  const what = "runKeyStoreConformance";
  if (typeof name !== "string" || name.length === 0) throw new ApiKeyError("INVALID_OPTIONS", `${what}: "name" must be a non-empty string`, { field: "name" });
  if (typeof makeStore !== "function") throw new ApiKeyError("INVALID_OPTIONS", `${what}: "makeStore" must be a function that returns a KeyStore`, { field: "makeStore" });
  const o = checkOptionNames(given, ["teardown", "announcementTimeoutMs", "runner", "strictInput", "rotationRules"], what) as KeyStoreConformanceOptions;
  if (o.teardown !== undefined && typeof o.teardown !== "function") invalidOption("teardown", "a function");
  const wait = o.announcementTimeoutMs;
  if (wait !== undefined && !(typeof wait === "number" && Number.isInteger(wait) && wait > 0 && wait <= 2_147_483_647))
    invalidOption("announcementTimeoutMs", "a positive integer of ms");
  for (const flag of ["strictInput", "rotationRules"] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== "boolean") invalidOption(flag, "true or false");
  }
  const runner: unknown = o.runner;
  if (runner !== undefined) {
    if (typeof runner !== "object" || runner === null) invalidOption("runner", "expected { describe, it }");
    const run = { describe: readOption(runner, "describe", "runner.describe"), it: readOption(runner, "it", "runner.it") };
    if (typeof run.describe !== "function" || typeof run.it !== "function") invalidOption("runner", "expected { describe, it }, both functions");
    o.runner = run as TestRunner;
  }
  return o;
}

class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConformanceFailure";
  }
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

/**
 * Both `null`, or both Dates of the same time. A Date of another realm counts (structuredClone in
 * a vm context, jest's test environment): it is read by its internal time, as the library does.
 */
function sameTime(a: Date | null, b: Date | null): boolean {
  if (a === null || b === null) return a === b;
  const ta = dateTime(a);
  const tb = dateTime(b);
  return ta !== null && tb !== null && ta === tb;
}

/** A value for a message: a Date with its milliseconds (`String(date)` drops them), and says when it is no Date. */
function shown(value: unknown): string {
  const time = dateTime(value);
  if (time !== null) return Number.isNaN(time) ? "an Invalid Date" : new Date(time).toISOString();
  return typeof value === "string" ? `the string ${JSON.stringify(value)} (not a Date)` : String(value);
}

/**
 * A time `offsetMs` from now, its milliseconds set to 123: a store that drops milliseconds (a
 * column of whole seconds, a time written as Unix seconds) or rounds them reads it back different,
 * so every exact comparison of a time in the suite catches it, on every run.
 */
function timeWithMs(offsetMs = 0): Date {
  const t = Date.now() + offsetMs;
  return new Date(t - (t % 1_000) + 123);
}

let counter = 0;

/**
 * A valid record with unique id, hash and account, for store tests. Override any field.
 * `createdAt` is about a second ago, with milliseconds (…123 ms), so a store that keeps whole
 * seconds reads it back different.
 *
 * @example
 * ```ts
 * import { makeTestRecord } from "@fluenzr/api-keys/testing";
 * await store.insert(makeTestRecord({ name: "CI", permissions: "read-only" }));
 * ```
 */
export function makeTestRecord(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const fields = overridesOf(overrides);
  const { key, hint, environment } = generateApiKey({ environment: "prod" });
  const unique = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return {
    id: `key_test_${unique}`,
    accountId: `acc_test_${unique}`,
    name: "Conformance",
    hash: hashApiKey(key),
    hint,
    environment,
    permissions: "all",
    // A second ago, with milliseconds (…123 ms): a store that drops them fails the suite.
    createdAt: timeWithMs(-1_000),
    createdBy: "usr_test",
    lastUsedAt: null,
    revokedAt: null,
    revokedReason: null,
    expiresAt: null,
    rotatedFromId: null,
    metadata: { team: "qa", tags: ["a", "b"] },
    ...fields,
  };
}

/**
 * The overrides of {@link makeTestRecord}, each read once: not an object, or an override whose
 * getter throws, is INVALID_OPTIONS naming it (a string would spread as fields "0", "1", …).
 */
function overridesOf(overrides: unknown): Partial<ApiKeyRecord> {
  let names: string[] | undefined;
  try {
    if (typeof overrides === "object" && overrides !== null && !Array.isArray(overrides)) names = Object.keys(overrides);
  } catch (cause) {
    throw new ApiKeyError("INVALID_OPTIONS", 'makeTestRecord: "overrides" could not be read', { field: "overrides", cause });
  }
  if (names === undefined) throw new ApiKeyError("INVALID_OPTIONS", 'makeTestRecord: "overrides" must be an object of record fields', { field: "overrides" });
  const fields: Record<string, unknown> = {};
  for (const name of names) {
    Object.defineProperty(fields, name, { value: readOption(overrides as object, name, `overrides.${name}`), enumerable: true, writable: true, configurable: true });
  }
  return fields as Partial<ApiKeyRecord>;
}

function sameRecord(actual: ApiKeyRecord | null, expected: ApiKeyRecord, what: string): void {
  check(actual !== null, `${what}: expected the record, got null`);
  for (const field of ["id", "accountId", "name", "hash", "hint", "environment", "permissions", "createdBy", "revokedReason", "rotatedFromId"] as const) {
    check(actual[field] === expected[field], `${what}: field ${field} is ${String(actual[field])}, expected ${String(expected[field])}`);
  }
  for (const field of ["createdAt", "lastUsedAt", "revokedAt", "expiresAt"] as const) {
    check(sameTime(actual[field], expected[field]), `${what}: field ${field} is ${shown(actual[field])}, expected ${shown(expected[field])}`);
  }
  // Compared as JSON values: key order is not data (PostgreSQL's jsonb, for one, reorders keys).
  check(canonicalJson(actual.metadata) === canonicalJson(expected.metadata), `${what}: metadata differs`);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Resolves with the error `run` threw or rejected with (synchronously or not), or `undefined` if it succeeded. */
async function failure(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error ?? new Error(String(error));
  }
  return undefined;
}

/** Values of `at` (or `lastUsedAt`) a store must not take for a time. */
function badDates(): [label: string, value: unknown][] {
  return [
    ["an Invalid Date", new Date("garbage")],
    ["a date string", "2030-01-01T00:00:00.000Z"],
    ["a number", Date.now()],
    ["null", null],
  ];
}

/**
 * Records no store may take, each as [what is wrong, the field, the record's changes]. Every one
 * keeps a valid id and hash unless those are the field, so "nothing stored" can be read back.
 */
function malformedRecords(): [label: string, field: string, overrides: Record<string, unknown>][] {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  return [
    ["createdAt an Invalid Date", "createdAt", { createdAt: new Date("garbage") }],
    ["createdAt a date string", "createdAt", { createdAt: "2030-01-01T00:00:00.000Z" }],
    ["createdAt a number", "createdAt", { createdAt: Date.now() }],
    ["createdAt null", "createdAt", { createdAt: null }],
    ["createdAt before 1970", "createdAt", { createdAt: new Date(-1) }],
    ["createdAt after 9999", "createdAt", { createdAt: new Date("+010000-01-01T00:00:00.000Z") }],
    ["expiresAt an Invalid Date", "expiresAt", { expiresAt: new Date(Number.NaN) }],
    ["expiresAt a date string", "expiresAt", { expiresAt: "2030-01-01T00:00:00.000Z" }],
    ["expiresAt after 9999", "expiresAt", { expiresAt: new Date(8.64e15) }],
    ["lastUsedAt an Invalid Date", "lastUsedAt", { lastUsedAt: new Date("garbage") }],
    ["revokedAt an Invalid Date", "revokedAt", { revokedAt: new Date("garbage"), revokedReason: "revoked" }],
    ["permissions not all or read-only", "permissions", { permissions: "readonly" }],
    ["permissions missing", "permissions", { permissions: undefined }],
    ["an empty id", "id", { id: "" }],
    ["an id that is not a string", "id", { id: 42 }],
    ["an id over 200 characters", "id", { id: `key_${"x".repeat(200)}` }],
    ["an empty accountId", "accountId", { accountId: "" }],
    ["an empty hash", "hash", { hash: "" }],
    ["a hash that is null", "hash", { hash: null }],
    ["a missing hint", "hint", { hint: undefined }],
    ["a NUL in the name", "name", { name: "CI\u0000" }],
    ["a lone surrogate in the name", "name", { name: "CI \uD800" }],
    ["an empty environment", "environment", { environment: "" }],
    ["a createdBy that is not a string", "createdBy", { createdBy: 7 }],
    ["metadata an array", "metadata", { metadata: ["a"] }],
    ["metadata a string", "metadata", { metadata: "{}" }],
    ["metadata with a BigInt", "metadata", { metadata: { n: BigInt(1) } }],
    ["metadata with a cycle", "metadata", { metadata: cyclic }],
    ["metadata with a NUL", "metadata", { metadata: { team: "a\u0000b" } }],
  ];
}

async function rejectsDuplicate(promise: Promise<unknown>, what: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    check(isApiKeyError(error) && error.code === "DUPLICATE_KEY", `${what}: expected an ApiKeyError DUPLICATE_KEY, got ${String(error)}`);
    return;
  }
  throw new ConformanceFailure(`${what}: the store accepted it`);
}

/**
 * Run the KeyStore conformance suite under vitest (`describe`/`it`). `makeStore` is called for
 * each test; it may return the same store every time: every test uses its own ids and accounts,
 * so a shared database is fine.
 *
 * @example
 * ```ts
 * // test/my-store.test.ts
 * import { runKeyStoreConformance } from "@fluenzr/api-keys/testing";
 * import { MyStore } from "../src/my-store.js";
 * runKeyStoreConformance("MyStore", () => new MyStore(process.env.DATABASE_URL));
 * ```
 */
export function runKeyStoreConformance(
  name: string,
  makeStore: () => KeyStore | Promise<KeyStore>,
  given: KeyStoreConformanceOptions = {},
): void {
  const options = conformanceOptions(name, makeStore, given);
  const { describe, it } = testRunner(options.runner);
  // Cases of the input checks this package's stores make: run only when asked for.
  const strict: typeof it = options.strictInput === true ? it : () => undefined;
  const rotation: typeof it = options.rotationRules === true ? it : () => undefined;
  const withStore = (fn: (store: KeyStore) => Promise<void>) => async () => {
    const store = await makeStore();
    try {
      await fn(store);
    } finally {
      await options.teardown?.(store);
    }
  };

  describe(`KeyStore conformance: ${name}`, () => {
    it("inserts a record and reads it back by hash and by id", withStore(async (store) => {
      // Every time with milliseconds (…123 ms): a store that keeps whole seconds fails here.
      const record = makeTestRecord({ lastUsedAt: timeWithMs(-500), expiresAt: timeWithMs(86_400_000) });
      await store.insert(record);
      sameRecord(await store.getByHash(record.hash), record, "getByHash");
      sameRecord(await store.getById(record.id), record, "getById");
    }));

    strict("insert refuses a malformed record (INVALID_INPUT) and stores nothing of it", withStore(async (store) => {
      const valid = makeTestRecord();
      for (const [label, field, overrides] of malformedRecords()) {
        const bad = { ...valid, ...overrides } as unknown as ApiKeyRecord;
        const error = await failure(() => store.insert(bad));
        check(error !== undefined, `insert of a record with ${label} was accepted`);
        check(isApiKeyError(error) && error.code === "INVALID_INPUT", `insert of a record with ${label}: expected an ApiKeyError INVALID_INPUT (field ${field}), got ${String(error)}`);
        check((await store.getById(valid.id)) === null, `insert of a record with ${label} stored it (getById)`);
        check((await store.getByHash(valid.hash)) === null, `insert of a record with ${label} stored it (getByHash)`);
        check((await store.listByAccount(valid.accountId)).length === 0, `insert of a record with ${label} stored it (listByAccount)`);
      }
      for (const value of [null, undefined, "key", 42]) {
        const error = await failure(() => store.insert(value as unknown as ApiKeyRecord));
        check(isApiKeyError(error) && error.code === "INVALID_INPUT", `insert of ${String(value)}: expected an ApiKeyError INVALID_INPUT, got ${String(error)}`);
      }
      // Nothing half-stored: the valid record goes in under the same id and hash afterwards.
      await store.insert(valid);
      sameRecord(await store.getById(valid.id), valid, "the valid record after refused ones");
      check((await store.listByAccount(valid.accountId)).length === 1, "the account lists more than the valid record");
    }));

    strict("insert keeps a revoked record with its reason, absent nullable fields as null, and dates at the edges of the range", withStore(async (store) => {
      const revoked = makeTestRecord({ revokedAt: timeWithMs(-60_000), revokedReason: "rotated" });
      await store.insert(revoked);
      sameRecord(await store.getById(revoked.id), revoked, "a record inserted revoked");
      // A record written without the nullable fields (plain JavaScript, an older schema): all null,
      // and a revoked one without a reason reads "revoked".
      const sparse = makeTestRecord({ revokedAt: timeWithMs(-30_000) }) as unknown as Record<string, unknown>;
      for (const field of ["createdBy", "lastUsedAt", "revokedReason", "expiresAt", "rotatedFromId", "metadata"]) delete sparse[field];
      await store.insert(sparse as unknown as ApiKeyRecord);
      const read = await store.getById(sparse.id as string);
      check(read !== null, "a record without its nullable fields was not stored");
      check(read.createdBy === null && read.lastUsedAt === null && read.expiresAt === null && read.rotatedFromId === null && read.metadata === null, "absent nullable fields did not read back as null");
      check(read.revokedReason === "revoked" && sameTime(read.revokedAt, sparse.revokedAt as Date), "a revoked record without a reason did not read back as revoked");
      const edges = makeTestRecord({ createdAt: new Date(0), expiresAt: new Date("9999-12-31T23:59:59.999Z") });
      await store.insert(edges);
      sameRecord(await store.getByHash(edges.hash), edges, "a record with dates at the edges of the range");
    }));

    strict("revoke refuses a reason that is not a non-empty string (INVALID_INPUT), changing nothing", withStore(async (store) => {
      const record = makeTestRecord();
      await store.insert(record);
      for (const reason of ["", 42, null]) {
        const error = await failure(() => store.revoke(record.id, { reason: reason as string }));
        check(isApiKeyError(error) && error.code === "INVALID_INPUT", `revoke with ${JSON.stringify(reason)} as reason: expected an ApiKeyError INVALID_INPUT, got ${String(error)}`);
      }
      const after = await store.getById(record.id);
      check(after !== null && after.revokedAt === null && after.revokedReason === null, "a refused revoke changed the record");
    }));

    it("answers null for an unknown hash or id, and for a prefix of a stored one", withStore(async (store) => {
      const record = makeTestRecord();
      check((await store.getByHash(record.hash)) === null, "getByHash of an unknown hash is not null");
      check((await store.getById(record.id)) === null, "getById of an unknown id is not null");
      // The lookup is an equality on the whole hash (and id), never a prefix match.
      await store.insert(record);
      for (const prefix of [record.hash.slice(0, -1), record.hash.slice(0, Math.ceil(record.hash.length / 2))]) {
        check((await store.getByHash(prefix)) === null, `getByHash of a prefix of a stored hash (${prefix.length} of ${record.hash.length} characters) is not null`);
      }
      check((await store.getById(record.id.slice(0, -1))) === null, "getById of a prefix of a stored id is not null");
    }));

    it("refuses a duplicate hash and a duplicate id", withStore(async (store) => {
      const record = makeTestRecord();
      await store.insert(record);
      await rejectsDuplicate(store.insert(makeTestRecord({ hash: record.hash })), "insert with a stored hash");
      await rejectsDuplicate(store.insert(makeTestRecord({ id: record.id })), "insert with a stored id");
      sameRecord(await store.getById(record.id), record, "the first record after duplicates");
    }));

    it("lists the records of one account, oldest first, revoked ones included", withStore(async (store) => {
      const first = makeTestRecord({ createdAt: timeWithMs(-60_000) });
      const second = makeTestRecord({ accountId: first.accountId, createdAt: timeWithMs(-30_000) });
      const other = makeTestRecord();
      await store.insert(second);
      await store.insert(first);
      await store.insert(other);
      const expired = makeTestRecord({ accountId: first.accountId, createdAt: timeWithMs(-10_000), expiresAt: timeWithMs(-5_000) });
      await store.insert(expired);
      await store.revoke(second.id);
      const list = await store.listByAccount(first.accountId);
      check(list.length === 3, `listByAccount gave ${list.length} records, expected 3 (revoked and expired keys are listed too)`);
      check(list[0]?.id === first.id && list[1]?.id === second.id && list[2]?.id === expired.id, "listByAccount is not oldest first");
      check(dateTime(list[1]?.revokedAt) !== null, "the revoked record is listed without revokedAt");
      check((await store.listByAccount(`${first.accountId}_none`)).length === 0, "an account without keys lists records");
    }));

    it("revoke is idempotent and irreversible: a second revoke keeps the first time", withStore(async (store) => {
      const record = makeTestRecord();
      await store.insert(record);
      const firstAt = timeWithMs(-5_000);
      const first = await store.revoke(record.id, { at: firstAt });
      check(first !== null && sameTime(first.revokedAt, firstAt), "revoke did not set revokedAt to the time given");
      check(first.revokedReason === "revoked", "revoke did not record the reason");
      const second = await store.revoke(record.id, { at: new Date(), reason: "rotated" });
      check(second !== null && sameTime(second.revokedAt, firstAt), "a second revoke moved revokedAt");
      check(second.revokedReason === "revoked", "a second revoke changed the reason");
      await store.recordUsage([{ id: record.id, lastUsedAt: new Date() }]);
      const after = await store.getByHash(record.hash);
      check(after !== null && sameTime(after.revokedAt, firstAt), "revokedAt changed after more writes");
      check((await store.revoke(`${record.id}_missing`)) === null, "revoke of an unknown id is not null");
    }));

    it("a revocation shows at once, by hash and by id, also to a reader that read the key before", withStore(async (store) => {
      // The request path reads a key by hash on every request (or cache miss); once revoke()
      // resolves, the next read must see it (DESIGN §9). A store that answers reads from a cache
      // of its own (a record it read a moment ago) fails here.
      const record = makeTestRecord();
      await store.insert(record);
      const unrevoked = (r: ApiKeyRecord | null, what: string): void => {
        check(r !== null, `${what} before revoke: expected the record, got null`);
        check(r.revokedAt === null && r.revokedReason === null, `${what} before revoke: the record is already revoked`);
      };
      unrevoked(await store.getByHash(record.hash), "getByHash");
      unrevoked(await store.getById(record.id), "getById");
      const at = timeWithMs(-5_000);
      const revoked = await store.revoke(record.id, { at });
      check(revoked !== null && sameTime(revoked.revokedAt, at), "revoke did not answer the record with revokedAt set to the time given");
      const shows = (r: ApiKeyRecord | null, what: string): void => {
        check(r !== null, `${what}: expected the record, got null`);
        check(sameTime(r.revokedAt, at), `${what}: revokedAt is ${String(r.revokedAt)}, expected ${at.toISOString()} (a stale read?)`);
        check(r.revokedReason === "revoked", `${what}: revokedReason is ${String(r.revokedReason)}, expected "revoked"`);
      };
      shows(await store.getByHash(record.hash), "getByHash right after revoke resolved");
      shows(await store.getById(record.id), "getById right after revoke resolved");
      // A second, later revocation keeps the first one, for these readers too.
      const again = await store.revoke(record.id, { at: timeWithMs(60_000), reason: "rotated" });
      shows(again, "a second revoke's answer");
      shows(await store.getByHash(record.hash), "getByHash after a second revoke");
      shows(await store.getById(record.id), "getById after a second revoke");
      // revoke() without a time: the key read before counts as revoked as soon as it resolves.
      const other = makeTestRecord();
      await store.insert(other);
      unrevoked(await store.getByHash(other.hash), "getByHash");
      await store.revoke(other.id);
      const now = await store.getByHash(other.hash);
      const revokedTime = dateTime(now?.revokedAt);
      check(revokedTime !== null && revokedTime <= Date.now() + 1_000, "getByHash right after revoke() without a time does not show the key revoked");
    }));

    it("revoke defaults to now, and a scheduled revocation only moves earlier", withStore(async (store) => {
      const record = makeTestRecord();
      await store.insert(record);
      const before = Date.now();
      const later = timeWithMs(3_600_000);
      const scheduled = await store.revoke(record.id, { at: later, reason: "rotated" });
      check(scheduled !== null && sameTime(scheduled.revokedAt, later), "a revocation in the future was not kept");
      const now = await store.revoke(record.id);
      const t = dateTime(now?.revokedAt);
      check(now !== null && t !== null, "revoke now did not set revokedAt");
      check(t >= before - 1_000 && t <= Date.now() + 1_000, "revoke without a time is not now");
      check(now.revokedReason === "revoked", "revoke now did not take its reason");
    }));

    rotation("insert refuses a second live successor of a key (CONFLICT); a successor revoked otherwise does not block one", withStore(async (store) => {
      const old = makeTestRecord();
      await store.insert(old);
      const first = makeTestRecord({ accountId: old.accountId, rotatedFromId: old.id });
      await store.insert(first);
      const second = makeTestRecord({ accountId: old.accountId, rotatedFromId: old.id });
      const refused = await failure(() => store.insert(second));
      check(isApiKeyError(refused) && refused.code === "CONFLICT", `a second live successor: expected an ApiKeyError CONFLICT, got ${String(refused)}`);
      check((await store.getById(second.id)) === null, "a refused successor was stored");
      // A successor in its own grace (revoked by a rotation) is still live.
      await store.revoke(first.id, { at: timeWithMs(60_000), reason: "rotated" });
      const third = makeTestRecord({ accountId: old.accountId, rotatedFromId: old.id });
      const refusedAgain = await failure(() => store.insert(third));
      check(isApiKeyError(refusedAgain) && refusedAgain.code === "CONFLICT", "a successor in its grace did not block another one");
      // Revoked otherwise (a rotation that failed part-way): a retry may store one.
      const failed = makeTestRecord({ accountId: old.accountId, rotatedFromId: first.id });
      await store.insert(failed);
      await store.revoke(failed.id, { reason: "revoked" });
      const retry = makeTestRecord({ accountId: old.accountId, rotatedFromId: first.id });
      const error = await failure(() => store.insert(retry));
      check(error === undefined, `a successor beside one revoked as failed was refused: ${String(error)}`);
    }));

    rotation("a rotation's revocation never replaces one made for another reason, even a later one", withStore(async (store) => {
      const record = makeTestRecord();
      await store.insert(record);
      const adminAt = timeWithMs(-1_000);
      await store.revoke(record.id, { at: adminAt, reason: "revoked" });
      const after = await store.revoke(record.id, { at: new Date(adminAt.getTime() - 5_000), reason: "rotated" });
      check(after !== null && sameTime(after.revokedAt, adminAt), "a rotation's earlier revocation replaced an administrator's");
      check(after.revokedReason === "revoked", "a rotation's revocation replaced the reason");
      // Between rotations the earliest time still wins, and any reason replaces a rotation's.
      const other = makeTestRecord();
      await store.insert(other);
      const grace = timeWithMs(60_000);
      await store.revoke(other.id, { at: grace, reason: "rotated" });
      const cut = await store.revoke(other.id, { at: timeWithMs(-1_000), reason: "revoked" });
      check(cut !== null && cut.revokedReason === "revoked" && cut.revokedAt !== null && cut.revokedAt.getTime() < grace.getTime(), "an administrator's revoke did not cut a rotation's grace short");
    }));

    strict("revoke refuses an `at` that is not a valid Date (INVALID_INPUT), and the key stays unrevoked and revocable", withStore(async (store) => {
      const record = makeTestRecord();
      await store.insert(record);
      for (const [label, at] of badDates()) {
        const error = await failure(() => store.revoke(record.id, { at: at as Date }));
        check(error !== undefined, `revoke with ${label} as at was accepted`);
        check(isApiKeyError(error) && error.code === "INVALID_INPUT", `revoke with ${label} as at: expected an ApiKeyError INVALID_INPUT, got ${String(error)}`);
        const after = await store.getById(record.id);
        check(after !== null && after.revokedAt === null, `revoke with ${label} as at changed revokedAt to ${String(after?.revokedAt)}`);
      }
      // Still revocable, and once revoked, an Invalid Date changes nothing either.
      const at = timeWithMs(-1_000);
      const revoked = await store.revoke(record.id, { at });
      check(revoked !== null && sameTime(revoked.revokedAt, at), "a valid revoke after refused ones did not set revokedAt");
      const again = await failure(() => store.revoke(record.id, { at: new Date(Number.NaN) }));
      check(isApiKeyError(again) && again.code === "INVALID_INPUT", `revoke of a revoked key with an Invalid Date: expected an ApiKeyError INVALID_INPUT, got ${String(again)}`);
      const after = await store.getByHash(record.hash);
      check(after !== null && sameTime(after.revokedAt, at), `an Invalid Date moved revokedAt of a revoked key to ${String(after?.revokedAt)}`);
      check(Number.isFinite(dateTime(after.revokedAt) ?? Number.NaN), "revokedAt is not a valid Date");
    }));

    strict("last used skips entries whose lastUsedAt is not a valid Date, writing the rest of the batch", withStore(async (store) => {
      const a = makeTestRecord();
      const b = makeTestRecord();
      await store.insert(a);
      await store.insert(b);
      const t1 = timeWithMs(-10_000);
      await store.recordUsage([{ id: a.id, lastUsedAt: t1 }]);
      const t2 = timeWithMs(-5_000);
      const bad = badDates().map(([, value]) => ({ id: a.id, lastUsedAt: value as Date }));
      const error = await failure(() => store.recordUsage([...bad, { id: b.id, lastUsedAt: t2 }]));
      check(error === undefined, `recordUsage with bad times in the batch rejected: ${String(error)}`);
      check(sameTime((await store.getById(a.id))?.lastUsedAt ?? null, t1), "a bad lastUsedAt changed the stored one");
      check(sameTime((await store.getById(b.id))?.lastUsedAt ?? null, t2), "the valid entry beside bad ones was not written");
      const t3 = timeWithMs(-1_000);
      await store.recordUsage([{ id: a.id, lastUsedAt: t3 }]);
      check(sameTime((await store.getById(a.id))?.lastUsedAt ?? null, t3), "lastUsedAt no longer moves forward after a bad batch");
      const unused = makeTestRecord();
      await store.insert(unused);
      await store.recordUsage([{ id: unused.id, lastUsedAt: new Date("garbage") }]);
      check((await store.getById(unused.id))?.lastUsedAt === null, "an Invalid Date was written as the first lastUsedAt");
    }));

    it("last used only moves forward, in batches, ignoring unknown ids", withStore(async (store) => {
      const a = makeTestRecord();
      const b = makeTestRecord();
      await store.insert(a);
      await store.insert(b);
      const t1 = timeWithMs(-10_000);
      const t2 = timeWithMs(-5_000);
      await store.recordUsage([
        { id: a.id, lastUsedAt: t2 },
        { id: b.id, lastUsedAt: t1 },
        { id: `${a.id}_missing`, lastUsedAt: t2 },
      ]);
      await store.recordUsage([{ id: a.id, lastUsedAt: t1 }]);
      check(sameTime((await store.getById(a.id))?.lastUsedAt ?? null, t2), "lastUsedAt moved back");
      check(sameTime((await store.getById(b.id))?.lastUsedAt ?? null, t1), "lastUsedAt of the second record was not written");
      check((await store.getById(`${a.id}_missing`)) === null, "recordUsage of an unknown id made a record of it");
      await store.recordUsage([]);
    }));

    it("records are copies: mutating one changes nothing stored", withStore(async (store) => {
      const record = makeTestRecord();
      const original = { ...record, createdAt: new Date(record.createdAt.getTime()), metadata: { team: "qa", tags: ["a", "b"] } };
      await store.insert(record);
      record.name = "mutated after insert";
      record.createdAt.setTime(0);
      (record.metadata as { team: string }).team = "mutated";
      const read = await store.getById(record.id);
      check(read !== null, "record missing");
      read.name = "mutated after read";
      read.createdAt.setTime(0);
      (read.metadata as { tags: string[] }).tags.push("c");
      const listed = await store.listByAccount(record.accountId);
      (listed[0] as ApiKeyRecord).permissions = "read-only";
      (listed[0] as ApiKeyRecord).createdAt.setTime(0);
      ((listed[0] as ApiKeyRecord).metadata as { team: string }).team = "mutated in a list";
      sameRecord(await store.getByHash(original.hash), original, "after mutating copies");
      // The record revoke answers is a copy too: clearing its revokedAt must not un-revoke the key.
      const revoked = await store.revoke(record.id);
      check(revoked !== null && dateTime(revoked.revokedAt) !== null, "revoke did not answer the revoked record");
      revoked.revokedAt = null;
      check(dateTime((await store.getById(record.id))?.revokedAt) !== null, "changing the record revoke answered un-revoked the stored key");
    }));

    it("keeps null and optional fields as they were", withStore(async (store) => {
      const record = makeTestRecord({ environment: null, createdBy: null, metadata: null, permissions: "read-only", rotatedFromId: "key_old" });
      await store.insert(record);
      sameRecord(await store.getById(record.id), record, "record with nulls");
    }));

    it("announces revocations to subscribers, if it offers them: once visible, and again when a revocation moves earlier", withStore(async (store) => {
      if (typeof store.subscribeRevocations !== "function") return;
      const record = makeTestRecord();
      await store.insert(record);
      // Per announcement of this key: was its revocation visible to a reader when it arrived? A
      // cache that reads the key on hearing it (or a request in between) must never read it unrevoked.
      const heard: Promise<{ hash: string; visibleAt: number | null }>[] = [];
      const waiters: (() => void)[] = [];
      let live: boolean | undefined;
      const stop = store.subscribeRevocations(
        (r) => {
          if (r.id !== record.id) return;
          heard.push(
            store.getById(record.id).then(
              (read) => ({ hash: r.hash, visibleAt: dateTime(read?.revokedAt) }),
              () => ({ hash: r.hash, visibleAt: null }),
            ),
          );
          waiters.shift()?.();
        },
        (connected) => (live = connected),
      );
      const limit = options.announcementTimeoutMs ?? 3_000;
      const announcement = async (n: number, what: string): Promise<{ hash: string; visibleAt: number | null }> => {
        if (heard.length < n) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([
            new Promise<void>((resolve) => waiters.push(resolve)),
            new Promise<void>((_, reject) => {
              timer = setTimeout(() => reject(new ConformanceFailure(`no announcement ${what} within ${limit} ms`)), limit);
            }),
          ]).finally(() => clearTimeout(timer));
        }
        return (await heard[n - 1]) as { hash: string; visibleAt: number | null };
      };
      try {
        // A store that says its channel is not live yet is waited for; others get a moment.
        const until = Date.now() + limit;
        await new Promise((r) => setTimeout(r, 100));
        while (live === false && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        // A revocation scheduled an hour ahead (a rotation's grace), then an administrator's now.
        const later = timeWithMs(3_600_000);
        await store.revoke(record.id, { at: later, reason: "rotated" });
        const first = await announcement(1, "of a revocation");
        check(first.hash === record.hash, "the announcement does not carry the key's hash");
        check(first.visibleAt === later.getTime(), "the announcement came before the revocation could be read (announce after the write commits)");
        const now = timeWithMs();
        await store.revoke(record.id, { at: now, reason: "revoked" });
        const second = await announcement(2, "when a revocation moved earlier (a cache would keep the key until the later time)");
        check(second.visibleAt === now.getTime(), "the second announcement came before the earlier revocation could be read");
      } finally {
        stop();
      }
    }));
  });
}
