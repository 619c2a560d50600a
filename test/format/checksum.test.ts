import { describe, expect, it } from "vitest";
import { base62Checksum, checksumDigitsMatch, crc32 } from "../../src/format/checksum.js";

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

  it("checks the last 6 characters against everything before them", () => {
    const head = "flz_sk_abcdefghijklmnopqrstuvwxyz";
    const key = head + base62Checksum(crc32(head));
    expect(checksumDigitsMatch(key, crc32(head))).toBe(true);
    expect(checksumDigitsMatch(key.slice(0, -1) + (key.endsWith("0") ? "1" : "0"), crc32(head))).toBe(false);
  });
});
