import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defineKeyFormat, generateApiKey, isApiKeyError, parseApiKey } from "../../src/index.js";
import { createSeededRandom } from "../../src/testing/index.js";

describe("generateApiKey (DESIGN §3)", () => {
  it("makes flz_sk_ keys with a 32-character [A-Za-z0-9] body", () => {
    const { key, hint, environment } = generateApiKey();
    expect(key).toMatch(/^flz_sk_[A-Za-z0-9]{32}$/);
    expect(environment).toBeNull();
    expect(hint).toBe(`flz_sk_…${key.slice(-4)}`);
  });

  it("tags the environment when asked: flz_sk_prod_, flz_sk_stag_, flz_sk_dev_", () => {
    for (const env of ["prod", "stag", "dev"]) {
      const { key, hint, environment } = generateApiKey({ environment: env });
      expect(key).toMatch(new RegExp(`^flz_sk_${env}_[A-Za-z0-9]{32}$`));
      expect(environment).toBe(env);
      expect(hint).toBe(`flz_sk_${env}_…${key.slice(-4)}`);
    }
  });

  it("refuses an environment outside the format's set, naming the option", () => {
    expect(() => generateApiKey({ environment: "qa" })).toThrowError(/"environment"/);
    try {
      generateApiKey({ environment: "PROD" });
      expect.unreachable();
    } catch (error) {
      expect(isApiKeyError(error) && error.code).toBe("INVALID_OPTIONS");
    }
  });

  it("gives distinct keys from the CSPRNG", () => {
    const keys = new Set(Array.from({ length: 10_000 }, () => generateApiKey().key));
    expect(keys.size).toBe(10_000);
  });

  it("is deterministic with an injected seeded random source", () => {
    const a = generateApiKey({ random: createSeededRandom(7) }).key;
    const b = generateApiKey({ random: createSeededRandom(7) }).key;
    const c = generateApiKey({ random: createSeededRandom(8) }).key;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it("with checksum: false gives 32 random characters that parse under that format", () => {
    const format = defineKeyFormat({ checksum: false });
    const { key } = generateApiKey({ format, environment: "dev" });
    expect(parseApiKey(key, { format }).ok).toBe(true);
    // The default (checksummed) format refuses it, except in the rare case the tail happens to match.
    const sample = Array.from({ length: 50 }, () => generateApiKey({ format }).key);
    expect(sample.filter((k) => parseApiKey(k).ok).length).toBeLessThan(2);
  });

  it.each(["prefix", "type", "environments", "checksum"])("defineKeyFormat refuses %s: null naming it (only a field left out takes the default)", (field) => {
    let error: unknown;
    try {
      defineKeyFormat({ [field]: null } as never);
    } catch (e) {
      error = e;
    }
    expect(isApiKeyError(error) && [error.code, error.field]).toEqual(["INVALID_OPTIONS", field]);
    expect(defineKeyFormat({ [field]: undefined }).head).toBe("flz_sk_");
  });

  it("honours a custom prefix and type", () => {
    const format = defineKeyFormat({ prefix: "acme", type: "pk", environments: ["live", "test"] });
    const { key } = generateApiKey({ format, environment: "live" });
    expect(key).toMatch(/^acme_pk_live_[A-Za-z0-9]{32}$/);
    expect(parseApiKey(key, { format })).toEqual({ ok: true, environment: "live", hint: `acme_pk_live_…${key.slice(-4)}` });
  });

  it("property: every generated key parses and round-trips its environment", () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom(undefined, "prod", "stag", "dev"), (seed, env) => {
        const { key, environment, hint } = generateApiKey({ random: createSeededRandom(seed), environment: env });
        const parsed = parseApiKey(key);
        return parsed.ok && parsed.environment === environment && parsed.hint === hint && environment === (env ?? null);
      }),
      { numRuns: 2_000 },
    );
  });

  it("draws characters uniformly over the 62 symbols (chi-square over 1.3 M characters)", () => {
    const counts = new Map<string, number>();
    const format = defineKeyFormat({ checksum: false, environments: [] });
    let total = 0;
    for (let i = 0; i < 40_000; i++) {
      const body = generateApiKey({ format }).key.slice(7);
      for (const ch of body) counts.set(ch, (counts.get(ch) ?? 0) + 1);
      total += body.length;
    }
    expect(total).toBeGreaterThanOrEqual(1_000_000);
    expect(counts.size).toBe(62);
    const expected = total / 62;
    let chi = 0;
    for (const n of counts.values()) chi += (n - expected) ** 2 / expected;
    // 61 degrees of freedom: P(chi² > 100.9) ≈ 0.001. A modulo-biased draw (256 % 62 = 8 favoured
    // symbols) gives chi² in the thousands at this sample size.
    expect(chi).toBeLessThan(100.9);
  });

  it("the seeded source also has no modulo bias (bytes ≥ 248 are drawn again)", () => {
    // Feed a source that only ever yields 250 then 3: the 250 must be skipped, giving symbol 3.
    let flip = false;
    const random = (buf: Uint8Array): void => {
      for (let i = 0; i < buf.length; i++) buf[i] = (flip = !flip) ? 250 : 3;
    };
    const format = defineKeyFormat({ checksum: false });
    expect(generateApiKey({ format, random }).key.slice(7)).toBe("3".repeat(32));
  });
});

describe("random sources", () => {
  it("accepts an object with getRandomValues (Web Crypto style) as well as a filling function", () => {
    const seeded = createSeededRandom(11);
    const asObject = { getRandomValues: (buffer: Uint8Array) => seeded(buffer) };
    expect(generateApiKey({ random: asObject }).key).toBe(generateApiKey({ random: createSeededRandom(11) }).key);
    expect(parseApiKey(generateApiKey({ random: globalThis.crypto }).key).ok).toBe(true);
  });

  it("refuses anything else, naming the option", () => {
    expect(() => generateApiKey({ random: 42 as never })).toThrowError(/"random"/);
  });

  it.each([
    ["does not fill the buffer (returns bytes instead)", (size: Uint8Array) => void new Uint8Array(size.length)],
    ["fills only the start of the buffer", (buffer: Uint8Array) => buffer.set(globalThis.crypto.getRandomValues(new Uint8Array(32)))],
    ["gives one value over and over", (buffer: Uint8Array) => void buffer.fill(7)],
    ["gives only bytes of 248 and above (nothing to draw from: no endless loop)", (buffer: Uint8Array) => {
      for (let i = 0; i < buffer.length; i++) buffer[i] = 248 + (i % 8);
    }],
  ])("refuses a source that %s, naming the option, instead of giving a predictable key", (_, random) => {
    let error: unknown;
    try {
      generateApiKey({ random });
    } catch (caught) {
      error = caught;
    }
    expect(isApiKeyError(error) && [error.code, error.field]).toEqual(["INVALID_OPTIONS", "random"]);
    // Still refused on the next call: the pool never hands out what was left in it.
    expect(() => generateApiKey({ random })).toThrowError(/"random"/);
  });
});

describe("options of generateApiKey", () => {
  it("refuses a misspelt option, naming it, rather than making an untagged key", () => {
    let error: unknown;
    try {
      generateApiKey({ enviroment: "prod" } as never);
    } catch (caught) {
      error = caught;
    }
    expect(isApiKeyError(error) && [error.code, error.field]).toEqual(["INVALID_OPTIONS", "enviroment"]);
  });

  it("refuses options that are not an object with INVALID_OPTIONS (not a TypeError); undefined is the default", () => {
    for (const bad of [null, 5, "prod"]) {
      let error: unknown;
      try {
        generateApiKey(bad as never);
      } catch (caught) {
        error = caught;
      }
      expect(isApiKeyError(error) && error.code).toBe("INVALID_OPTIONS");
    }
    expect(generateApiKey(undefined).key).toMatch(/^flz_sk_/);
    expect(generateApiKey({ environment: undefined, format: undefined, random: undefined }).environment).toBeNull();
  });
});

describe("the library keeps no copy of a generated key (DESIGN §4: the plaintext exists once)", () => {
  it("the random bytes a key was drawn from are wiped from the pool", () => {
    let pool: Uint8Array | undefined;
    const random = (buffer: Uint8Array): void => {
      pool = buffer;
      for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 7) % 248; // all accepted: no redraws
    };
    generateApiKey({ random, environment: "prod" });
    expect(pool).toBeDefined();
    expect([...pool!.subarray(0, 26)].every((b) => b === 0)).toBe(true);
    expect(pool![26]).not.toBe(0);
  });

  it("no array left in the heap holds the key's characters once the caller drops it", async () => {
    const inspector = await import("node:inspector/promises");
    let generated: { key: string } | null = generateApiKey({ environment: "prod" });
    // Passed as text: an array of its codes made here would itself be found.
    const body = generated.key.slice(-32);
    generated = null;
    const session = new inspector.Session();
    session.connect();
    try {
      const { result: proto } = await session.post("Runtime.evaluate", { expression: "Array.prototype" });
      const { objects } = await session.post("Runtime.queryObjects", { prototypeObjectId: proto.objectId as string });
      const { result } = await session.post("Runtime.callFunctionOn", {
        objectId: objects.objectId as string,
        returnByValue: true,
        functionDeclaration: `function (body) {
          const matches = (a) => { for (let i = 0; i < 32; i++) if (a[a.length - 32 + i] !== body.charCodeAt(i)) return false; return true; };
          return this.filter((a) => a.length >= 32 && matches(a)).length;
        }`,
        arguments: [{ value: body }],
      });
      expect(result.value).toBe(0);
    } finally {
      session.disconnect();
    }
  });
});
