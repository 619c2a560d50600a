import { describe, expect, it } from "vitest";
import { xorshift } from "../support/xorshift.js";
import { defineKeyFormat, generateApiKey, getDefaultKeyFormat } from "../../src/index.js";
import { isCaseFoldedKeyBodyAt, isKeyBodyAt } from "../../src/format/parse-api-key.js";
import { createSeededRandom } from "../../src/testing/index.js";

const format = getDefaultKeyFormat();

describe("isCaseFoldedKeyBodyAt: a key body whose letters were all turned to one case", () => {
  it("finds every key's body upper- or lower-cased, under each environment tag and none", () => {
    const random = createSeededRandom(42);
    for (let i = 0; i < 400; i++) {
      const environment = (["prod", "stag", "dev", undefined] as const)[i % 4];
      const body = generateApiKey({ random, ...(environment === undefined ? {} : { environment }) }).key.slice(-32);
      expect(isCaseFoldedKeyBodyAt(body.toUpperCase(), 0, format), body).toBe(true);
      expect(isCaseFoldedKeyBodyAt(`x-${body.toLowerCase()}-y`, 2, format), body).toBe(true);
    }
  });

  it("leaves mixed case to the exact check, and refuses what is no alphanumeric run of 32", () => {
    const body = generateApiKey({ random: createSeededRandom(7) }).key.slice(-32);
    expect(isKeyBodyAt(body, 0, format)).toBe(true);
    expect(isCaseFoldedKeyBodyAt(body, 0, format)).toBe(false); // as written: mixed case
    expect(isCaseFoldedKeyBodyAt(body.toUpperCase().slice(1), 0, format)).toBe(false); // 31 characters
    expect(isCaseFoldedKeyBodyAt(`${body.toUpperCase().slice(0, 31)}-`, 0, format)).toBe(false);
    expect(isCaseFoldedKeyBodyAt("0".repeat(32), 0, format)).toBe(false); // no letter: exact check only
  });

  it("a changed character is not a key any more, in any case", () => {
    const upper = generateApiKey({ random: createSeededRandom(9) }).key.slice(-32).toUpperCase();
    for (let i = 0; i < 32; i++) {
      const c = upper.charCodeAt(i);
      const other = c === 57 /* 9 */ ? "0" : c === 90 /* Z */ ? "A" : String.fromCharCode(c + 1);
      expect(isCaseFoldedKeyBodyAt(upper.slice(0, i) + other + upper.slice(i + 1), 0, format)).toBe(false);
    }
  });

  it("rarely takes other one-case runs for keys: hex hashes almost never, random capitals and digits about 1 in 500", () => {
    const next = xorshift(2024);
    const run = (alphabet: string): string => Array.from({ length: 32 }, () => alphabet[next() % alphabet.length]).join("");
    let hex = 0;
    let alnum = 0;
    let letters = 0;
    for (let i = 0; i < 20_000; i++) {
      if (isCaseFoldedKeyBodyAt(run("0123456789abcdef"), 0, format)) hex++;
      if (isCaseFoldedKeyBodyAt(run("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 0, format)) alnum++;
      if (isCaseFoldedKeyBodyAt(run("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 0, format)) letters++;
    }
    expect(hex).toBeLessThanOrEqual(2);
    expect(alnum).toBeLessThan(120); // expected about 45 of 20 000
    expect(letters).toBe(0); // a checksum of six letters is always past 2^32
  });

  it("a format without checksum has no such check", () => {
    const plain = defineKeyFormat({ checksum: false });
    const body = generateApiKey({ format: plain }).key.slice(-32);
    expect(isCaseFoldedKeyBodyAt(body.toUpperCase(), 0, plain)).toBe(false);
  });
});

describe("one-case runs in event text: solved up to a budget per field", () => {
  it("solves the first 8 one-case runs that could hold a checksum; later ones are redacted unsolved", async () => {
    const { redactKeys } = await import("../../src/auth/event-text.js");
    // 20 one-case runs of 32 whose last 6 characters could be a checksum, none of them a key.
    const next = xorshift(99);
    const runs = Array.from({ length: 20 }, () => {
      for (;;) {
        const run = Array.from({ length: 26 }, () => "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[next() % 36]).join("") + "0ABCDE";
        if (!isCaseFoldedKeyBodyAt(run, 0, format)) return run;
      }
    });
    const out = redactKeys(runs.join("|"), format).split("|");
    expect(out.slice(0, 8)).toEqual(runs.slice(0, 8));
    expect(out.slice(8)).toEqual(Array(12).fill("[redacted API key]"));
    // Runs whose last 6 characters cannot be a checksum (a letter first) cost nothing and stay.
    const plain = runs.map((r) => `${r.slice(0, 26)}ABCDEF`).join("|");
    expect(redactKeys(plain, format)).toBe(plain);
  });
});
