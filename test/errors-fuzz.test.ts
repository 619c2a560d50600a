/**
 * The errors standard, fuzzed: "Bad input always gets a clear error and loses nothing: a bad
 * header gets the documented envelope; bad options throw at setup with a message that names the
 * option; a failing store gives 503, never a pass."
 *
 * Hostile JavaScript values (wrong types, NaN, ±Infinity, huge numbers, BigInt, symbols, lone
 * surrogates, very long strings, throwing getters, Proxies with throwing traps, revoked Proxies,
 * frozen and null-prototype objects, own `__proto__` keys, functions where data is expected and
 * data where functions are) go into every public function and method of the core and
 * `/testing`, and into the store constructors (construct only, over a fake client). Invariants:
 *
 * - setup functions succeed or throw an `ApiKeyError` whose message names the offending option
 *   (never a raw TypeError/RangeError/zod error), and always succeed on valid options, frozen or
 *   null-prototype objects included;
 * - `authenticate` never throws or rejects and resolves to `ok` or to 401/403/503 with the exact
 *   documented envelope, headers and reason; on plain data it agrees with an independent model of
 *   the header grammar (never a 503, never a pass without a valid header);
 * - key-manager methods never throw synchronously and reject only with an `ApiKeyError` carrying a
 *   status of 400/403/404/409/503, the matching code and the envelope body (400 naming the field);
 * - nothing hangs (a time budget per call), no rejection goes unhandled, no input is mutated.
 *
 * Counterexamples are plain descriptions of the hostile values (built inside the property), so
 * fast-check prints and shrinks them. `ERRORS_FUZZ_RUNS` scales the runs, `ERRORS_FUZZ_SEED`
 * replays a seed.
 */
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ApiKeyError,
  createApiKeyAuth,
  createKeyManager,
  createUsageMonitor,
  defineKeyFormat,
  errorBody,
  generateApiKey,
  getDefaultKeyFormat,
  hashApiKey,
  isApiKeyError,
  MemoryKeyStore,
  parseApiKey,
  PERMISSION_MESSAGE,
  UNAUTHORIZED_MESSAGE,
  UNAVAILABLE_MESSAGE,
  type ApiKeyAuth,
  type ApiKeyAuthEvent,
  type ApiKeyAuthResult,
  type ApiKeyRecord,
  type KeyManager,
  type KeyStore,
} from "../src/index.js";
import { PostgresKeyStore } from "../src/stores/postgres/index.js";
import { RedisKeyStore } from "../src/stores/redis/index.js";
import { createFakeClock, createSeededRandom, makeTestRecord, runKeyStoreConformance } from "../src/testing/index.js";

const RUNS = Number(process.env["ERRORS_FUZZ_RUNS"] ?? 300);
const SEED = process.env["ERRORS_FUZZ_SEED"];
const runs = (n: number): fc.Parameters<unknown> => ({
  numRuns: Math.max(1, Math.round((n * RUNS) / 300)),
  ...(SEED === undefined ? {} : { seed: Number(SEED) }),
});
/** Longest any single call may take (sync) or stay pending (async). */
const BUDGET_MS = 1500;
const START = Date.UTC(2030, 0, 1);

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------

/** What hostile getters, traps and functions throw: a raw TypeError, as a careless caller's code would. */
class HostileError extends TypeError {
  override name = "HostileError";
}
const thrower =
  (what: string) =>
  (): never => {
    throw new HostileError(`hostile ${what}`);
  };

/** Values that cannot be inspected without running hostile code (Proxies): compared by identity only. */
const opaque = new WeakSet<object>();
function opaqueValue<T extends object>(value: T): T {
  opaque.add(value);
  return value;
}
/** Values whose every property read throws: any function that reads its options must refuse them. */
const unreadable = new WeakSet<object>();
function unreadableValue<T extends object>(value: T): T {
  unreadable.add(value);
  return opaqueValue(value);
}

const allTrapsThrow: ProxyHandler<object> = {
  get: thrower("get trap"),
  set: thrower("set trap"),
  has: thrower("has trap"),
  ownKeys: thrower("ownKeys trap"),
  getOwnPropertyDescriptor: thrower("getOwnPropertyDescriptor trap"),
  getPrototypeOf: thrower("getPrototypeOf trap"),
  defineProperty: thrower("defineProperty trap"),
  deleteProperty: thrower("deleteProperty trap"),
  apply: thrower("apply trap"),
};

function revokedProxy(target: object): object {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return unreadableValue(proxy);
}

function deeplyNested(depth: number): unknown {
  let v: unknown = { leaf: true };
  for (let i = 0; i < depth; i++) v = { v };
  return v;
}

/** A key of the default format that no fixture stores (for text fields: must be redacted, never echoed). */
const FOREIGN_KEY = generateApiKey({ environment: "prod", random: createSeededRandom("foreign") }).key;
const LONG = "a".repeat(100_000);

/** Named hostile values, built fresh on every use. */
const ATOMS = {
  undefined: () => undefined,
  null: () => null,
  true: () => true,
  false: () => false,
  zero: () => 0,
  negZero: () => -0,
  minusOne: () => -1,
  one: () => 1,
  half: () => 0.5,
  NaN: () => Number.NaN,
  Infinity: () => Number.POSITIVE_INFINITY,
  negInfinity: () => Number.NEGATIVE_INFINITY,
  maxValue: () => Number.MAX_VALUE,
  twoPow31: () => 2 ** 31,
  twoPow53: () => 2 ** 53,
  huge: () => 1e300,
  bigint: () => 10n,
  negBigint: () => -1n,
  symbol: () => Symbol("hostile"),
  wellKnownSymbol: () => Symbol.iterator,
  emptyString: () => "",
  space: () => " ",
  longString: () => LONG,
  loneHigh: () => "\uD800",
  loneLow: () => "a\uDFFFb",
  nul: () => "a\u0000b",
  crlf: () => "a\r\nb",
  zeroWidth: () => "\u200b",
  protoString: () => "__proto__",
  constructorString: () => "constructor",
  numericString: () => "2000",
  futureIso: () => "2999-01-01T00:00:00Z",
  foreignKey: () => FOREIGN_KEY,
  boxedString: () => new String("pro"),
  fn: () => () => undefined,
  throwingFn: () => thrower("function"),
  asyncRejectingFn: () => async () => {
    throw new HostileError("hostile async function");
  },
  hangingFn: () => () => new Promise(() => undefined),
  thenableRejectingFn: () => () => ({ then: (_: unknown, reject: (e: unknown) => void) => reject(new HostileError("hostile thenable")) }),
  throwingThenFn: () => () => ({
    get then(): never {
      throw new HostileError("hostile then getter");
    },
  }),
  classCtor: () => class Hostile {},
  emptyObject: () => ({}),
  nullProto: () => Object.create(null) as object,
  frozenObject: () => Object.freeze({ a: 1 }),
  emptyArray: () => [],
  nestedArray: () => [[["x"]]],
  sparseArray: () => new Array(3),
  frozenArray: () => Object.freeze([1, 2]),
  hugeArray: () => Array.from({ length: 100_000 }, () => "Bearer x"),
  date: () => new Date(START + 86_400_000),
  pastDate: () => new Date(0),
  invalidDate: () => new Date(Number.NaN),
  fakeDate: () => Object.create(Date.prototype) as object,
  proxyDate: () => opaqueValue(new Proxy(new Date(START + 86_400_000), {})),
  dateLike: () => ({ getTime: () => START }),
  map: () => new Map([["a", 1]]),
  set: () => new Set([1]),
  uint8: () => new Uint8Array([1, 2, 3, 4]),
  emptyUint8: () => new Uint8Array(0),
  regexp: () => /x/g,
  error: () => new Error("an error object"),
  getterObject: () =>
    Object.defineProperties({}, {
      id: { get: thrower("id getter"), enumerable: true },
      admin: { get: thrower("admin getter"), enumerable: true },
      now: { get: thrower("now getter"), enumerable: true },
    }),
  getProxy: () => unreadableValue(new Proxy({}, { get: thrower("get trap") })),
  allTrapsProxy: () => unreadableValue(new Proxy({}, allTrapsThrow)),
  arrayGetProxy: () => unreadableValue(new Proxy(["Bearer x"], { get: thrower("array get trap") })),
  revokedProxy: () => revokedProxy({}),
  revokedArrayProxy: () => revokedProxy([]),
  revokedFunctionProxy: () => revokedProxy(() => undefined),
  throwingPrimitive: () => ({ toString: thrower("toString"), valueOf: thrower("valueOf"), [Symbol.toPrimitive]: thrower("toPrimitive") }),
  throwingToJSON: () => ({ toJSON: thrower("toJSON") }),
  cyclic: () => {
    const o: Record<string, unknown> = { a: 1 };
    o["self"] = o;
    return o;
  },
  deep: () => deeplyNested(1000),
  protoKey: () => JSON.parse('{"__proto__": {"admin": true, "id": "usr_proto", "getPlan": 1}}') as unknown,
  thenable: () => ({ then: (_: unknown, reject: (e: unknown) => void) => reject(new HostileError("hostile thenable")) }),
  throwingThen: () => ({
    get then(): never {
      throw new HostileError("hostile then getter");
    },
  }),
  forgedFormat: () => ({ head: "flz_sk_", crcStates: new Map() }),
  spreadFormat: () => ({ ...defineKeyFormat() }),
} satisfies Record<string, () => unknown>;
type AtomName = keyof typeof ATOMS;
const ATOM_NAMES = Object.keys(ATOMS) as AtomName[];

/** A hostile value: a named atom or random data from fast-check (printable, shrinkable). */
type Hostile = { readonly atom: AtomName } | { readonly data: unknown };
const hostile = (exclude: readonly AtomName[] = []): fc.Arbitrary<Hostile> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ATOM_NAMES.filter((n) => !exclude.includes(n))).map((atom) => ({ atom })) },
    {
      weight: 1,
      arbitrary: fc
        .anything({ maxDepth: 2, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true })
        .filter((d) => !(exclude.includes("undefined") && d === undefined))
        .map((data) => ({ data })),
    },
  );
function buildHostile(h: Hostile): unknown {
  return "atom" in h ? ATOMS[h.atom]() : h.data;
}

// ---------------------------------------------------------------------------------------------
// Option bags: each option absent, valid, hostile or behind a throwing getter; the bag itself
// plain, frozen, null-prototype or a Proxy; sometimes an unknown or `__proto__` own key.
// ---------------------------------------------------------------------------------------------

type Slot = { readonly k: "absent" } | { readonly k: "valid" } | { readonly k: "hostile"; readonly v: Hostile } | { readonly k: "getter" };
type Wrap = "plain" | "frozen" | "nullProto" | "getProxy" | "keysProxy" | "revoked";
type Extra = "none" | "unknown" | "protoKey" | "symbolKey";
type BagSpec = { readonly whole: Hostile } | { readonly slots: Readonly<Record<string, Slot>>; readonly extra: Extra; readonly wrap: Wrap };

const TYPO = "enviroment_typo";

function slotArb(exclude: readonly AtomName[], noAbsent: boolean): fc.Arbitrary<Slot> {
  return fc.oneof(
    { weight: noAbsent ? 0 : 3, arbitrary: fc.constant<Slot>({ k: "absent" }) },
    { weight: 4, arbitrary: fc.constant<Slot>({ k: "valid" }) },
    { weight: 3, arbitrary: hostile(exclude).map((v): Slot => ({ k: "hostile", v })) },
    { weight: 1, arbitrary: fc.constant<Slot>({ k: "getter" }) },
  );
}

function bagArb(names: readonly string[], opts: { exclude?: Partial<Record<string, AtomName[]>>; noAbsent?: readonly string[] } = {}): fc.Arbitrary<BagSpec> {
  const slots = fc.record(
    Object.fromEntries(names.map((n) => [n, slotArb(opts.exclude?.[n] ?? [], opts.noAbsent?.includes(n) ?? false)])) as Record<string, fc.Arbitrary<Slot>>,
  );
  const bag = fc.record({
    slots,
    extra: fc.constantFrom<Extra>("none", "none", "none", "none", "none", "unknown", "protoKey", "symbolKey"),
    wrap: fc.constantFrom<Wrap>("plain", "plain", "plain", "plain", "plain", "frozen", "nullProto", "getProxy", "keysProxy", "revoked"),
  });
  return fc.oneof({ weight: 9, arbitrary: bag }, { weight: 1, arbitrary: hostile(opts.exclude?.["(whole)"] ?? []).map((whole) => ({ whole })) });
}

interface BuiltBag {
  readonly value: unknown;
  /** Option names whose value is not the valid one (the error must name one of these). */
  readonly perturbed: readonly string[];
  /** Options behind a throwing getter: reading them must throw, so the call must fail. */
  readonly getters: readonly string[];
  /** The bag as a whole is hostile (not an object, or a Proxy): the error names the options. */
  readonly wholeHostile: boolean;
  readonly slots: Readonly<Record<string, Slot>>;
  /** The values given, by name (valid or hostile; not for getters). */
  readonly given: Readonly<Record<string, unknown>>;
}

function buildBag(spec: BagSpec, valid: Readonly<Record<string, () => unknown>>, required: readonly string[] = []): BuiltBag {
  if ("whole" in spec) return { value: buildHostile(spec.whole), perturbed: [], getters: [], wholeHostile: true, slots: {}, given: {} };
  const target: Record<string, unknown> = spec.wrap === "nullProto" ? (Object.create(null) as Record<string, unknown>) : {};
  const perturbed: string[] = [];
  const getters: string[] = [];
  const given: Record<string, unknown> = {};
  for (const [name, slot] of Object.entries(spec.slots)) {
    if (slot.k === "absent") {
      if (required.includes(name)) perturbed.push(name);
      continue;
    }
    if (slot.k === "getter") {
      Object.defineProperty(target, name, { get: thrower(`getter of ${name}`), enumerable: true, configurable: true });
      perturbed.push(name);
      getters.push(name);
      continue;
    }
    const value = slot.k === "valid" ? (valid[name] as () => unknown)() : buildHostile(slot.v);
    if (slot.k === "hostile") perturbed.push(name);
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
    given[name] = value;
  }
  if (spec.extra === "unknown") {
    target[TYPO] = "prod";
    perturbed.push(TYPO);
  } else if (spec.extra === "protoKey") {
    Object.defineProperty(target, "__proto__", { value: { admin: true }, enumerable: true, writable: true, configurable: true });
    perturbed.push("__proto__");
  } else if (spec.extra === "symbolKey") {
    (target as Record<symbol, unknown>)[Symbol("not an option")] = 1;
  }
  let value: unknown = target;
  let wholeHostile = false;
  if (spec.wrap === "frozen") value = Object.freeze(target);
  else if (spec.wrap === "getProxy") {
    value = unreadableValue(new Proxy(target, { get: thrower("options get trap") }));
    wholeHostile = true;
  } else if (spec.wrap === "keysProxy") {
    value = opaqueValue(new Proxy(target, { ownKeys: thrower("options ownKeys trap") }));
    wholeHostile = true;
  } else if (spec.wrap === "revoked") {
    value = revokedProxy(target);
    wholeHostile = true;
  }
  return { value, perturbed, getters, wholeHostile, slots: spec.slots, given };
}

// ---------------------------------------------------------------------------------------------
// Inspection helpers
// ---------------------------------------------------------------------------------------------

/**
 * A structural copy of a value that never runs user code (getters are recorded, not called;
 * Proxies are opaque): equal before and after a call means the call mutated nothing.
 */
function fingerprint(value: unknown, seen = new Map<object, number>()): unknown {
  if (typeof value === "bigint") return `bigint:${value}`;
  if (typeof value === "symbol") return identity(value);
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0) ? value : `number:${Object.is(value, -0) ? "-0" : String(value)}`;
  if (value === undefined) return "(undefined)";
  if (typeof value !== "object" && typeof value !== "function") return value;
  if (value === null) return null;
  if (opaque.has(value)) return identity(value);
  const seenAt = seen.get(value);
  if (seenAt !== undefined) return `(cycle ${seenAt})`;
  seen.set(value, seen.size);
  const out: Record<string, unknown> = {
    proto: identity(Object.getPrototypeOf(value) as object | null),
    frozen: Object.isFrozen(value),
    extensible: Object.isExtensible(value),
  };
  const time = timeOf(value);
  if (!Number.isNaN(time)) out["time"] = time;
  if (ArrayBuffer.isView(value)) out["bytes"] = Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)).join(",");
  try {
    if (value instanceof Map) out["entries"] = [...value].map((e) => fingerprint(e, seen));
    if (value instanceof Set) out["members"] = [...value].map((e) => fingerprint(e, seen));
  } catch {
    // an object that only inherits from Map or Set
  }
  if (Array.isArray(value) && value.length > 1000 && value.every((v) => typeof v === "string")) {
    out["strings"] = value.join("\u0000");
    out["length"] = value.length;
    return out;
  }
  for (const key of Reflect.ownKeys(value)) {
    const d = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor;
    out[`key:${typeof key === "symbol" ? identity(key) : key}`] =
      "value" in d
        ? { value: fingerprint(d.value, seen), writable: d.writable, enumerable: d.enumerable }
        : { get: identity(d.get ?? null), set: identity(d.set ?? null), enumerable: d.enumerable };
  }
  return out;
}

/** The fingerprint as one string (compared with toBe: no deep recursion in the comparison). */
function fp(value: unknown): string {
  return JSON.stringify(fingerprint(value));
}

/** A stable token per object or symbol (never the value itself: a Proxy may not survive comparison). */
const identities = new WeakMap<object, string>();
const symbolIds = new Map<symbol, string>();
let nextIdentity = 0;
function identity(value: object | symbol | null): string {
  if (value === null) return "null";
  if (typeof value === "symbol") {
    let id = symbolIds.get(value);
    if (id === undefined) symbolIds.set(value, (id = `symbol#${nextIdentity++}`));
    return id;
  }
  let id = identities.get(value);
  if (id === undefined) identities.set(value, (id = `object#${nextIdentity++}`));
  return id;
}

/** The time of a real Date (any realm), NaN for anything else; runs no user code. */
function timeOf(value: unknown): number {
  if (typeof value !== "object" || value === null || opaque.has(value)) return Number.NaN;
  try {
    return Date.prototype.getTime.call(value);
  } catch {
    return Number.NaN;
  }
}

function describeError(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
    return `a thrown ${typeof error}: ${String(error)}`;
  } catch {
    return "an unprintable thrown value";
  }
}

type Outcome<T> = { readonly kind: "threw"; readonly error: unknown } | { readonly kind: "returned"; readonly value: T };
function callSync<T>(label: string, fn: () => T): Outcome<T> {
  const started = performance.now();
  let outcome: Outcome<T>;
  try {
    outcome = { kind: "returned", value: fn() };
  } catch (error) {
    outcome = { kind: "threw", error };
  }
  const took = performance.now() - started;
  if (took > BUDGET_MS) throw new Error(`${label} took ${Math.round(took)} ms (budget ${BUDGET_MS} ms)`);
  return outcome;
}

type Settled<T> = { readonly kind: "resolved"; readonly value: T } | { readonly kind: "rejected"; readonly error: unknown };
/** Await a promise within the budget; a call that stays pending longer is a hang. */
async function settle<T>(label: string, promise: Promise<T>): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), BUDGET_MS);
  });
  const settled = await Promise.race([
    promise.then(
      (value): Settled<T> => ({ kind: "resolved", value }),
      (error: unknown): Settled<T> => ({ kind: "rejected", error }),
    ),
    hang,
  ]);
  clearTimeout(timer);
  if (settled === "hung") throw new Error(`${label} did not settle within ${BUDGET_MS} ms`);
  return settled;
}

/** Rejections nobody handled and exceptions thrown from timers, while this file runs. */
const unhandled: string[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(`unhandled rejection: ${describeError(reason)}`);
};
const onUncaught = (error: unknown): void => {
  unhandled.push(`uncaught exception: ${describeError(error)}`);
};
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUncaught);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUncaught);
});
// Every test ends with no rejection left unhandled (a sync property's callbacks may reject later).
afterEach(async () => {
  await expectNoUnhandled("after the test", 5);
});

/** Let pending rejections surface (Node reports them after the microtask queue drains). */
async function expectNoUnhandled(label: string, waitMs = 0): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  await new Promise((resolve) => setImmediate(resolve));
  if (unhandled.length > 0) {
    const found = unhandled.splice(0);
    throw new Error(`${label}: ${found.join("; ")}`);
  }
}

/**
 * The setup invariant: a refusal is an `ApiKeyError` with one of `codes` whose message names an
 * offending option; valid options (frozen or null-prototype too) are accepted; an option behind a
 * throwing getter, or one of `strict` given any hostile value, is refused; nothing is mutated.
 */
function checkSetup<T>(
  label: string,
  built: BuiltBag,
  call: () => T,
  opts: { allNames: readonly string[]; strict?: readonly string[]; codes?: readonly string[]; extraInputs?: readonly unknown[] },
): T | undefined {
  const inputs = [built.value, ...(opts.extraInputs ?? [])];
  const before = inputs.map((v) => fp(v));
  const outcome = callSync(label, call);
  const after = inputs.map((v) => fp(v));
  expect(after, `${label} mutated its input`).toEqual(before);
  const strictHostile = (opts.strict ?? []).filter((n) => {
    const slot = built.slots[n];
    return slot?.k === "hostile" && built.given[n] !== undefined;
  });
  const wholeUnreadable = built.wholeHostile && typeof built.value === "object" && built.value !== null && unreadable.has(built.value);
  const mustFail = built.getters.length > 0 || strictHostile.length > 0 || wholeUnreadable;
  if (outcome.kind === "threw") {
    const error = outcome.error;
    if (!isApiKeyError(error)) throw new Error(`${label}: ${describeError(error)} escaped instead of an ApiKeyError`);
    if (!built.wholeHostile && built.perturbed.length === 0) throw new Error(`${label}: refused valid options: ${error.message}`);
    expect(opts.codes ?? ["INVALID_OPTIONS"], `${label}: code of "${error.message}"`).toContain(error.code);
    const names = built.wholeHostile ? ["option", ...opts.allNames] : built.perturbed;
    expect(
      names.some((n) => error.message.includes(n)),
      `${label}: "${error.message}" names none of ${JSON.stringify(names)}`,
    ).toBe(true);
    return undefined;
  }
  if (mustFail) {
    throw new Error(
      `${label}: accepted ${built.getters.length > 0 ? `options whose getters throw (${built.getters.join(", ")})` : strictHostile.length > 0 ? `hostile ${strictHostile.join(", ")}` : "a hostile options object"}`,
    );
  }
  return outcome.value;
}

// ---------------------------------------------------------------------------------------------
// Fakes
// ---------------------------------------------------------------------------------------------

const fakePool = (): object => ({ query: async () => ({ rows: [] }), connect: async () => ({}), totalCount: 0, on: () => undefined });
const fakeRedis = (): object => ({ evalsha: async () => null, eval: async () => null, duplicate: () => ({}), options: {} });
/** A runner that records the suite instead of registering it with vitest. */
function fakeRunner(): { describe: (name: string, body: () => void) => void; it: (name: string, body: () => Promise<void>) => void; tests: string[] } {
  const tests: string[] = [];
  return { describe: (_name, body) => body(), it: (name) => void tests.push(name), tests };
}

// ---------------------------------------------------------------------------------------------
// Setup functions
// ---------------------------------------------------------------------------------------------

describe("setup functions refuse hostile options with an ApiKeyError naming the option", () => {
  it("defineKeyFormat", () => {
    const names = ["prefix", "type", "environments", "checksum"];
    const valid = { prefix: () => "acme", type: () => "sk", environments: () => ["live", "test"], checksum: () => false };
    fc.assert(
      fc.property(bagArb(names, { exclude: { "(whole)": ["undefined"] } }), (spec) => {
        const built = buildBag(spec, valid);
        const format = checkSetup("defineKeyFormat", built, () => defineKeyFormat(built.value as never), { allNames: names });
        if (format !== undefined) {
          expect(Object.isFrozen(format)).toBe(true);
          expect(parseApiKey(generateApiKey({ format }).key, { format }).ok).toBe(true);
        }
      }),
      runs(300),
    );
  });

  it("generateApiKey", () => {
    const names = ["environment", "format", "random"];
    const valid = { environment: () => "prod", format: () => getDefaultKeyFormat(), random: () => createSeededRandom(7) };
    fc.assert(
      fc.property(bagArb(names, { exclude: { "(whole)": ["undefined"] } }), (spec) => {
        const built = buildBag(spec, valid);
        const generated = checkSetup("generateApiKey", built, () => generateApiKey(built.value as never), {
          allNames: names,
          // No hostile value is a format built by defineKeyFormat, or a source of random bytes.
          strict: ["format", "random"],
        });
        if (generated !== undefined) expect(parseApiKey(generated.key).ok).toBe(true);
      }),
      runs(300),
    );
  });

  it("parseApiKey: hostile input is a result, hostile options an ApiKeyError", () => {
    const valid = { format: () => getDefaultKeyFormat() };
    fc.assert(
      fc.property(hostile(), bagArb(["format"], { exclude: { "(whole)": ["undefined"] } }), (input, spec) => {
        const value = buildHostile(input);
        const before = fp(value);
        const result = callSync("parseApiKey(hostile)", () => parseApiKey(value as never));
        if (result.kind === "threw") throw new Error(`parseApiKey(hostile input) threw ${describeError(result.error)}`);
        expect(result.value.ok === false || typeof value === "string").toBe(true);
        expect(fp(value)).toEqual(before);
        const built = buildBag(spec, valid);
        checkSetup("parseApiKey options", built, () => parseApiKey("flz_sk_x", built.value as never), {
          allNames: ["format"],
          // docs/key-format.md: "parseApiKey also refuses a format that defineKeyFormat() did not build".
          strict: ["format"],
          extraInputs: [value],
        });
      }),
      runs(300),
    );
  });

  it("hashApiKey: a hostile key is INVALID_INPUT; a pepper is used or refused, never silently dropped", () => {
    const key = generateApiKey().key;
    const plain = hashApiKey(key);
    const valid = { pepper: () => "pepper-secret" };
    fc.assert(
      fc.property(hostile(), bagArb(["pepper"], { exclude: { "(whole)": ["undefined"] } }), (input, spec) => {
        const value = buildHostile(input);
        const hashed = callSync("hashApiKey(hostile)", () => hashApiKey(value as never));
        if (hashed.kind === "threw") {
          if (!isApiKeyError(hashed.error)) throw new Error(`hashApiKey(hostile key) threw ${describeError(hashed.error)}`);
          expect(hashed.error.code).toBe("INVALID_INPUT");
        } else {
          expect(typeof value === "string" && value.length <= 256).toBe(true);
        }
        const built = buildBag(spec, valid);
        const hash = checkSetup("hashApiKey options", built, () => hashApiKey(key, built.value as never), { allNames: ["pepper"] });
        if (hash !== undefined && !built.wholeHostile && built.given["pepper"] !== undefined) {
          // "loses nothing": a pepper that was given is the one hashing, or the call is refused.
          expect(hash, "a pepper was given but the hash is plain SHA-256").not.toBe(plain);
          expect(hash.startsWith("hmac-sha256:")).toBe(true);
        }
      }),
      runs(300),
    );
  });

  const authNames = [
    "store", "accounts", "apiPlans", "planName", "environment", "pepper", "format", "realm", "onEvent",
    "timeouts", "lastUsedIntervalMs", "waitUntil", "retryAfterSeconds", "clock", "cache",
  ];
  const authValid = {
    store: () => new MemoryKeyStore(),
    accounts: () => ({ getPlan: () => "pro" }),
    apiPlans: () => ["pro", "team"],
    planName: () => "Pro",
    environment: () => "prod",
    pepper: () => [{ version: "2", secret: "new" }, { version: "1", secret: new Uint8Array([1, 2, 3]) }],
    format: () => getDefaultKeyFormat(),
    realm: () => "api",
    onEvent: () => () => undefined,
    timeouts: () => ({ storeMs: 100, accountsMs: 50 }),
    lastUsedIntervalMs: () => 1000,
    waitUntil: () => () => undefined,
    retryAfterSeconds: () => 2,
    clock: () => createFakeClock(START),
    cache: () => ({ ttlMs: 1000, max: 10, maxStalenessMs: 100, negativeTtlMs: 0 }),
  };

  it("createApiKeyAuth", async () => {
    await fc.assert(
      fc.asyncProperty(bagArb(authNames, { noAbsent: ["store"] }), async (spec) => {
        const built = buildBag(spec, authValid, ["store"]);
        const auth = checkSetup("createApiKeyAuth", built, () => createApiKeyAuth(built.value as never), {
          allNames: authNames,
          strict: ["store", "accounts", "format", "clock", "cache"],
        });
        if (auth !== undefined) {
          // Whatever was accepted works: a request gets a documented answer.
          const result = await settle("authenticate", auth.authenticate({ authorization: "Bearer nope", method: "GET" }));
          expect(result.kind).toBe("resolved");
          await settle("close", auth.close());
        }
        await expectNoUnhandled("createApiKeyAuth");
      }),
      runs(300),
    );
  });

  const managerNames = ["store", "accounts", "apiPlans", "planName", "format", "pepper", "clock", "timeouts", "random", "monitor"];
  const managerValid = {
    store: () => new MemoryKeyStore(),
    accounts: () => ({ getPlan: async () => "pro" }),
    apiPlans: () => ["pro"],
    planName: () => "Pro",
    format: () => getDefaultKeyFormat(),
    pepper: () => ({ version: "7", secret: "pepper" }),
    clock: () => createFakeClock(START),
    timeouts: () => 100,
    random: () => createSeededRandom(3),
    monitor: () => createUsageMonitor({ onAlert: () => undefined }),
  };

  it("createKeyManager", async () => {
    await fc.assert(
      fc.asyncProperty(bagArb(managerNames, { noAbsent: ["store"] }), async (spec) => {
        const built = buildBag(spec, managerValid, ["store"]);
        const manager = checkSetup("createKeyManager", built, () => createKeyManager(built.value as never), {
          allNames: managerNames,
          // No hostile value is a KeyStore, a plan lookup, a format, a clock, a monitor or a random source.
          strict: ["store", "accounts", "format", "clock", "monitor", "random"],
        });
        if (manager !== undefined) {
          const created = await settle(
            "create",
            manager.create({ accountId: "acc_1", actor: { id: "usr_1", admin: true }, name: "Production" }),
          );
          if (created.kind === "rejected") checkManagerError("create after setup", created.error, ["input"], { allow503: false });
          else if (built.given["pepper"] !== undefined)
            expect(created.value.record.hash.startsWith("hmac-sha256:"), "a pepper was given but the key was hashed without it").toBe(true);
        }
        await expectNoUnhandled("createKeyManager");
      }),
      runs(300),
    );
  });

  const monitorNames = ["onAlert", "clock", "revokedKeyUsed", "rotatedKeyUsed", "invalidKeyBurst", "newAddressesSpike", "dormantKeyUsed", "cooldownMs", "limits"];
  const monitorValid = {
    onAlert: () => () => undefined,
    clock: () => createFakeClock(START),
    revokedKeyUsed: () => true,
    rotatedKeyUsed: () => false,
    invalidKeyBurst: () => ({ threshold: 5, windowMs: 1000 }),
    newAddressesSpike: () => false,
    dormantKeyUsed: () => ({ afterMs: 1000 }),
    cooldownMs: () => 0,
    limits: () => ({ addresses: 10, keys: 10, keyAddresses: 10, cooldowns: 10 }),
  };

  it("createUsageMonitor", () => {
    fc.assert(
      fc.property(bagArb(monitorNames, { noAbsent: ["onAlert"] }), (spec) => {
        const built = buildBag(spec, monitorValid, ["onAlert"]);
        const monitor = checkSetup("createUsageMonitor", built, () => createUsageMonitor(built.value as never), {
          allNames: monitorNames,
          strict: ["clock"],
        });
      }),
      runs(300),
    );
  });

  it("PostgresKeyStore and RedisKeyStore constructors (fake clients, nothing connects)", () => {
    const pgNames = ["client", "table", "schema", "channel", "confirmTimeoutMs", "onUnconfirmed"];
    const pgValid = {
      client: fakePool,
      table: () => "api_keys_2",
      schema: () => "public",
      channel: () => "keys_revoked",
      confirmTimeoutMs: () => 100,
      onUnconfirmed: () => () => undefined,
    };
    const redisNames = ["client", "prefix", "confirmTimeoutMs", "onUnconfirmed"];
    const redisValid = { client: fakeRedis, prefix: () => "keys:", confirmTimeoutMs: () => false, onUnconfirmed: () => () => undefined };
    fc.assert(
      fc.property(bagArb(pgNames, { noAbsent: ["client"] }), bagArb(redisNames, { noAbsent: ["client"] }), (pgSpec, redisSpec) => {
        const pg = buildBag(pgSpec, pgValid, ["client"]);
        const pgStore = checkSetup("new PostgresKeyStore", pg, () => new PostgresKeyStore(pg.value as never), { allNames: pgNames, strict: ["client"] });
        const redis = buildBag(redisSpec, redisValid, ["client"]);
        const redisStore = checkSetup("new RedisKeyStore", redis, () => new RedisKeyStore(redis.value as never), { allNames: redisNames, strict: ["client"] });
      }),
      runs(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// /testing
// ---------------------------------------------------------------------------------------------

describe("/testing helpers refuse hostile arguments with an ApiKeyError naming them", () => {
  /** A positional argument as a one-slot bag, so the same invariant applies. */
  const positional = (): fc.Arbitrary<Slot> => slotArb([], false);
  const throwingGetters = (name: string): object =>
    Object.defineProperties({}, Object.fromEntries(["toString", "valueOf", "getTime", "id", "describe"].map((k) => [k, { get: thrower(`${name}.${k}`), enumerable: true }])));
  function builtArg(name: string, slot: Slot, valid: () => unknown): BuiltBag {
    const value = slot.k === "valid" ? valid() : slot.k === "hostile" ? buildHostile(slot.v) : slot.k === "absent" ? undefined : throwingGetters(name);
    return {
      value,
      perturbed: slot.k === "valid" || slot.k === "absent" ? [] : [name],
      getters: slot.k === "getter" ? [name] : [],
      wholeHostile: false,
      slots: { [name]: slot },
      given: slot.k === "getter" ? {} : { [name]: value },
    };
  }

  it("createFakeClock: the start is a Date or a finite number; advance and set keep the time finite", () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant("advance" as const), v: fc.oneof(hostile(), fc.double().map((data) => ({ data }))) }),
      fc.record({ op: fc.constant("set" as const), v: fc.oneof(hostile(), fc.double().map((data) => ({ data }))) }),
    );
    fc.assert(
      fc.property(positional(), fc.array(op, { maxLength: 5 }), (slot, ops) => {
        const built = builtArg("start", slot, () => new Date(START));
        const start = built.given["start"];
        const usable = start === undefined || (typeof start === "number" && Number.isFinite(start)) || Number.isFinite(timeOf(start));
        const clock = checkSetup("createFakeClock", built, () => createFakeClock(built.value as never), {
          allNames: ["start"],
          // Documented `Date | number`: a start that gives no finite time is refused, naming it.
          strict: usable ? [] : ["start"],
        });
        if (clock === undefined) return;
        expect(Number.isFinite(clock.now())).toBe(true);
        for (const { op: name, v } of ops) {
          const value = buildHostile(v);
          const before = fp(value);
          const outcome = callSync(`clock.${name}`, () => (name === "advance" ? clock.advance(value as never) : clock.set(value as never)));
          if (outcome.kind === "threw") {
            if (!isApiKeyError(outcome.error)) throw new Error(`clock.${name}(hostile) threw ${describeError(outcome.error)}`);
            expect(outcome.error.message).toMatch(name === "advance" ? /\bms\b/ : /\btime\b/);
          }
          expect(fp(value)).toEqual(before);
          expect(Number.isFinite(clock.now()), `clock.${name} left the fake clock at ${clock.now()}`).toBe(true);
        }
      }),
      runs(300),
    );
  });

  it("createSeededRandom: the seed is a number or a string; the source fills a Uint8Array or refuses", () => {
    fc.assert(
      fc.property(positional(), hostile(), (slot, bufferSpec) => {
        const built = builtArg("seed", slot, () => "seed");
        const given = built.given["seed"];
        const random = checkSetup("createSeededRandom", built, () => createSeededRandom(built.value as never), {
          allNames: ["seed"],
          // Documented `number | string`: anything else would silently share one stream ("[object Object]").
          strict: given === undefined || typeof given === "number" || typeof given === "string" ? [] : ["seed"],
        });
        if (random === undefined) return;
        const bytes = new Uint8Array(16);
        random(bytes);
        expect(bytes.some((b) => b !== 0)).toBe(true);
        const buffer = buildHostile(bufferSpec);
        const filled = callSync("seeded random(hostile)", () => random(buffer as never));
        if (filled.kind === "threw" && !isApiKeyError(filled.error)) throw new Error(`seeded random(hostile buffer) threw ${describeError(filled.error)}`);
      }),
      runs(300),
    );
  });

  it("makeTestRecord: overrides are an object; its fields win", () => {
    fc.assert(
      fc.property(positional(), (slot) => {
        const built = builtArg("overrides", slot, () => ({ name: "Fuzz", permissions: "read-only" }));
        const given = built.given["overrides"];
        const record = checkSetup("makeTestRecord", built, () => makeTestRecord(built.value as never), {
          allNames: ["overrides"],
          // An object (a Proxy with no own fields is one too) or nothing; a string would spread as fields "0", "1", ….
          strict: given === undefined || (typeof given === "object" && given !== null && (opaque.has(given) || !Array.isArray(given))) ? [] : ["overrides"],
        });
        if (record === undefined) return;
        expect(typeof record.id).toBe("string");
        if (slot.k === "valid") expect([record.name, record.permissions]).toEqual(["Fuzz", "read-only"]);
      }),
      runs(300),
    );
  });

  it("runKeyStoreConformance: name, makeStore and options are checked when the suite is defined", () => {
    const names = ["teardown", "announcementTimeoutMs", "runner", "strictInput", "rotationRules"];
    const valid = {
      teardown: () => () => undefined,
      announcementTimeoutMs: () => 100,
      runner: fakeRunner,
      strictInput: () => true,
      rotationRules: () => false,
    };
    fc.assert(
      fc.property(
        positional(),
        positional(),
        // Without a runner the suite registers with vitest itself: never absent here.
        bagArb(names, { noAbsent: ["runner"], exclude: { runner: ["undefined"], "(whole)": ["undefined"] } }),
        (nameSlot, storeSlot, spec) => {
          const name = builtArg("name", nameSlot.k === "absent" ? { k: "valid" } : nameSlot, () => "Fuzzed store");
          const makeStore = builtArg("makeStore", storeSlot.k === "absent" ? { k: "valid" } : storeSlot, () => () => new MemoryKeyStore());
          const options = buildBag(spec, valid);
          const runner = options.given["runner"];
          const combined: BuiltBag = {
            value: options.value,
            perturbed: [...name.perturbed, ...makeStore.perturbed, ...options.perturbed],
            getters: [...name.getters, ...makeStore.getters, ...options.getters],
            wholeHostile: false,
            slots: { ...name.slots, ...makeStore.slots, ...options.slots },
            given: { ...name.given, ...makeStore.given, ...options.given },
          };
          const optionsHostile = options.wholeHostile && typeof options.value === "object" && options.value !== null;
          // A readable options object without a runner means vitest's own runner, which refuses suites defined inside a test.
          fc.pre(!(optionsHostile && !unreadable.has(options.value as object)));
          const outcome = callSync("runKeyStoreConformance", () =>
            runKeyStoreConformance(name.value as never, makeStore.value as never, options.value as never),
          );
          if (outcome.kind === "threw") {
            const error = outcome.error;
            if (!isApiKeyError(error)) throw new Error(`runKeyStoreConformance: ${describeError(error)} escaped`);
            expect(error.code).toBe("INVALID_OPTIONS");
            const allowed = options.wholeHostile ? ["option", ...combined.perturbed] : combined.perturbed;
            expect(allowed.some((n) => error.message.includes(n)), `"${error.message}" names none of ${JSON.stringify(allowed)}`).toBe(true);
            return;
          }
          // Accepted: every argument must have been usable, and the fake runner got the suite.
          expect(combined.getters, "accepted arguments whose getters throw").toEqual([]);
          expect(optionsHostile, "accepted a hostile options object").toBe(false);
          expect(typeof name.value, "accepted a name that is not a string").toBe("string");
          expect(typeof makeStore.value, "accepted a makeStore that is not a function").toBe("function");
          expect((runner as { tests?: string[] } | undefined)?.tests?.length ?? 0, "the suite went to another runner").toBeGreaterThan(0);
          expect(combined.perturbed.filter((n) => n === TYPO || n === "__proto__"), "accepted an unknown option").toEqual([]);
        },
      ),
      runs(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The request path
// ---------------------------------------------------------------------------------------------

interface AuthFixture {
  auth: ApiKeyAuth;
  events: ApiKeyAuthEvent[];
  keys: Record<KeyName, string>;
  ids: Record<KeyName, string>;
  bodies: string[];
}
type KeyName = "pro" | "readOnly" | "revoked" | "expired" | "starter" | "orphan" | "unknown";
const KEY_NAMES: readonly KeyName[] = ["pro", "readOnly", "revoked", "expired", "starter", "orphan", "unknown"];
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
const PLANS: Record<string, string | null> = { acc_pro: "pro", acc_starter: "starter" };

async function authFixture(): Promise<AuthFixture> {
  const clock = createFakeClock(START);
  const store = new MemoryKeyStore();
  const accounts = { getPlan: (accountId: string) => PLANS[accountId] ?? (accountId === "acc_orphan" ? null : "pro") };
  const manager = createKeyManager({ store, clock, random: createSeededRandom("auth-fixture") });
  const actor = { id: "usr_1", admin: true };
  const make = (accountId: string, extra: object = {}) => manager.create({ accountId, actor, name: "Fixture", environment: "prod", ...extra });
  const pro = await make("acc_pro");
  const readOnly = await make("acc_pro", { permissions: "read-only" });
  const revoked = await make("acc_pro");
  await manager.revoke({ accountId: "acc_pro", actor, id: revoked.record.id });
  const expired = await make("acc_pro", { expiresAt: new Date(START + 1000) });
  const starter = await make("acc_starter");
  const orphan = await make("acc_orphan");
  clock.advance(3_600_000);
  const unknown = generateApiKey({ environment: "prod", random: createSeededRandom("unknown") }).key;
  const events: ApiKeyAuthEvent[] = [];
  const auth = createApiKeyAuth({ store, accounts, clock, onEvent: (event) => void events.push(event) });
  const keys = { pro: pro.key, readOnly: readOnly.key, revoked: revoked.key, expired: expired.key, starter: starter.key, orphan: orphan.key, unknown };
  const ids = { pro: pro.record.id, readOnly: readOnly.record.id, revoked: revoked.record.id, expired: expired.record.id, starter: starter.record.id, orphan: orphan.record.id, unknown: "" };
  return { auth, events, keys, ids, bodies: Object.values(keys).map((k) => k.slice(-32)) };
}

/** Authorization candidates: well-formed lines around the fixture keys, and everything else. */
type AuthSpec =
  | { readonly line: KeyName; readonly scheme: string; readonly spaces: number; readonly suffix: string }
  | { readonly lines: readonly AuthSpec[] }
  | { readonly value: Hostile };
const lineArb: fc.Arbitrary<AuthSpec> = fc.record({
  line: fc.constantFrom(...KEY_NAMES),
  scheme: fc.constantFrom("Bearer", "bearer", "BEARER", "bEaReR", "Basic", "", "Bearer\t", "Bearer\u00a0", "Bearer:", "B\u0435arer"),
  spaces: fc.integer({ min: 0, max: 3 }),
  suffix: fc.constantFrom("", "", "", " ", "\t", "=", "\uD800", "\uDC00", "x", " extra", "\u0000", "\r\n"),
});
const authSpecArb: fc.Arbitrary<AuthSpec> = fc.oneof(
  { weight: 5, arbitrary: lineArb },
  { weight: 2, arbitrary: fc.array(fc.oneof(lineArb, hostile().map((value) => ({ value }))), { maxLength: 3 }).map((lines) => ({ lines })) },
  { weight: 3, arbitrary: hostile().map((value): AuthSpec => ({ value })) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }).map((s): AuthSpec => ({ value: { data: s } })) },
);
function buildAuth(spec: AuthSpec, keys: Record<KeyName, string>): unknown {
  if ("line" in spec) return `${spec.scheme}${" ".repeat(spec.spaces)}${keys[spec.line]}${spec.suffix}`;
  if ("lines" in spec) return spec.lines.map((l) => buildAuth(l, keys));
  return buildHostile(spec.value);
}

/** An independent model of the documented header grammar and key states: which requests pass. */
function modelPasses(authorization: unknown, method: unknown, keys: Record<KeyName, string>): KeyName | null {
  // A Proxy cannot be read without running hostile code: it passes nothing (reading it throws: 503).
  if ((typeof authorization === "object" || typeof authorization === "function") && authorization !== null && opaque.has(authorization)) return null;
  let line = authorization;
  if (Array.isArray(line)) {
    if (line.length !== 1) return null;
    line = line[0];
  }
  if (typeof line !== "string" || line.length > 1024) return null;
  const match = /^bearer +([^ ]+)$/i.exec(line);
  if (match === null) return null;
  const token = match[1];
  if (token === keys.pro) return "pro";
  if (token === keys.readOnly && typeof method === "string" && SAFE.has(method)) return "readOnly";
  return null;
}

const WWW = 'Bearer realm="api"';
const EXPECTED_FAILURES: Record<string, { status: number; code: string; message: string; headers: Record<string, string> }> = {
  missing: { status: 401, code: "UNAUTHORIZED", message: UNAUTHORIZED_MESSAGE, headers: { "WWW-Authenticate": WWW } },
  scheme: { status: 401, code: "UNAUTHORIZED", message: UNAUTHORIZED_MESSAGE, headers: { "WWW-Authenticate": WWW } },
  malformed: { status: 401, code: "UNAUTHORIZED", message: UNAUTHORIZED_MESSAGE, headers: { "WWW-Authenticate": `${WWW}, error="invalid_request"` } },
  ...Object.fromEntries(
    ["format", "checksum", "unknown", "revoked", "expired", "environment", "account"].map((reason) => [
      reason,
      { status: 401, code: "UNAUTHORIZED", message: UNAUTHORIZED_MESSAGE, headers: { "WWW-Authenticate": `${WWW}, error="invalid_token"` } },
    ]),
  ),
  plan: { status: 403, code: "FORBIDDEN", message: "API access requires Pro plan", headers: {} },
  permission: { status: 403, code: "FORBIDDEN", message: PERMISSION_MESSAGE, headers: { "WWW-Authenticate": `${WWW}, error="insufficient_scope"` } },
  unavailable: { status: 503, code: "SERVICE_UNAVAILABLE", message: UNAVAILABLE_MESSAGE, headers: { "Retry-After": "1" } },
};

/** The documented shape of a result: ok with the key's public fields, or an exact envelope. */
function checkResult(label: string, result: unknown): ApiKeyAuthResult {
  expect(typeof result, `${label}: not a result`).toBe("object");
  const r = result as ApiKeyAuthResult;
  if (r.ok) {
    expect(Object.keys(r.key).sort()).toEqual(["accountId", "environment", "hint", "id", "name", "permissions"]);
    return r;
  }
  const expected = EXPECTED_FAILURES[r.reason];
  expect(expected, `${label}: undocumented reason ${String(r.reason)}`).toBeDefined();
  if (expected === undefined) return r;
  expect({ status: r.status, headers: r.headers }).toEqual({ status: expected.status, headers: expected.headers });
  expect(JSON.stringify(r.body)).toBe(JSON.stringify(errorBody(expected.code, expected.message)));
  return r;
}

type FieldSlot =
  | { readonly k: "absent" }
  | { readonly k: "value"; readonly v: AuthSpec }
  | { readonly k: "getter" }
  | { readonly k: "flip"; readonly vs: readonly AuthSpec[] };
interface RequestSpec {
  readonly whole: Hostile | null;
  readonly wrap: Wrap;
  readonly fields: Readonly<Record<"authorization" | "method" | "ip" | "userAgent" | "path", FieldSlot>>;
}
const textSpec = (strings: fc.Arbitrary<string>): fc.Arbitrary<AuthSpec> =>
  fc.oneof(strings.map((s): AuthSpec => ({ value: { data: s } })), hostile().map((value): AuthSpec => ({ value })));
const fieldArb = (values: fc.Arbitrary<AuthSpec>): fc.Arbitrary<FieldSlot> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant<FieldSlot>({ k: "absent" }) },
    { weight: 8, arbitrary: values.map((v): FieldSlot => ({ k: "value", v })) },
    { weight: 1, arbitrary: fc.constant<FieldSlot>({ k: "getter" }) },
    { weight: 1, arbitrary: fc.array(values, { minLength: 2, maxLength: 3 }).map((vs): FieldSlot => ({ k: "flip", vs })) },
  );
const methodSpec = textSpec(fc.constantFrom("GET", "HEAD", "OPTIONS", "POST", "DELETE", "get", "Get", "PATCH", ""));
const requestArb: fc.Arbitrary<RequestSpec> = fc.record({
  whole: fc.option(hostile(), { freq: 12 }),
  wrap: fc.constantFrom<Wrap>("plain", "plain", "plain", "plain", "plain", "plain", "frozen", "nullProto", "getProxy", "keysProxy", "revoked"),
  fields: fc.record({
    authorization: fieldArb(authSpecArb),
    method: fieldArb(methodSpec),
    ip: fieldArb(textSpec(fc.constantFrom("203.0.113.9", "::1", `x-${FOREIGN_KEY}`, ""))),
    userAgent: fieldArb(textSpec(fc.string({ unit: "binary", maxLength: 40 }))),
    path: fieldArb(textSpec(fc.constantFrom("/v1/x", `/v1/x?api_key=${FOREIGN_KEY}`, "http://u:p@h/v1", "/%66lz_sk_", "*"))),
  }),
});

const UNREADABLE = Symbol("unreadable field");
interface BuiltRequest {
  readonly value: unknown;
  /** Every combination a field may have given (a flipping getter gives several). */
  readonly authorizations: readonly unknown[];
  readonly methods: readonly unknown[];
  /** Reading authorization or method may throw: a 503 is a fair answer then. */
  readonly mayThrow: boolean;
}
function buildRequest(spec: RequestSpec, keys: Record<KeyName, string>): BuiltRequest {
  if (spec.whole !== null) {
    const value = buildHostile(spec.whole);
    return { value, authorizations: [UNREADABLE], methods: [UNREADABLE], mayThrow: typeof value === "object" && value !== null && opaque.has(value) };
  }
  const target: Record<string, unknown> = spec.wrap === "nullProto" ? (Object.create(null) as Record<string, unknown>) : {};
  const seen: Record<string, unknown[]> = {};
  let mayThrow = spec.wrap === "getProxy" || spec.wrap === "revoked";
  for (const [name, slot] of Object.entries(spec.fields)) {
    if (slot.k === "absent") {
      seen[name] = [undefined];
    } else if (slot.k === "value") {
      const v = buildAuth(slot.v, keys);
      target[name] = v;
      seen[name] = [v];
    } else if (slot.k === "getter") {
      Object.defineProperty(target, name, { get: thrower(`request.${name}`), enumerable: true });
      // Unknown to the model: a value that passes nothing on its own (a key of "all" needs no method).
      seen[name] = [UNREADABLE];
      if (name === "authorization" || name === "method") mayThrow = true;
    } else {
      const values = slot.vs.map((v) => buildAuth(v, keys));
      let i = 0;
      Object.defineProperty(target, name, { get: () => values[i++ % values.length], enumerable: true });
      seen[name] = values;
    }
  }
  let value: unknown = target;
  if (spec.wrap === "frozen") value = Object.freeze(target);
  else if (spec.wrap === "getProxy") value = unreadableValue(new Proxy(target, { get: thrower("request get trap") }));
  else if (spec.wrap === "keysProxy") value = opaqueValue(new Proxy(target, { ownKeys: thrower("request ownKeys trap") }));
  else if (spec.wrap === "revoked") value = revokedProxy(target);
  const proxied = (v: unknown): boolean => (typeof v === "object" || typeof v === "function") && v !== null && opaque.has(v);
  // A Proxy as the header value (or method) may throw when read: 503 is a fair answer then.
  if ([...(seen["authorization"] ?? []), ...(seen["method"] ?? [])].some(proxied)) mayThrow = true;
  return { value, authorizations: seen["authorization"] ?? [], methods: seen["method"] ?? [], mayThrow };
}

describe("authenticate never throws, hangs or answers outside the documented envelopes", () => {
  let fx: AuthFixture;
  beforeAll(async () => {
    fx = await authFixture();
  });
  afterAll(async () => {
    await fx.auth.close();
  });

  it("hostile requests: a documented result; on plain data, exactly what the header grammar says", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 3 }), async (specs) => {
        for (const spec of specs) {
          const request = buildRequest(spec, fx.keys);
          const before = fp(request.value);
          fx.events.length = 0;
          let pending: Promise<ApiKeyAuthResult>;
          try {
            pending = fx.auth.authenticate(request.value as never);
          } catch (error) {
            throw new Error(`authenticate threw synchronously: ${describeError(error)}`);
          }
          expect(pending).toBeInstanceOf(Promise);
          const settled = await settle("authenticate", pending);
          if (settled.kind === "rejected") throw new Error(`authenticate rejected: ${describeError(settled.error)}`);
          const result = checkResult("authenticate", settled.value);
          expect(fp(request.value), "authenticate mutated the request").toEqual(before);
          // Which outcomes are possible: a pass needs some value the fields gave to pass alone.
          const passes = request.authorizations.flatMap((a) => request.methods.map((m) => modelPasses(a, m, fx.keys)));
          if (result.ok) {
            const allowed = passes.filter((p): p is KeyName => p !== null).map((p) => fx.ids[p]);
            expect(allowed, "a pass that no single header value the request gave would earn").toContain(result.key.id);
          } else if (!request.mayThrow) {
            expect(result.status, `reason ${result.reason} for plain request data`).not.toBe(503);
            if (passes.length === 1) expect(passes[0], `refused (${result.reason}) a request the model passes`).toBeNull();
          }
          // onEvent: once per request object, never with a key.
          if (typeof request.value === "object" && request.value !== null) expect(fx.events.length).toBe(1);
          const text = JSON.stringify(fx.events);
          for (const body of [...fx.bodies, FOREIGN_KEY.slice(-32)]) expect(text.includes(body), "an event carries a key").toBe(false);
        }
        await expectNoUnhandled("authenticate");
      }),
      runs(500),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Callbacks where data is expected: onEvent, waitUntil, getPlan, clock
// ---------------------------------------------------------------------------------------------

const callbackArb = fc.constantFrom<AtomName>("fn", "throwingFn", "asyncRejectingFn", "hangingFn", "thenableRejectingFn", "throwingThenFn", "classCtor", "revokedFunctionProxy");
/** A plan lookup answering hostile values: data, throws, rejections, hangs, hostile thenables. */
const planAnswerArb = fc.oneof(
  fc.constantFrom("pro", "starter", null).map((v): Hostile => ({ data: v })),
  hostile(),
  fc.constantFrom<Hostile>({ atom: "thenable" }, { atom: "throwingThen" }),
);

describe("hostile callbacks never break the request path", () => {
  it("onEvent, waitUntil, getPlan and a clock that breaks after setup: documented results, no unhandled rejection", async () => {
    await fc.assert(
      fc.asyncProperty(
        callbackArb,
        callbackArb,
        planAnswerArb,
        fc.constantFrom<"ok" | "throws" | "NaN" | "string">("ok", "ok", "throws", "NaN", "string"),
        async (onEventAtom, waitUntilAtom, planAnswer, clockMode) => {
          const store = new MemoryKeyStore();
          const manager = createKeyManager({ store, random: createSeededRandom("callbacks") });
          const { key } = await manager.create({ accountId: "acc_1", actor: { id: "u", admin: true }, name: "K" });
          let reads = 0;
          const clock = {
            now: (): number => {
              if (reads++ === 0 || clockMode === "ok") return START;
              if (clockMode === "throws") throw new HostileError("clock");
              return (clockMode === "NaN" ? Number.NaN : "soon") as number;
            },
          };
          const auth = createApiKeyAuth({
            store,
            clock,
            timeouts: 20,
            lastUsedIntervalMs: 1,
            onEvent: ATOMS[onEventAtom]() as never,
            waitUntil: ATOMS[waitUntilAtom]() as never,
            accounts: {
              getPlan: () => {
                const answer = buildHostile(planAnswer);
                if (typeof answer === "function") return (answer as () => unknown)() as never;
                return answer as never;
              },
            },
          });
          for (let i = 0; i < 3; i++) {
            const settled = await settle("authenticate", auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" }));
            if (settled.kind === "rejected") throw new Error(`authenticate rejected: ${describeError(settled.error)}`);
            const result = checkResult("authenticate", settled.value);
            if (result.ok) {
              expect(clockMode, "passed on a clock that gives no time").toBe("ok");
              expect(planAnswer, "passed on a plan answer that is not the API plan").toEqual({ data: "pro" });
            }
            await new Promise((resolve) => setTimeout(resolve, 3));
          }
          const closed = await settle("close", auth.close());
          expect(closed.kind).toBe("resolved");
          await expectNoUnhandled("hostile callbacks", 5);
        },
      ),
      runs(120),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Key manager
// ---------------------------------------------------------------------------------------------

const STATUS_CODES: Record<number, string> = { 400: "VALIDATION_ERROR", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT", 503: "SERVICE_UNAVAILABLE" };

/** The manager's rejection contract: an ApiKeyError with status, matching code and envelope body. */
function checkManagerError(label: string, error: unknown, fields: readonly string[], opts: { allow503: boolean }): ApiKeyError {
  if (!isApiKeyError(error)) throw new Error(`${label} rejected with ${describeError(error)}, not an ApiKeyError`);
  const status = error.status;
  expect(Object.keys(STATUS_CODES).map(Number), `${label}: status ${String(status)} (${error.code}: ${error.message})`).toContain(status);
  if (!opts.allow503) expect(status, `${label}: 503 with a healthy store (${describeError(error.cause)})`).not.toBe(503);
  expect(error.code).toBe(STATUS_CODES[status as number]);
  expect(error.body).toEqual(errorBody(error.code, error.message));
  expect(JSON.stringify(error.body)).toBe(JSON.stringify({ success: false, error: { code: error.code, message: error.message } }));
  if (status === 400) {
    expect([...fields, "input", TYPO], `${label}: 400 names field ${String(error.field)}`).toContain(error.field);
    expect(error.message.startsWith(`Invalid ${String(error.field)}`)).toBe(true);
  }
  return error;
}

type MethodName = "create" | "list" | "revoke" | "rotate" | "rotationStatus" | "unused";
const METHOD_FIELDS: Record<MethodName, readonly string[]> = {
  create: ["accountId", "actor", "name", "environment", "permissions", "expiresAt", "metadata"],
  list: ["accountId"],
  revoke: ["accountId", "actor", "id"],
  rotate: ["accountId", "actor", "id", "gracePeriodMs", "expiresAt"],
  rotationStatus: ["accountId", "id"],
  unused: ["accountId", "since"],
};
const ADMIN_ONLY = new Set<MethodName>(["create", "revoke", "rotate"]);

interface ManagerFixture {
  manager: KeyManager;
  store: MemoryKeyStore;
  valid: Record<string, () => unknown>;
}
async function managerFixture(store: KeyStore = new MemoryKeyStore()): Promise<ManagerFixture & { ids: { active: string; rotated: string } }> {
  const clock = createFakeClock(START);
  const accounts = { getPlan: (id: string) => (id === "acc_1" ? "pro" : id === "acc_free" ? "free" : null) };
  const manager = createKeyManager({ store, clock, accounts, timeouts: 20, random: createSeededRandom("manager-fixture") });
  const actor = { id: "usr_1", admin: true };
  const active = await manager.create({ accountId: "acc_1", actor, name: "Active" });
  const old = await manager.create({ accountId: "acc_1", actor, name: "Old" });
  await manager.rotate({ accountId: "acc_1", actor, id: old.record.id, gracePeriodMs: 60_000 });
  const valid: Record<string, () => unknown> = {
    accountId: () => "acc_1",
    actor: () => ({ id: "usr_1", admin: true }),
    name: () => "  Production  ",
    environment: () => "prod",
    permissions: () => "read-only",
    expiresAt: () => new Date(START + 86_400_000),
    metadata: () => ({ team: "data", tags: ["a"] }),
    id: () => active.record.id,
    gracePeriodMs: () => 1000,
    since: () => new Date(START - 1000),
  };
  return { manager, store: store as MemoryKeyStore, valid, ids: { active: active.record.id, rotated: old.record.id } };
}

/** Is this actor plainly an identified administrator (read without running hostile code)? */
function plainAdmin(actor: unknown): boolean {
  if (typeof actor !== "object" || actor === null || opaque.has(actor)) return false;
  const admin = Object.getOwnPropertyDescriptor(actor, "admin");
  const id = Object.getOwnPropertyDescriptor(actor, "id");
  return admin !== undefined && "value" in admin && admin.value === true && id !== undefined && "value" in id && typeof id.value === "string";
}

describe("key-manager methods reject only with an ApiKeyError carrying status, code and the envelope", () => {
  it("hostile inputs: 400 naming the field, 403 first for a non-administrator, never a raw error or a 503", async () => {
    const callArb = fc.constantFrom<MethodName>("create", "list", "revoke", "rotate", "rotationStatus", "unused").chain((method) =>
      fc.record({ method: fc.constant(method), input: bagArb(METHOD_FIELDS[method], { exclude: {} }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(callArb, { minLength: 1, maxLength: 3 }), async (calls) => {
        const fx = await managerFixture();
        for (const { method, input } of calls) {
          const fields = METHOD_FIELDS[method];
          const valid = { ...fx.valid, ...(method === "rotationStatus" ? { id: () => fx.ids.rotated } : {}) };
          const built = buildBag(input, valid);
          const before = fp(built.value);
          let pending: Promise<unknown>;
          try {
            pending = (fx.manager[method] as (input: unknown) => Promise<unknown>)(built.value);
          } catch (error) {
            throw new Error(`manager.${method} threw synchronously: ${describeError(error)}`);
          }
          expect(pending).toBeInstanceOf(Promise);
          const settled = await settle(`manager.${method}`, pending);
          expect(fp(built.value), `manager.${method} mutated its input`).toEqual(before);
          const inputIsObject = !built.wholeHostile || (typeof built.value === "object" && built.value !== null);
          const actorSlot = built.slots["actor"];
          const nonAdmin =
            ADMIN_ONLY.has(method) &&
            !built.wholeHostile &&
            (actorSlot === undefined || actorSlot.k === "absent" || actorSlot.k === "getter" || (actorSlot.k === "hostile" && !plainAdmin(built.given["actor"])));
          if (settled.kind === "rejected") {
            const error = checkManagerError(`manager.${method}`, settled.error, fields, { allow503: false });
            if (nonAdmin && inputIsObject) expect([error.status, error.message]).toEqual([403, "Administrator rights required"]);
          } else {
            expect(nonAdmin, `manager.${method} accepted a non-administrator`).toBe(false);
            expect(built.getters, `manager.${method} resolved although reading ${built.getters.join(", ")} throws`).toEqual([]);
            expect(built.wholeHostile && typeof built.value !== "object", `manager.${method} resolved on a non-object input`).toBe(false);
            if (method === "create") {
              const created = settled.value as { key: string; record: ApiKeyRecord };
              expect(parseApiKey(created.key).ok).toBe(true);
              expect(JSON.stringify(created.record).includes(created.key)).toBe(false);
            }
          }
        }
        await expectNoUnhandled("manager");
      }),
      runs(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// A failing store: 503 with the envelope, never a pass, never a raw error
// ---------------------------------------------------------------------------------------------

type StoreBehaviour =
  | { readonly k: "ok" }
  | { readonly k: "throws"; readonly v: Hostile }
  | { readonly k: "rejects"; readonly v: Hostile }
  | { readonly k: "returns"; readonly v: Hostile }
  | { readonly k: "returnsList"; readonly v: readonly Hostile[] }
  | { readonly k: "hangs" };
const behaviourArb: fc.Arbitrary<StoreBehaviour> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<StoreBehaviour>({ k: "ok" }) },
  { weight: 2, arbitrary: hostile().map((v): StoreBehaviour => ({ k: "throws", v })) },
  { weight: 2, arbitrary: hostile().map((v): StoreBehaviour => ({ k: "rejects", v })) },
  { weight: 2, arbitrary: hostile().map((v): StoreBehaviour => ({ k: "returns", v })) },
  { weight: 1, arbitrary: fc.array(hostile(), { maxLength: 3 }).map((v): StoreBehaviour => ({ k: "returnsList", v })) },
  { weight: 1, arbitrary: fc.constant<StoreBehaviour>({ k: "hangs" }) },
);
const STORE_METHODS = ["insert", "getByHash", "getById", "listByAccount", "revoke", "recordUsage"] as const;

/** A memory store whose methods misbehave as told once `broken` is set. */
function hostileStore(behaviours: Readonly<Record<(typeof STORE_METHODS)[number], StoreBehaviour>>): { store: KeyStore; inner: MemoryKeyStore; broken: { on: boolean } } {
  const inner = new MemoryKeyStore();
  const broken = { on: false };
  const store = Object.fromEntries(
    STORE_METHODS.map((name) => [
      name,
      (...args: unknown[]): unknown => {
        const b = behaviours[name];
        const real = (): unknown => (inner[name] as (...a: unknown[]) => unknown)(...args);
        if (!broken.on || b.k === "ok") return real();
        if (b.k === "throws") throw buildHostile(b.v);
        if (b.k === "rejects") return Promise.reject(buildHostile(b.v));
        if (b.k === "returns") return buildHostile(b.v);
        if (b.k === "returnsList") return Promise.resolve(b.v.map(buildHostile));
        return new Promise(() => undefined);
      },
    ]),
  ) as unknown as KeyStore;
  return { store, inner, broken };
}

describe("a failing store gives 503 with the envelope, never a pass and never a raw error", () => {
  it("manager methods and authenticate over a store that throws, rejects, hangs or answers garbage", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(Object.fromEntries(STORE_METHODS.map((m) => [m, behaviourArb])) as Record<(typeof STORE_METHODS)[number], fc.Arbitrary<StoreBehaviour>>),
        fc.constantFrom<MethodName>("create", "list", "revoke", "rotate", "rotationStatus", "unused"),
        async (behaviours, method) => {
          const { store, broken } = hostileStore(behaviours);
          const fx = await managerFixture(store);
          const { key } = await fx.manager.create({ accountId: "acc_1", actor: { id: "usr_1", admin: true }, name: "Probe" });
          broken.on = true;
          const fields = METHOD_FIELDS[method];
          const input = Object.fromEntries(fields.map((f) => [f, (method === "rotationStatus" && f === "id" ? () => fx.ids.rotated : fx.valid[f] as () => unknown)()]));
          let pending: Promise<unknown>;
          try {
            pending = (fx.manager[method] as (input: unknown) => Promise<unknown>)(input);
          } catch (error) {
            throw new Error(`manager.${method} threw synchronously: ${describeError(error)}`);
          }
          const settled = await settle(`manager.${method}`, pending);
          if (settled.kind === "rejected") {
            const error = checkManagerError(`manager.${method}`, settled.error, fields, { allow503: true });
            expect([404, 409, 503], `manager.${method}: ${error.status} ${error.message} for valid input`).toContain(error.status);
          }
          const auth = createApiKeyAuth({ store, timeouts: 20 });
          const answered = await settle("authenticate", auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" }));
          if (answered.kind === "rejected") throw new Error(`authenticate rejected: ${describeError(answered.error)}`);
          const result = checkResult("authenticate", answered.value);
          if (behaviours.getByHash.k !== "ok") expect(result.ok, "a pass on a store that did not answer with the record").toBe(false);
          await settle("close", auth.close());
          await expectNoUnhandled("failing store", 25);
        },
      ),
      runs(150),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// MemoryKeyStore methods
// ---------------------------------------------------------------------------------------------

const RECORD_FIELDS = ["id", "accountId", "name", "hash", "hint", "environment", "permissions", "createdAt", "createdBy", "lastUsedAt", "revokedAt", "revokedReason", "expiresAt", "rotatedFromId", "metadata"] as const;

function checkStoreError(label: string, error: unknown, codes: readonly string[]): ApiKeyError {
  if (!isApiKeyError(error)) throw new Error(`${label} rejected with ${describeError(error)}, not an ApiKeyError`);
  expect(codes, `${label}: ${error.code} ${error.message}`).toContain(error.code);
  return error;
}

describe("MemoryKeyStore refuses hostile input with INVALID_INPUT naming the field, storing nothing", () => {
  it("insert, getByHash, getById, listByAccount, revoke, recordUsage, subscribeRevocations", async () => {
    const usageArb = fc.oneof(
      hostile().map((whole) => ({ whole })),
      fc.array(fc.oneof(hostile().map((entry) => ({ entry })), fc.record({ id: hostile(), lastUsedAt: hostile() })), { maxLength: 4 }).map((entries) => ({ entries })),
    );
    await fc.assert(
      fc.asyncProperty(
        bagArb(RECORD_FIELDS, {}),
        hostile(),
        bagArb(["at", "reason"], {}),
        usageArb,
        fc.tuple(hostile(), hostile()),
        async (recordSpec, lookup, revokeSpec, usage, [listener, onStatus]) => {
          const store = new MemoryKeyStore();
          const base = makeTestRecord();
          const valid = Object.fromEntries(RECORD_FIELDS.map((f) => [f, () => base[f]]));
          const built = buildBag(recordSpec, valid, ["id", "accountId", "name", "hash", "hint", "permissions", "createdAt"]);
          const before = fp(built.value);
          const inserted = await settle("insert", store.insert(built.value as never));
          expect(fp(built.value), "insert mutated the record").toEqual(before);
          if (inserted.kind === "rejected") {
            const error = checkStoreError("insert", inserted.error, ["INVALID_INPUT"]);
            const names = built.wholeHostile ? [...RECORD_FIELDS, "record"] : built.perturbed;
            expect(names, `insert: "${error.message}" names ${String(error.field)}`).toContain(error.field);
            expect(store.size).toBe(0);
          } else {
            expect(built.getters, "insert accepted a record whose getters throw").toEqual([]);
            expect(built.wholeHostile && (typeof built.value !== "object" || built.value === null), "insert accepted a non-object").toBe(false);
            expect(store.size).toBe(1);
          }
          const probe = buildHostile(lookup);
          for (const [name, call] of [
            ["getByHash", () => store.getByHash(probe as never)],
            ["getById", () => store.getById(probe as never)],
            ["listByAccount", () => store.listByAccount(probe as never)],
          ] as const) {
            const settled = await settle(name, (call as () => Promise<unknown>)());
            if (settled.kind === "rejected") checkStoreError(name, settled.error, ["INVALID_INPUT"]);
          }
          const revokeOptions = buildBag(revokeSpec, { at: () => new Date(START), reason: () => "revoked" });
          const revoked = await settle("revoke", store.revoke(base.id, revokeOptions.value as never));
          if (revoked.kind === "rejected") {
            const error = checkStoreError("revoke", revoked.error, ["INVALID_INPUT"]);
            expect(["at", "reason", "options"], `revoke: "${error.message}"`).toContain(error.field);
          } else {
            expect(revokeOptions.getters, "revoke accepted options whose getters throw").toEqual([]);
          }
          const batch = "whole" in usage ? buildHostile(usage.whole) : usage.entries.map((e) => ("entry" in e ? buildHostile(e.entry) : { id: buildHostile(e.id), lastUsedAt: buildHostile(e.lastUsedAt) }));
          const recorded = await settle("recordUsage", store.recordUsage(batch as never));
          if (recorded.kind === "rejected") checkStoreError("recordUsage", recorded.error, ["INVALID_INPUT"]);
          const subscribe = store.subscribeRevocations.bind(store) as (listener: unknown, onStatus: unknown) => () => void;
          const subscribed = callSync("subscribeRevocations", () => subscribe(buildHostile(listener), buildHostile(onStatus)));
          if (subscribed.kind === "threw") checkStoreError("subscribeRevocations", subscribed.error, ["INVALID_INPUT"]);
          else {
            await settle("revoke with a hostile listener", store.revoke(base.id));
            subscribed.value();
          }
          await expectNoUnhandled("MemoryKeyStore");
        },
      ),
      runs(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Usage monitor methods
// ---------------------------------------------------------------------------------------------

const EVENT_FIELDS = ["ok", "reason", "status", "keyId", "hint", "accountId", "revokedReason", "ip", "userAgent", "method", "path", "time"] as const;

describe("usage monitor: record never throws; lastSeen, prime and stats answer or refuse with an ApiKeyError", () => {
  it("record(hostile events), lastSeen, prime, stats", async () => {
    const primeArb = fc.oneof(
      hostile().map((whole) => ({ whole })),
      fc.array(fc.oneof(hostile().map((row) => ({ row })), fc.record({ id: hostile(), lastUsedAt: hostile() })), { maxLength: 4 }).map((rows) => ({ rows })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(bagArb(EVENT_FIELDS, {}), fc.constantFrom("revoked", "unknown", "ok", "format")), { minLength: 1, maxLength: 4 }),
        callbackArb,
        hostile(),
        primeArb,
        async (events, onAlertAtom, keyId, prime) => {
          const clock = createFakeClock(START);
          const monitor = createUsageMonitor({ onAlert: ATOMS[onAlertAtom]() as never, invalidKeyBurst: { threshold: 1 }, cooldownMs: 0 });
          const { record, lastSeen, prime: primeFn, stats } = monitor; // bound, as documented
          for (const [spec, reason] of events) {
            clock.advance(1000);
            const valid = {
              ok: () => reason === "ok",
              reason: () => reason,
              status: () => (reason === "ok" ? 200 : 401),
              keyId: () => "key_1",
              hint: () => "flz_sk_prod_…abcd",
              accountId: () => "acc_1",
              revokedReason: () => (reason === "revoked" ? "revoked" : null),
              ip: () => "203.0.113.9",
              userAgent: () => "curl/8",
              method: () => "GET",
              path: () => "/v1",
              time: () => new Date(clock.now()),
            };
            const built = buildBag(spec, valid);
            const before = fp(built.value);
            const outcome = callSync("monitor.record", () => record(built.value as never));
            if (outcome.kind === "threw") throw new Error(`monitor.record threw ${describeError(outcome.error)}`);
            expect(outcome.value).toBeUndefined();
            expect(fp(built.value), "record mutated the event").toEqual(before);
          }
          const seen = callSync("monitor.lastSeen", () => lastSeen(buildHostile(keyId) as never));
          if (seen.kind === "threw") throw new Error(`monitor.lastSeen threw ${describeError(seen.error)}`);
          expect(seen.value === null || (seen.value instanceof Date && Number.isFinite(seen.value.getTime()))).toBe(true);
          const rows = "whole" in prime ? buildHostile(prime.whole) : prime.rows.map((r) => ("row" in r ? buildHostile(r.row) : { id: buildHostile(r.id), lastUsedAt: buildHostile(r.lastUsedAt) }));
          const before = fp(rows);
          const primed = callSync("monitor.prime", () => primeFn(rows as never));
          if (primed.kind === "threw") {
            if (!isApiKeyError(primed.error)) throw new Error(`monitor.prime threw ${describeError(primed.error)}`);
            expect(primed.error.code).toBe("INVALID_INPUT");
            expect(primed.error.message).toMatch(/prime/);
          }
          expect(fp(rows), "prime mutated its input").toEqual(before);
          const numbers = stats();
          for (const v of Object.values(numbers)) expect(Number.isInteger(v) && v >= 0).toBe(true);
          await expectNoUnhandled("usage monitor");
        },
      ),
      runs(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// isApiKeyError and errorBody take anything
// ---------------------------------------------------------------------------------------------

describe("isApiKeyError and errorBody take anything", () => {
  it("isApiKeyError answers a boolean for every value, Proxies included; errorBody always builds the envelope", () => {
    fc.assert(
      fc.property(hostile(), (spec) => {
        const value = buildHostile(spec);
        const outcome = callSync("isApiKeyError", () => isApiKeyError(value));
        if (outcome.kind === "threw") throw new Error(`isApiKeyError threw ${describeError(outcome.error)}`);
        expect(outcome.value).toBe(false);
        // errorBody only wraps what it is given: never throws, always the envelope's shape.
        const body = callSync("errorBody", () => errorBody(value as never, value as never));
        if (body.kind === "threw") throw new Error(`errorBody threw ${describeError(body.error)}`);
        expect(Object.keys(body.value)).toEqual(["success", "error"]);
        expect([body.value.success, Object.keys(body.value.error)]).toEqual([false, ["code", "message"]]);
      }),
      runs(300),
    );
    expect(isApiKeyError(new ApiKeyError("NOT_FOUND", "x"))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Regressions: the defects these properties found, each as a fixed case
// ---------------------------------------------------------------------------------------------

/** The ApiKeyError `fn` throws (a raw error fails the test with its own message). */
function thrownBy(fn: () => unknown): ApiKeyError {
  const outcome = callSync("regression", fn);
  if (outcome.kind === "returned") throw new Error("expected a refusal, got a result");
  if (!isApiKeyError(outcome.error)) throw new Error(`a raw ${describeError(outcome.error)} escaped`);
  return outcome.error;
}
async function rejectionOf(promise: Promise<unknown>): Promise<ApiKeyError> {
  const settled = await settle("regression", promise);
  if (settled.kind === "resolved") throw new Error("expected a rejection");
  if (!isApiKeyError(settled.error)) throw new Error(`rejected with a raw ${describeError(settled.error)}`);
  return settled.error;
}
const getter = (name: string, extra: object = {}): object =>
  Object.defineProperty({ ...extra }, name, { get: thrower(`getter of ${name}`), enumerable: true });
const ADMIN = { id: "usr_1", admin: true };

describe("regressions found by the fuzz", () => {
  it("a sparse pepper list is refused, not silently dropped (it hashed with plain SHA-256)", () => {
    const key = generateApiKey().key;
    for (const pepper of [new Array(1), [, { version: "2", secret: "s" }]]) {
      expect(thrownBy(() => hashApiKey(key, { pepper: pepper as never })).message).toContain('"pepper"');
      expect(thrownBy(() => createApiKeyAuth({ store: new MemoryKeyStore(), pepper: pepper as never })).field).toBe("pepper");
      expect(thrownBy(() => createKeyManager({ store: new MemoryKeyStore(), pepper: pepper as never })).field).toBe("pepper");
    }
  });

  it("an async waitUntil that rejects is ignored, not an unhandled rejection", async () => {
    const store = new MemoryKeyStore();
    const { key } = await createKeyManager({ store }).create({ accountId: "acc_1", actor: ADMIN, name: "K" });
    const auth = createApiKeyAuth({ store, lastUsedIntervalMs: 1, waitUntil: async () => Promise.reject(new HostileError("waitUntil")) });
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    await auth.close();
    await expectNoUnhandled("waitUntil", 10);
  });

  it("a random source that throws, rejects or fills nothing is INVALID_OPTIONS naming random (at setup for the manager)", async () => {
    const asyncSource = async (): Promise<void> => Promise.reject(new HostileError("random"));
    for (const random of [thrower("random"), asyncSource, revokedProxy(() => undefined), opaqueValue(new Proxy({}, allTrapsThrow))]) {
      expect(thrownBy(() => generateApiKey({ random: random as never })).field).toBe("random");
    }
    expect(thrownBy(() => createKeyManager({ store: new MemoryKeyStore(), random: () => undefined })).field).toBe("random");
    expect(thrownBy(() => createKeyManager({ store: new MemoryKeyStore(), random: thrower("random") })).field).toBe("random");
    await expectNoUnhandled("random", 5);
    // Probing at setup draws the bytes later keys use: a seeded manager still gives the seeded keys.
    const seeded = await createKeyManager({ store: new MemoryKeyStore(), random: createSeededRandom(5) }).create({ accountId: "a", actor: ADMIN, name: "K" });
    expect(seeded.key).toBe(generateApiKey({ random: createSeededRandom(5) }).key);
  });

  it("getters and Proxies that throw in options are INVALID_OPTIONS naming the option, not raw TypeErrors", () => {
    const store = new MemoryKeyStore();
    const cases: [string, () => unknown, string][] = [
      ["createApiKeyAuth getter", () => createApiKeyAuth(getter("store") as never), "store"],
      ["createApiKeyAuth nested getter", () => createApiKeyAuth({ store, timeouts: getter("storeMs") } as never), "timeouts"],
      ["createApiKeyAuth ownKeys", () => createApiKeyAuth(new Proxy({ store }, { ownKeys: thrower("ownKeys") }) as never), "options"],
      ["createKeyManager getter", () => createKeyManager(getter("clock", { store }) as never), "clock"],
      ["createUsageMonitor getter", () => createUsageMonitor(getter("cooldownMs", { onAlert: () => undefined }) as never), "cooldownMs"],
      ["createUsageMonitor revoked Proxy value", () => createUsageMonitor({ onAlert: () => undefined, revokedKeyUsed: revokedProxy({}) } as never), "revokedKeyUsed"],
      ["defineKeyFormat getter", () => defineKeyFormat(getter("checksum") as never), "checksum"],
      ["defineKeyFormat Proxy environments", () => defineKeyFormat({ environments: new Proxy(["a"], { get: thrower("get") }) }), "environments"],
      ["generateApiKey get trap", () => generateApiKey(new Proxy({}, { get: thrower("get") }) as never), "environment"],
      ["parseApiKey revoked options", () => parseApiKey("x", revokedProxy({}) as never), "options"],
      ["hashApiKey Proxy pepper", () => hashApiKey("x", { pepper: new Proxy({ version: "1", secret: "s" }, { has: thrower("has") }) }), "pepper"],
      ["PostgresKeyStore getter", () => new PostgresKeyStore(getter("client") as never), "client"],
      ["PostgresKeyStore Proxy client", () => new PostgresKeyStore({ client: new Proxy({}, allTrapsThrow) as never }), "client"],
      ["PostgresKeyStore Symbol table", () => new PostgresKeyStore({ client: fakePool() as never, table: Symbol("t") as never }), "table"],
      ["PostgresKeyStore array table", () => new PostgresKeyStore({ client: fakePool() as never, table: ["api_keys"] as never }), "table"],
      ["RedisKeyStore Proxy client", () => new RedisKeyStore({ client: new Proxy({}, allTrapsThrow) as never }), "client"],
    ];
    for (const [label, call, name] of cases) {
      const error = thrownBy(call);
      expect([label, error.code, error.message.includes(name)]).toEqual([label, "INVALID_OPTIONS", true]);
    }
  });

  it("a format that defineKeyFormat() did not build is refused, as documented (a look-alike threw a raw TypeError later)", () => {
    const forged = { head: "flz_sk_", crcStates: new Map() };
    for (const format of [forged, { ...defineKeyFormat() }, null]) {
      expect(thrownBy(() => parseApiKey("flz_sk_x", { format: format as never })).field).toBe("format");
      expect(thrownBy(() => generateApiKey({ format: format as never })).field).toBe("format");
      expect(thrownBy(() => createApiKeyAuth({ store: new MemoryKeyStore(), format: format as never, environment: "prod" })).field).toBe("format");
    }
    const own = defineKeyFormat({ prefix: "acme" });
    expect(parseApiKey(generateApiKey({ format: own }).key, { format: own }).ok).toBe(true);
    expect(defineKeyFormat({ ...own, checksum: false }).checksum).toBe(false);
  });

  it("authorization is read once: a getter cannot have one value's grammar checked and another's token used", async () => {
    const fx = await authFixture();
    const values: unknown[] = ["Bearer zzzz", [`Bearer ${fx.keys.pro}`, "junk"]];
    let reads = 0;
    const request = { method: "GET", get authorization() {
      return values[reads++ % 2];
    } };
    const result = await fx.auth.authenticate(request as never);
    expect(result.ok, "passed on a header that is invalid on every read").toBe(false);
    await fx.auth.close();
  });

  it("onEvent is still called once when a request field's getter throws (the event was dropped)", async () => {
    const fx = await authFixture();
    const request = Object.defineProperty({ authorization: `Bearer ${fx.keys.pro}`, method: "GET" }, "ip", { get: thrower("ip") });
    expect((await fx.auth.authenticate(request as never)).ok).toBe(true);
    expect(fx.events.map((e) => [e.reason, e.ip])).toEqual([["ok", null]]);
    await fx.auth.close();
  });

  it("manager methods: unreadable fields are 403/400 naming them, not raw TypeErrors", async () => {
    const { manager, ids } = await managerFixture();
    const date = new Date(START + 86_400_000);
    const cases: [string, () => Promise<unknown>, number, string | undefined][] = [
      ["create: name getter", () => manager.create(getter("name", { accountId: "acc_1", actor: ADMIN }) as never), 400, "name"],
      ["create: actor getter", () => manager.create(getter("actor", { accountId: "acc_1", name: "K" }) as never), 403, undefined],
      ["create: actor.admin getter", () => manager.create({ accountId: "acc_1", actor: getter("admin", { id: "u" }) as never, name: "K" }), 403, undefined],
      ["create: expiresAt Proxy of a Date", () => manager.create({ accountId: "acc_1", actor: ADMIN, name: "K", expiresAt: new Proxy(date, {}) }), 400, "expiresAt"],
      ["create: expiresAt from Date.prototype", () => manager.create({ accountId: "acc_1", actor: ADMIN, name: "K", expiresAt: Object.create(Date.prototype) as Date }), 400, "expiresAt"],
      ["create: metadata Proxy", () => manager.create({ accountId: "acc_1", actor: ADMIN, name: "K", metadata: new Proxy({}, allTrapsThrow) as never }), 400, "metadata"],
      ["create: metadata revoked Proxy", () => manager.create({ accountId: "acc_1", actor: ADMIN, name: "K", metadata: revokedProxy({}) as never }), 400, "metadata"],
      ["list: Proxy input", () => manager.list(new Proxy({}, { get: thrower("get") }) as never), 400, "accountId"],
      ["rotate: expiresAt Proxy of a Date", () => manager.rotate({ accountId: "acc_1", actor: ADMIN, id: ids.active, expiresAt: new Proxy(date, {}) }), 400, "expiresAt"],
      ["unused: since Proxy", () => manager.unused({ accountId: "acc_1", since: new Proxy({}, allTrapsThrow) as never }), 400, "since"],
      ["unused: since from Date.prototype", () => manager.unused({ accountId: "acc_1", since: Object.create(Date.prototype) as Date }), 400, "since"],
    ];
    for (const [label, call, status, field] of cases) {
      const error = await rejectionOf(call());
      expect([label, error.status, error.field]).toEqual([label, status, field]);
      expect(error.body).toEqual(errorBody(error.code, error.message));
    }
  });

  it("a store that answers rows of the wrong shape, or rejects with a revoked Proxy, gives 503 (a raw TypeError escaped)", async () => {
    const base = new MemoryKeyStore();
    const garbage = Object.assign(Object.create(base) as KeyStore, { listByAccount: async () => [null, 1, {}] });
    const listing = createKeyManager({ store: garbage });
    expect((await rejectionOf(listing.list({ accountId: "a" }))).status).toBe(503);
    expect((await rejectionOf(listing.unused({ accountId: "a" }))).status).toBe(503);
    const hostileRejection = Object.assign(Object.create(base) as KeyStore, { getById: async () => Promise.reject(revokedProxy([])) });
    const error = await rejectionOf(createKeyManager({ store: hostileRejection }).revoke({ accountId: "a", actor: ADMIN, id: "key_1" }));
    expect([error.status, error.code]).toEqual([503, "SERVICE_UNAVAILABLE"]);
    expect(isApiKeyError(revokedProxy({}))).toBe(false);
  });

  it("MemoryKeyStore: unreadable input is INVALID_INPUT naming the field; nothing is stored", async () => {
    const store = new MemoryKeyStore();
    const record = makeTestRecord();
    const cases: [() => Promise<unknown>, string][] = [
      [() => store.insert(getter("createdAt", { ...record }) as never), "createdAt"],
      [() => store.insert(revokedProxy({}) as never), "record"],
      [() => store.revoke(record.id, getter("at") as never), "at"],
      [() => store.revoke(record.id, { at: new Proxy({}, allTrapsThrow) as never }), "at"],
      [() => store.revoke(record.id, revokedProxy({}) as never), "at"],
      [() => store.recordUsage(revokedProxy([]) as never), "batch"],
      [() => store.recordUsage(new Proxy([{ id: record.id, lastUsedAt: new Date() }], { get: thrower("get") }) as never), "batch"],
    ];
    for (const [call, field] of cases) {
      const error = await rejectionOf(call());
      expect([error.code, error.field]).toEqual(["INVALID_INPUT", field]);
    }
    expect(store.size).toBe(0);
    await store.recordUsage([getter("id") as never, { id: record.id, lastUsedAt: new Date() }]);
  });

  it("monitor.prime: not iterable is INVALID_INPUT; a row it cannot read is skipped (both threw raw TypeErrors)", () => {
    const monitor = createUsageMonitor({ onAlert: () => undefined });
    for (const rows of [null, 42, new Proxy([], { get: thrower("get") })]) expect(thrownBy(() => monitor.prime(rows as never)).code).toBe("INVALID_INPUT");
    monitor.prime([{ id: "k1", lastUsedAt: Object.create(Date.prototype) as Date }, getter("id") as never, { id: "k2", lastUsedAt: new Proxy(new Date(0), {}) }, { id: "k3", lastUsedAt: new Date(5) }]);
    expect([monitor.lastSeen("k1"), monitor.lastSeen("k2"), monitor.lastSeen("k3")?.getTime()]).toEqual([null, null, 5]);
  });

  it("/testing: bad arguments are ApiKeyErrors naming them; the fake clock never leaves finite time", () => {
    expect(thrownBy(() => createFakeClock("2025" as never)).field).toBe("start");
    expect(thrownBy(() => createFakeClock(null as never)).field).toBe("start");
    expect(thrownBy(() => createFakeClock(Number.NaN)).field).toBe("start");
    const clock = createFakeClock(new Date(START));
    clock.advance(1);
    expect(thrownBy(() => clock.advance(-1)).field).toBe("ms");
    expect(thrownBy(() => clock.advance("1" as never)).field).toBe("ms");
    clock.set(Number.MAX_VALUE);
    expect(thrownBy(() => clock.advance(Number.MAX_VALUE)).field).toBe("ms");
    expect(Number.isFinite(clock.now())).toBe(true);
    expect(thrownBy(() => clock.set(null as never)).field).toBe("time");
    expect(thrownBy(() => createSeededRandom({ toString: thrower("toString") } as never)).field).toBe("seed");
    expect(thrownBy(() => createSeededRandom({} as never)).field).toBe("seed");
    const plain = [1, 2, 3];
    expect(thrownBy(() => createSeededRandom(1)(plain as never)).field).toBe("buffer");
    expect(plain).toEqual([1, 2, 3]);
    expect(thrownBy(() => makeTestRecord("abc" as never)).field).toBe("overrides");
    expect(thrownBy(() => makeTestRecord(getter("name") as never)).field).toBe("overrides.name");
    const runner = fakeRunner();
    const store = (): KeyStore => new MemoryKeyStore();
    expect(thrownBy(() => runKeyStoreConformance(Symbol("s") as never, store, { runner })).field).toBe("name");
    expect(thrownBy(() => runKeyStoreConformance("S", 42 as never, { runner })).field).toBe("makeStore");
    expect(thrownBy(() => runKeyStoreConformance("S", store, { runner: 42 as never })).field).toBe("runner");
    expect(thrownBy(() => runKeyStoreConformance("S", store, { runner, strictinput: true } as never)).field).toBe("strictinput");
    expect(thrownBy(() => runKeyStoreConformance("S", store, { runner, strictInput: "yes" as never })).field).toBe("strictInput");
    runKeyStoreConformance("S", store, { runner, strictInput: true });
    expect(runner.tests.length).toBeGreaterThan(0);
  });
});
