import { describe, expect, it } from "vitest";
import { base62Checksum, base62Value, crc32 } from "../../src/format/checksum.js";

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

  it("reads the last 6 characters back as the number they spell", () => {
    const head = "flz_sk_abcdefghijklmnopqrstuvwxyz";
    const key = head + base62Checksum(crc32(head));
    expect(base62Value(key, head.length)).toBe(crc32(head));
    expect(base62Value(key.slice(0, -1) + (key.endsWith("0") ? "1" : "0"), head.length)).not.toBe(crc32(head));
    expect(base62Value("000000", 0)).toBe(0);
    expect(base62Value("4gfFC3", 0)).toBe(0xffffffff);
    for (const bad of ["00000_", "0000\u00e9z", "00 000", "0000-0"]) expect(base62Value(bad, 0)).toBe(-1);
  });
});
