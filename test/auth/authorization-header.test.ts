import { describe, expect, it } from "vitest";
import { bearerStart, isB64token, MAX_AUTHORIZATION_LENGTH, soleLine } from "../../src/auth/authorization-header.js";

/** The whole header rule as the authenticator applies it: find the token, then its grammar. */
function readBearerToken(raw: unknown): string {
  const start = bearerStart(raw);
  if (typeof start !== "number") return start;
  const line = soleLine(raw as string | string[]);
  return isB64token(line, start) ? line.slice(start) : "malformed";
}

const key = "flz_sk_prod_AbCdEfGhIjKlMnOpQrStUvWxYz012345";

describe("Authorization header rules (DESIGN §5, RFC 6750 §2.1)", () => {
  it("scheme `Bearer` in any letter case", () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) expect(readBearerToken(`${scheme} ${key}`)).toBe(key);
  });

  it("one or more spaces between scheme and token", () => {
    expect(readBearerToken(`Bearer  ${key}`)).toBe(key);
    expect(readBearerToken(`Bearer      ${key}`)).toBe(key);
  });

  it("no tabs", () => {
    expect(readBearerToken(`Bearer\t${key}`)).toBe("malformed");
    expect(readBearerToken(`Bearer \t${key}`)).toBe("malformed");
    expect(readBearerToken(`Bearer ${key}\t`)).toBe("malformed");
  });

  it("no NBSP or other Unicode space", () => {
    for (const space of ["\u00a0", "\u2000", "\u2002", "\u2003", "\u2009", "\u202f", "\u205f", "\u3000", "\u1680", "\ufeff"]) {
      expect(readBearerToken(`Bearer${space}${key}`)).toBe("malformed");
      expect(readBearerToken(`Bearer ${space}${key}`)).toBe("malformed");
      expect(readBearerToken(`Bearer ${key}${space}`)).toBe("malformed");
    }
  });

  it("no zero-width characters and no non-ASCII look-alikes in the token", () => {
    expect(readBearerToken(`Bearer ${key.slice(0, 10)}\u200b${key.slice(10)}`)).toBe("malformed");
    expect(readBearerToken(`Bearer ${key.slice(0, 10)}\u0430${key.slice(11)}`)).toBe("malformed");
    expect(readBearerToken(`Bearer \uff46lz_sk_${"a".repeat(32)}`)).toBe("malformed");
  });

  it("no second token or trailing words", () => {
    expect(readBearerToken(`Bearer ${key} ${key}`)).toBe("malformed");
    expect(readBearerToken(`Bearer ${key} trailing`)).toBe("malformed");
    expect(readBearerToken(`Bearer ${key} `)).toBe("malformed");
  });

  it("a quoted key is malformed", () => {
    expect(readBearerToken(`Bearer "${key}"`)).toBe("malformed");
    expect(readBearerToken(`Bearer '${key}'`)).toBe("malformed");
  });

  it("`Bearer` alone, or followed only by spaces, is malformed", () => {
    expect(readBearerToken("Bearer")).toBe("malformed");
    expect(readBearerToken("bearer   ")).toBe("malformed");
  });

  it("several raw Authorization lines are malformed, whatever they hold", () => {
    expect(readBearerToken([`Bearer ${key}`, `Bearer ${key}`])).toBe("malformed");
    expect(readBearerToken([`Bearer ${key}`, ""])).toBe("malformed");
    expect(readBearerToken([`Bearer ${key}`])).toBe(key);
  });

  it("no header, an empty one, or an empty list is missing", () => {
    expect(readBearerToken(undefined)).toBe("missing");
    expect(readBearerToken(null)).toBe("missing");
    expect(readBearerToken("")).toBe("missing");
    expect(readBearerToken([])).toBe("missing");
    expect(readBearerToken([""])).toBe("missing");
  });

  it("another scheme, or a bare key without a scheme, is another scheme", () => {
    expect(readBearerToken("Basic dXNlcjpwYXNz")).toBe("scheme");
    expect(readBearerToken(`Token ${key}`)).toBe("scheme");
    expect(readBearerToken(`ApiKey ${key}`)).toBe("scheme");
    expect(readBearerToken(key)).toBe("scheme");
    expect(readBearerToken(`Bearer${key}`)).toBe("scheme");
    expect(readBearerToken("Bear")).toBe("scheme");
  });

  it("a first word that is not a scheme name (look-alike or invisible characters in it) is malformed, not another scheme", () => {
    for (const header of [
      `B\u0435arer ${key}`, // Cyrillic e
      `Be\u0430rer ${key}`, // Cyrillic a
      `B\u00e9arer ${key}`,
      `Bea\u200brer ${key}`, // zero-width space
      `Bearer\t${key}`,
      `Basic\tdXNlcjpwYXNz`,
      `Bearer\u00a0${key}`,
      `Token\u200b ${key}`,
    ]) {
      expect(readBearerToken(header), JSON.stringify(header)).toBe("malformed");
    }
    // A scheme name alone, or followed by a space, stays another scheme.
    expect(readBearerToken("Basic")).toBe("scheme");
    expect(readBearerToken("Digest username=x")).toBe("scheme");
  });

  it("leading whitespace or control characters are malformed", () => {
    expect(readBearerToken(` Bearer ${key}`)).toBe("malformed");
    expect(readBearerToken(`\tBearer ${key}`)).toBe("malformed");
    expect(readBearerToken(`Bearer ${key}\r\n`)).toBe("malformed");
    expect(readBearerToken(`Bearer ${key}\u0000`)).toBe("malformed");
  });

  it(`headers over ${MAX_AUTHORIZATION_LENGTH} characters are malformed before any scanning (8 KB)`, () => {
    expect(readBearerToken(`Bearer ${"a".repeat(8 * 1024)}`)).toBe("malformed");
    expect(readBearerToken(`Bearer ${"a".repeat(MAX_AUTHORIZATION_LENGTH - 7)}`)).toBe("a".repeat(MAX_AUTHORIZATION_LENGTH - 7));
  });

  it("non-string values are malformed, not a crash", () => {
    expect(readBearerToken(42)).toBe("malformed");
    expect(readBearerToken({ toString: () => `Bearer ${key}` })).toBe("malformed");
    expect(readBearerToken([42])).toBe("malformed");
  });

  it("the token is any RFC 6750 b64token; the key check comes after", () => {
    expect(readBearerToken("Bearer abc.def-ghi_jkl~mno+pqr/stu==")).toBe("abc.def-ghi_jkl~mno+pqr/stu==");
  });

  it("`=` only as trailing padding after at least one other character: anything else is malformed", () => {
    expect(readBearerToken("Bearer abc=")).toBe("abc=");
    for (const header of ["Bearer a=b", "Bearer =abc", "Bearer =", "Bearer ==", "Bearer abc==d", `Bearer ${key}=x`]) {
      expect(readBearerToken(header), header).toBe("malformed");
    }
  });
});
