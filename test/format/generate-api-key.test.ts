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
});
