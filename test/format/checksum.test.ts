import { describe, expect, it } from "vitest";
import { base62Checksum, crc32 } from "../../src/format/checksum.js";
import { defineKeyFormat } from "../../src/format/key-format.js";
import { checkApiKey, failureOf, UNTAGGED } from "../../src/format/parse-api-key.js";

describe("CRC-32 checksum (DESIGN §3)", () => {
  it("matches the standard CRC-32 check values", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
    expect(crc32("The quick brown fox jumps over the lazy dog")).toBe(0x414fa339);
  });

  it("writes 6 zero-padded base62 digits", () => {
    expect(base62Checksum(0)).toBe("000000");
    expect(base62Checksum(61)).toBe("00000z");
    expect(base62Checksum(62)).toBe("000010");
    expect(base62Checksum(0xffffffff)).toBe("4gfFC3");
  });

  it("reads the last 6 characters back as the number they spell, and nothing but base62 digits", () => {
    const format = defineKeyFormat({ environments: [] });
    const body = "abcdefghijklmnopqrstuvwxyz";
    const key = format.head + body + base62Checksum(crc32(format.head + body));
    expect(checkApiKey(key, format)).toBe(UNTAGGED);
    expect(failureOf(checkApiKey(key.slice(0, -1) + (key.endsWith("0") ? "1" : "0"), format))).toBe("checksum");
    for (const bad of ["00000.", "0000\u00e9z", "00 000", "0000-0", "0000\u0130z", "\u01300000z"]) {
      expect(failureOf(checkApiKey(format.head + body + bad.slice(0, 6), format))).toBe("charset");
    }
  });
});
