import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALPHABET } from "../../src/lib/random.js";
import { defineKeyFormat, generateApiKey, isApiKeyError, parseApiKey } from "../../src/index.js";
import { createSeededRandom } from "../../src/testing/index.js";

const random = createSeededRandom("parse");
const key = generateApiKey({ environment: "prod", random }).key;
const plain = generateApiKey({ random }).key;
// The cases below rely on the body having upper-case letters (true for this seed).
if (key.slice(12) === key.slice(12).toLowerCase()) throw new Error("pick another seed");

describe("parseApiKey (DESIGN §3)", () => {
  it("accepts a generated key and gives its environment and hint, not the key", () => {
    const parsed = parseApiKey(key);
    expect(parsed).toEqual({ ok: true, environment: "prod", hint: `flz_sk_prod_…${key.slice(-4)}` });
    expect(JSON.stringify(parsed)).not.toContain(key.slice(12, 30));
    expect(parseApiKey(plain)).toMatchObject({ ok: true, environment: null });
  });

  it.each([
    ["empty", "", "empty"],
    ["another prefix", key.replace("flz_", "abc_"), "prefix"],
    ["the prefix in capitals", key.replace("flz_sk_", "FLZ_SK_"), "prefix"],
    ["an unknown environment", key.replace("_prod_", "_test_"), "environment"],
    ["31 body characters", key.slice(0, -1), "length"],
    ["33 body characters", `${key}A`, "length"],
    ["a non-ASCII look-alike (Cyrillic а)", `${key.slice(0, 20)}\u0430${key.slice(21)}`, "charset"],
    ["a Kelvin sign K (which /i would fold to k)", `${key.slice(0, 20)}\u212a${key.slice(21)}`, "charset"],
    ["a lower-cased body", key.slice(0, 12) + key.slice(12).toLowerCase(), "checksum"],
    ["leading whitespace", ` ${key}`, "prefix"],
    ["trailing whitespace", `${key} `, "length"],
    ["over 256 characters", `${key}${"a".repeat(300)}`, "too_long"],
    ["a body with an underscore", `flz_sk_prod_${"a".repeat(15)}_${"b".repeat(16)}`, "charset"],
  ])("refuses %s", (_name, input, reason) => {
    const r = parseApiKey(input);
    expect(r).toEqual({ ok: false, reason });
  });

  it("refuses non-strings without throwing", () => {
    expect(parseApiKey(42 as unknown as string)).toEqual({ ok: false, reason: "not_a_string" });
    expect(parseApiKey(undefined as unknown as string)).toEqual({ ok: false, reason: "not_a_string" });
  });

  it("refuses inputs over 256 characters before any other work (a 1 MB input is refused as too_long)", () => {
    expect(parseApiKey("x".repeat(1_000_000))).toEqual({ ok: false, reason: "too_long" });
    expect(parseApiKey(`flz_sk_${"A".repeat(250)}`)).toEqual({ ok: false, reason: "too_long" });
  });

  it("property: every single-character substitution anywhere in a checksummed key is rejected", () => {
    const symbols = `${ALPHABET}_-.`;
    fc.assert(
      fc.property(fc.integer(), fc.nat(), fc.nat(), fc.constantFrom(undefined, "prod", "stag", "dev"), (seed, pos, sym, env) => {
        const k = generateApiKey({ random: createSeededRandom(seed), environment: env }).key;
        const i = pos % k.length;
        let c = symbols[sym % symbols.length] as string;
        if (c === k[i]) c = c === "A" ? "B" : "A";
        const mutated = k.slice(0, i) + c + k.slice(i + 1);
        return !parseApiKey(mutated).ok;
      }),
      { numRuns: 20_000 },
    );
  });

  it("every substitution at every position of one key is rejected (exhaustive)", () => {
    for (let i = 0; i < key.length; i++) {
      for (const c of ALPHABET) {
        if (c === key[i]) continue;
        expect(parseApiKey(key.slice(0, i) + c + key.slice(i + 1)).ok).toBe(false);
      }
    }
  });

  it("follows a custom format and its environment set", () => {
    const format = defineKeyFormat({ prefix: "acme", type: "sk", environments: ["live"] });
    const k = generateApiKey({ format, environment: "live" }).key;
    expect(parseApiKey(k, { format }).ok).toBe(true);
    expect(parseApiKey(k)).toEqual({ ok: false, reason: "prefix" });
    expect(parseApiKey(key, { format })).toEqual({ ok: false, reason: "prefix" });
  });

  it("never echoes the input in a failure", () => {
    const bad = `${key.slice(0, -1)}!`;
    expect(JSON.stringify(parseApiKey(bad))).not.toContain(bad.slice(12));
  });
});

describe("defineKeyFormat", () => {
  it.each([
    [{ prefix: "FLZ" }, "prefix"],
    [{ prefix: "a_b" }, "prefix"],
    [{ type: "" }, "type"],
    [{ environments: ["prod", "prod"] }, "environments"],
    [{ environments: ["Prod"] }, "environments"],
    [{ environments: "prod" as unknown as string[] }, "environments"],
    [{ checksum: "yes" as unknown as boolean }, "checksum"],
  ])("refuses %j naming the option", (options, name) => {
    expect(() => defineKeyFormat(options)).toThrowError(new RegExp(`"${name}"`));
  });

  it("refuses a misspelt option, naming it, rather than silently using the default", () => {
    let error: unknown;
    try {
      defineKeyFormat({ prefix: "acme", checksums: false } as never);
    } catch (caught) {
      error = caught;
    }
    expect(isApiKeyError(error) && [error.code, error.field]).toEqual(["INVALID_OPTIONS", "checksums"]);
    expect((error as Error).message).toContain("prefix, type, environments, checksum");
  });

  it("a format spread into new options makes a format again (its derived fields are recomputed)", () => {
    const base = defineKeyFormat({ prefix: "acme", environments: ["live"] });
    const plainFormat = defineKeyFormat({ ...base, checksum: false });
    expect([plainFormat.head, plainFormat.checksum, plainFormat.environments]).toEqual(["acme_sk_", false, ["live"]]);
    const renamed = defineKeyFormat({ ...base, prefix: "corp" });
    const { key } = generateApiKey({ format: renamed, environment: "live" });
    expect(key.startsWith("corp_sk_live_")).toBe(true);
    expect(parseApiKey(key, { format: renamed }).ok).toBe(true);
  });
});

describe("options of parseApiKey", () => {
  const codeOf = (run: () => unknown): unknown => {
    try {
      run();
    } catch (error) {
      return isApiKeyError(error) ? [error.code, error.field] : error;
    }
    return "no error";
  };

  it("a format not built by defineKeyFormat throws INVALID_OPTIONS naming it, not 'prefix' for every key", () => {
    expect(codeOf(() => parseApiKey(key, { format: {} as never }))).toEqual(["INVALID_OPTIONS", "format"]);
    expect(codeOf(() => parseApiKey(key, { format: { prefix: "flz" } as never }))).toEqual(["INVALID_OPTIONS", "format"]);
  });

  it("misspelt or non-object options throw INVALID_OPTIONS (not a TypeError)", () => {
    expect(codeOf(() => parseApiKey(key, { fromat: defineKeyFormat() } as never))).toEqual(["INVALID_OPTIONS", "fromat"]);
    expect(codeOf(() => parseApiKey(key, null as never))).toEqual(["INVALID_OPTIONS", undefined]);
    expect(parseApiKey(key, undefined).ok).toBe(true);
  });
});
