// The streaming finder behind `scan`, in process: every chunk boundary, split keys, look-alikes.
import { describe, expect, it } from "vitest";
import { defineKeyFormat, generateApiKey } from "../../src/index.js";
import { createSeededRandom } from "../../src/testing/index.js";
import { createKeyScanner, type KeyFinding } from "../../src/cli/scan/key-scanner.js";

const random = createSeededRandom("key-scanner");
const keys = [1, 2, 3].map(() => generateApiKey({ environment: "prod", random }));
const plain = generateApiKey({ random });
const [a, b, c] = keys as [(typeof keys)[0], (typeof keys)[0], (typeof keys)[0]];

/** Scan `text` pushed in pieces of `size` bytes, with a search after every push (roundSize 1). */
function scan(text: string, size = Number.POSITIVE_INFINITY, roundSize?: number): KeyFinding[] {
  const found: KeyFinding[] = [];
  const scanner = createKeyScanner({ onFinding: (f) => found.push(f), roundSize });
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += Math.min(size, bytes.length)) scanner.push(bytes.subarray(i, i + size));
  scanner.end();
  return found;
}

const badChecksum = (key: string): string => `${key.slice(0, -1)}${key.endsWith("Q") ? "R" : "Q"}`;

describe("createKeyScanner", () => {
  it("finds keys with their line and hint, in order", () => {
    const text = `first line\nconst a = "${a.key}";\n\n  b: ${b.key}\n${plain.key}`;
    expect(scan(text)).toEqual([
      { line: 2, endLine: 2, hint: a.hint, environment: "prod" },
      { line: 4, endLine: 4, hint: b.hint, environment: "prod" },
      { line: 5, endLine: 5, hint: plain.hint, environment: null },
    ]);
  });

  it("finds a key right after an escaped line break or tab (JSON strings, log lines), at every chunk boundary", () => {
    const text = `{"env": "A=1\\n${a.key}\\n${b.key}", "t": "\\t${c.key}\\r${plain.key}"}\n`;
    const expected = [a, b, c, plain].map((k) => ({ line: 1, endLine: 1, hint: k.hint, environment: k.environment }));
    expect(scan(text)).toEqual(expected);
    for (const size of [1, 2, 3, 5]) expect(scan(text, size, 1)).toEqual(expected);
    // Glued to letters that are no escape, the keys are still found: their checksums confirm them.
    expect(scan(`xn${a.key} \\x${b.key}`).map((f) => f.hint)).toEqual([a.hint, b.hint]);
  });

  it("finds a key cut at every possible chunk boundary, exactly once, with the right line", () => {
    const text = `x\ny ${a.key} z\n${"w".repeat(30)}\n${b.key}\n`;
    const expected = scan(text);
    expect(expected.map((f) => f.line)).toEqual([2, 4]);
    for (const size of [1, 2, 3, 7, 13, 50]) expect(scan(text, size, 1)).toEqual(expected);
    // Two pushes, cut at each byte offset of the first key.
    const start = text.indexOf(a.key);
    for (let cut = start - 1; cut <= start + a.key.length + 1; cut++) {
      const found: KeyFinding[] = [];
      const scanner = createKeyScanner({ onFinding: (f) => found.push(f), roundSize: 1 });
      scanner.push(Buffer.from(text.slice(0, cut)));
      scanner.push(Buffer.from(text.slice(cut)));
      scanner.end();
      expect(found).toEqual(expected);
    }
  });

  it("ignores look-alikes: a bad checksum, a wrong case, a wrong-case head", () => {
    const text = [
      badChecksum(a.key),
      a.key.slice(0, 15) + a.key.slice(15).toLowerCase(),
      `x${badChecksum(a.key)}9`,
      `FLZ_SK_PROD_${a.key.slice(12)}`,
      "flz_sk_prod_0123456789abcdefghijklmnopqrstuv",
    ].join("\n");
    expect(scan(text)).toEqual([]);
    expect(scan(text, 1, 1)).toEqual([]);
  });

  it("finds a key glued to letters or digits, as escapes leave it (%22, \\u0022, \\x22) or a longer token holds it", () => {
    const text = [
      `url=https://x.test/?k=%22${a.key}%22`,
      `{"k": "\\u0022${b.key}\\u0022"}`,
      `s = '\\x22${c.key}'`,
      `x${plain.key}9`,
    ].join("\n");
    const expected = [
      [1, a.hint],
      [2, b.hint],
      [3, c.hint],
      [4, plain.hint],
    ];
    expect(scan(text).map((f) => [f.line, f.hint])).toEqual(expected);
    expect(scan(text, 1, 1).map((f) => [f.line, f.hint])).toEqual(expected);
  });

  it("for a format without checksum, only a key not glued to letters or digits counts (nothing else can confirm it)", () => {
    const format = defineKeyFormat({ checksum: false });
    const key = generateApiKey({ format, environment: "dev", random }).key;
    const found: KeyFinding[] = [];
    const scanner = createKeyScanner({ format, onFinding: (f) => found.push(f) });
    scanner.push(Buffer.from(`x${key}\n${key}9\n"${key}"\n`));
    scanner.end();
    expect(found.map((f) => f.line)).toEqual([3]);
  });

  it("a key beside underscores, quotes, '=' or non-ASCII text is still found (they are boundaries)", () => {
    const text = `API_KEY_${a.key}_x\nk="${b.key}"\nclé=${c.key}é\n`;
    expect(scan(text).map((f) => [f.line, f.hint])).toEqual([[1, a.hint], [2, b.hint], [3, c.hint]]);
  });

  it("a key split across lines (LF or CRLF, then indentation) is found at its first line", () => {
    const wrapped = `token: ${a.key.slice(0, 25)}\n      ${a.key.slice(25)}\n`;
    const crlf = `\r\n${b.key.slice(0, 3)}\r\n\t${b.key.slice(3)}\r\n`; // broken inside the prefix
    const twice = `${c.key.slice(0, 10)}\n${c.key.slice(10, 30)}\n${c.key.slice(30)}\n`;
    expect(scan(wrapped)).toEqual([{ line: 1, endLine: 2, hint: a.hint, environment: "prod" }]);
    expect(scan(crlf)).toEqual([{ line: 2, endLine: 3, hint: b.hint, environment: "prod" }]);
    expect(scan(twice)).toEqual([{ line: 1, endLine: 3, hint: c.hint, environment: "prod" }]);
    for (const text of [wrapped, crlf, twice]) expect(scan(text, 1, 1)).toEqual(scan(text));
  });

  it("a split look-alike (bad checksum) or a break followed by more than 40 spaces is not a key", () => {
    const bad = badChecksum(a.key);
    expect(scan(`${bad.slice(0, 20)}\n${bad.slice(20)}\n`)).toEqual([]);
    expect(scan(`${a.key.slice(0, 20)}\n${" ".repeat(41)}${a.key.slice(20)}\n`)).toEqual([]);
    // Two separate words that only together look like a key are joined only across a line break,
    // never across a space.
    expect(scan(`${a.key.slice(0, 20)} ${a.key.slice(20)}\n`)).toEqual([]);
  });

  it("keeps line numbers right over many rounds of a large input", () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i + 1} ${"x".repeat(i % 60)}`);
    lines[0] = a.key;
    lines[31_337] = `  secret: ${b.key}`;
    lines[49_999] = c.key;
    const found = scan(lines.join("\n"), 65_536, 100_000);
    expect(found.map((f) => [f.line, f.hint])).toEqual([[1, a.hint], [31_338, b.hint], [50_000, c.hint]]);
  });
});
