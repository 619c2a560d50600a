// The conformance suite as a user runs it on a store of their own: a plain Map-based store written
// from the KeyStore contract (DESIGN §6) alone, with no input checks, must pass the default suite;
// the input checks of this package's stores are asked for only with `strictInput`. Stores that
// break the contract in ways that are easy to miss must fail it (see "stores the suite must fail").
import { describe, expect, it } from "vitest";
import { ApiKeyError, type ApiKeyRecord, type ApiKeyUsage, type KeyStore, type RevokeOptions } from "../../src/index.js";
import { makeTestRecord, runKeyStoreConformance } from "../../src/testing/index.js";

const copy = (r: ApiKeyRecord): ApiKeyRecord => structuredClone(r);

/** What a user might write from docs/custom-key-store.md: copies in and out, DUPLICATE_KEY, the earliest revocation wins, last used moves forward. */
class PlainMapStore implements KeyStore {
  protected readonly byId = new Map<string, ApiKeyRecord>();

  async insert(record: ApiKeyRecord): Promise<void> {
    for (const r of this.byId.values()) if (r.id === record.id || r.hash === record.hash) throw new ApiKeyError("DUPLICATE_KEY", "duplicate key");
    this.byId.set(record.id, copy(record));
  }
  async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    for (const r of this.byId.values()) if (r.hash === hash) return copy(r);
    return null;
  }
  async getById(id: string): Promise<ApiKeyRecord | null> {
    const r = this.byId.get(id);
    return r === undefined ? null : copy(r);
  }
  async listByAccount(accountId: string): Promise<ApiKeyRecord[]> {
    return [...this.byId.values()]
      .filter((r) => r.accountId === accountId)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map(copy);
  }
  async revoke(id: string, options: RevokeOptions = {}): Promise<ApiKeyRecord | null> {
    const r = this.byId.get(id);
    if (r === undefined) return null;
    const at = options.at ?? new Date();
    if (r.revokedAt === null || at.getTime() < r.revokedAt.getTime()) {
      r.revokedAt = new Date(at.getTime());
      r.revokedReason = options.reason ?? "revoked";
    }
    return copy(r);
  }
  async recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> {
    for (const { id, lastUsedAt } of batch) {
      const r = this.byId.get(id);
      if (r !== undefined && (r.lastUsedAt === null || lastUsedAt.getTime() > r.lastUsedAt.getTime())) r.lastUsedAt = new Date(lastUsedAt.getTime());
    }
  }
}

runKeyStoreConformance("a plain Map store of a user's own (default suite)", () => new PlainMapStore());

describe("strictInput", () => {
  it("holds a store to this package's input checks only when asked", async () => {
    // The plain store keeps an Invalid Date: the default suite does not ask about it, strictInput does.
    const store = new PlainMapStore();
    const record = makeTestRecord({ expiresAt: new Date(Number.NaN) });
    await expect(store.insert(record)).resolves.toBeUndefined();
    const names: string[] = [];
    runKeyStoreConformance("collected", () => new PlainMapStore(), { runner: { describe: (_n, body) => body(), it: (n) => void names.push(n) } });
    const strictNames: string[] = [];
    runKeyStoreConformance("collected", () => new PlainMapStore(), {
      strictInput: true,
      runner: { describe: (_n, body) => body(), it: (n) => void strictNames.push(n) },
    });
    expect(names.some((n) => n.includes("malformed record"))).toBe(false);
    expect(strictNames.filter((n) => !names.includes(n))).toEqual([
      "insert refuses a malformed record (INVALID_INPUT) and stores nothing of it",
      "insert keeps a revoked record with its reason, absent nullable fields as null, and dates at the edges of the range",
      "revoke refuses a reason that is not a non-empty string (INVALID_INPUT), changing nothing",
      "revoke refuses an `at` that is not a valid Date (INVALID_INPUT), and the key stays unrevoked and revocable",
      "last used skips entries whose lastUsedAt is not a valid Date, writing the rest of the batch",
    ]);
  });
});

describe("rotationRules", () => {
  it("holds a store to this package's rotation rules only when asked, and a plain store fails them", async () => {
    const collect = (options: { rotationRules?: boolean }): string[] => {
      const names: string[] = [];
      runKeyStoreConformance("collected", () => new PlainMapStore(), { ...options, runner: { describe: (_n, body) => body(), it: (n) => void names.push(n) } });
      return names;
    };
    const plain = collect({});
    const withRules = collect({ rotationRules: true });
    expect(withRules.filter((n) => !plain.includes(n))).toEqual([
      "insert refuses a second live successor of a key (CONFLICT); a successor revoked otherwise does not block one",
      "a rotation's revocation never replaces one made for another reason, even a later one",
    ]);
    // The plain store keeps neither rule: both cases fail on it (they can fail).
    const outcomes: Promise<unknown>[] = [];
    runKeyStoreConformance("run", () => new PlainMapStore(), {
      rotationRules: true,
      runner: {
        describe: (_n, body) => body(),
        it: (n, fn) => {
          if (!withRules.includes(n) || plain.includes(n)) return;
          outcomes.push(Promise.resolve().then(fn));
        },
      },
    });
    const settled = await Promise.allSettled(outcomes);
    expect(settled.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});

/**
 * Runs the suite on a store through a runner that collects each test and runs it at once: the
 * outcome of every test by name (`undefined` if it passed, else the error it failed with).
 */
async function suiteOutcomes(makeStore: () => KeyStore): Promise<Map<string, unknown>> {
  const runs: [string, Promise<unknown>][] = [];
  runKeyStoreConformance("probe", makeStore, {
    runner: {
      describe: (_n, body) => body(),
      it: (n, fn) => void runs.push([n, Promise.resolve().then(fn).then(() => undefined, (error: unknown) => error ?? new Error("rejected"))]),
    },
  });
  const outcomes = new Map<string, unknown>();
  for (const [n, run] of runs) outcomes.set(n, await run);
  return outcomes;
}

const failedTests = (outcomes: Map<string, unknown>): string[] => [...outcomes].filter(([, error]) => error !== undefined).map(([n]) => n);

/** A correct store whose getByHash (or getById) answers from a 10-second cache of its own reads. */
class CachingStore extends PlainMapStore {
  private readonly cache = new Map<string, { record: ApiKeyRecord | null; until: number }>();
  constructor(private readonly which: "getByHash" | "getById") {
    super();
  }
  private async cached(key: string, read: () => Promise<ApiKeyRecord | null>): Promise<ApiKeyRecord | null> {
    const hit = this.cache.get(key);
    if (hit !== undefined && Date.now() < hit.until) return hit.record === null ? null : copy(hit.record);
    const record = await read();
    this.cache.set(key, { record: record === null ? null : copy(record), until: Date.now() + 10_000 });
    return record;
  }
  override async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    return this.which === "getByHash" ? this.cached(`hash:${hash}`, () => super.getByHash(hash)) : super.getByHash(hash);
  }
  override async getById(id: string): Promise<ApiKeyRecord | null> {
    return this.which === "getById" ? this.cached(`id:${id}`, () => super.getById(id)) : super.getById(id);
  }
}

/** A correct store but for one thing: it keeps `createdAt` in whole seconds (as a column without fractions would). */
class WholeSecondsStore extends PlainMapStore {
  override async insert(record: ApiKeyRecord): Promise<void> {
    const t = record.createdAt.getTime();
    await super.insert({ ...record, createdAt: new Date(t - (t % 1_000)) });
  }
}

/** A correct store but for one thing: getByHash matches a stored hash that starts with what it is given. */
class PrefixLookupStore extends PlainMapStore {
  override async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    for (const r of this.byId.values()) if (r.hash.startsWith(hash)) return copy(r);
    return null;
  }
}

describe("stores the suite must fail (DESIGN §4, §6, §9)", () => {
  it("passes the plain store on every test (the probe runner itself fails nothing)", async () => {
    const outcomes = await suiteOutcomes(() => new PlainMapStore());
    expect(outcomes.size).toBeGreaterThan(5);
    expect(failedTests(outcomes)).toEqual([]);
  });

  it.each(["getByHash", "getById"] as const)(
    "fails a store whose %s answers from a cache of its own: a key read before revoke() must read revoked right after",
    async (method) => {
      const outcomes = await suiteOutcomes(() => new CachingStore(method));
      expect(failedTests(outcomes)).not.toEqual([]);
      const name = "a revocation shows at once, by hash and by id, also to a reader that read the key before";
      expect(failedTests(outcomes)).toContain(name);
      expect(String(outcomes.get(name))).toContain(`${method} right after revoke resolved: revokedAt is null`);
    },
  );

  it("fails a store that drops the milliseconds of createdAt", async () => {
    const outcomes = await suiteOutcomes(() => new WholeSecondsStore());
    expect(failedTests(outcomes)).not.toEqual([]);
    expect(failedTests(outcomes)).toContain("inserts a record and reads it back by hash and by id");
    expect(String(outcomes.get("inserts a record and reads it back by hash and by id"))).toMatch(/field createdAt/);
    // The records the suite makes carry milliseconds, so truncation shows on every run.
    expect(makeTestRecord().createdAt.getTime() % 1_000).toBe(123);
  });

  it("fails a store whose getByHash matches a prefix of a stored hash (lookup is an equality)", async () => {
    const outcomes = await suiteOutcomes(() => new PrefixLookupStore());
    expect(failedTests(outcomes)).not.toEqual([]);
    const name = "answers null for an unknown hash or id, and for a prefix of a stored one";
    expect(failedTests(outcomes)).toEqual([name]);
    expect(String(outcomes.get(name))).toMatch(/getByHash of a prefix of a stored hash/);
  });
});

/** The plain store with revocation announcements, written as docs/custom-key-store.md says; `mode` plants one bug. */
class AnnouncingStore extends PlainMapStore {
  private readonly listeners = new Set<(r: { id: string; hash: string }) => void>();
  constructor(private readonly mode: "correct" | "first-only" | "before-write" = "correct") {
    super();
  }
  subscribeRevocations(listener: (r: { id: string; hash: string }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  override async revoke(id: string, options: RevokeOptions = {}): Promise<ApiKeyRecord | null> {
    const stored = this.byId.get(id);
    if (stored === undefined) return null;
    const before = stored.revokedAt?.getTime() ?? null;
    const announce = (): void => {
      for (const l of this.listeners) l({ id, hash: stored.hash });
    };
    if (this.mode === "before-write") {
      announce(); // the bug: heard before the write lands
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const result = await super.revoke(id, options);
    const changed = result?.revokedAt?.getTime() !== before;
    if (this.mode === "correct" && changed) announce();
    if (this.mode === "first-only" && before === null) announce(); // the bug: a move earlier is never told
    return result;
  }
}

/** A correct store but for one thing: listByAccount leaves out expired keys. */
class ActiveOnlyListStore extends PlainMapStore {
  override async listByAccount(accountId: string): Promise<ApiKeyRecord[]> {
    return (await super.listByAccount(accountId)).filter((r) => r.expiresAt === null || r.expiresAt.getTime() > Date.now());
  }
}

/** A correct store but for one thing: revoke answers its own stored object. */
class InternalRevokeStore extends PlainMapStore {
  override async revoke(id: string, options: RevokeOptions = {}): Promise<ApiKeyRecord | null> {
    await super.revoke(id, options);
    return this.byId.get(id) ?? null;
  }
}

/** A correct store but for one thing: recordUsage makes a record of an id it does not hold. */
class UpsertUsageStore extends PlainMapStore {
  override async recordUsage(batch: readonly ApiKeyUsage[]): Promise<void> {
    for (const { id, lastUsedAt } of batch) if (!this.byId.has(id)) this.byId.set(id, { ...makeTestRecord(), id, lastUsedAt });
    await super.recordUsage(batch);
  }
}

/** A correct store whose Dates are made in another realm (a vm context, as a test environment's are): no `instanceof Date` here. */
class OtherRealmStore extends PlainMapStore {
  private readonly clone: (r: ApiKeyRecord) => ApiKeyRecord;
  constructor() {
    super();
    const vm = process.getBuiltinModule("node:vm") as typeof import("node:vm");
    const foreignDate = vm.runInNewContext("(t) => new Date(t)") as (t: number) => Date;
    const d = (v: Date | null): Date | null => (v === null ? null : foreignDate(v.getTime()));
    this.clone = (r) => ({ ...r, createdAt: d(r.createdAt) as Date, lastUsedAt: d(r.lastUsedAt), revokedAt: d(r.revokedAt), expiresAt: d(r.expiresAt) });
  }
  override async getById(id: string): Promise<ApiKeyRecord | null> {
    const r = await super.getById(id);
    return r === null ? null : this.clone(r);
  }
  override async getByHash(hash: string): Promise<ApiKeyRecord | null> {
    const r = await super.getByHash(hash);
    return r === null ? null : this.clone(r);
  }
}

describe("stores the suite must fail, and one it must pass (second audit)", () => {
  const ANNOUNCES = "announces revocations to subscribers, if it offers them: once visible, and again when a revocation moves earlier";

  it("passes a correct announcing store, and a store whose Dates come from another realm", async () => {
    expect(failedTests(await suiteOutcomes(() => new AnnouncingStore()))).toEqual([]);
    const realm = new OtherRealmStore();
    expect((await (realm.insert(makeTestRecord({ id: "key_realm" })), realm.getById("key_realm")))?.createdAt instanceof Date).toBe(false);
    const realmOutcomes = await suiteOutcomes(() => new OtherRealmStore());
    expect(failedTests(realmOutcomes).map((n) => `${n}: ${String(realmOutcomes.get(n))}`)).toEqual([]);
  });

  it("fails a store that announces only the first revocation (a move earlier left caches trusting the key)", async () => {
    const outcomes = await suiteOutcomes(() => new AnnouncingStore("first-only"));
    expect(failedTests(outcomes)).toEqual([ANNOUNCES]);
    expect(String(outcomes.get(ANNOUNCES))).toContain("no announcement when a revocation moved earlier");
  });

  it("fails a store that announces before its write can be read", async () => {
    const outcomes = await suiteOutcomes(() => new AnnouncingStore("before-write"));
    expect(failedTests(outcomes)).toContain(ANNOUNCES);
    expect(String(outcomes.get(ANNOUNCES))).toContain("came before the revocation could be read");
  });

  it.each([
    [() => new ActiveOnlyListStore(), "lists the records of one account, oldest first, revoked ones included", "expected 3 (revoked and expired keys are listed too)"],
    [() => new InternalRevokeStore(), "records are copies: mutating one changes nothing stored", "un-revoked the stored key"],
    [() => new UpsertUsageStore(), "last used only moves forward, in batches, ignoring unknown ids", "made a record of it"],
  ] as const)("fails store %#: %s", async (make, name, words) => {
    const outcomes = await suiteOutcomes(make);
    expect(failedTests(outcomes)).toEqual([name]);
    expect(String(outcomes.get(name))).toContain(words);
  });

  it("says a time that differs only in milliseconds with its milliseconds", async () => {
    const outcomes = await suiteOutcomes(() => new WholeSecondsStore());
    expect(String(outcomes.get("inserts a record and reads it back by hash and by id"))).toMatch(/field createdAt is \d{4}-\d\d-\d\dT[\d:]+\.000Z, expected [\d\-T:]+\.123Z/);
  });
});
