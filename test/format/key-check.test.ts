// The request path's key check (one pass, no allocation) against a model written the plain way:
// the rules of DESIGN §3 as regular expressions and string cuts, in the order parseApiKey names
// its reasons. Any input, any start offset, any format: both must give the same answer.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base62Checksum, crc32 } from "../../src/format/checksum.js";
import { defineKeyFormat, type KeyFormat } from "../../src/format/key-format.js";
import { checkApiKey, failureOf, keyCheckOf, UNTAGGED, type ParseApiKeyFailure } from "../../src/format/parse-api-key.js";
import { generateApiKey } from "../../src/format/generate-api-key.js";

/** The model: the environment's index, "untagged", or the reason. */
function model(input: string, format: KeyFormat, start: number): number | "untagged" | ParseApiKeyFailure {
  const key = input.slice(start);
  if (key.length > 256) return "too_long";
  if (key.length === 0) return "empty";
  if (!key.startsWith(format.head)) return "prefix";
  let rest = key.slice(format.head.length);
  let environment: number | "untagged" = "untagged";
  const sep = rest.indexOf("_");
  if (sep !== -1) {
    const index = format.environments.indexOf(rest.slice(0, sep));
    if (index === -1) return "environment";
    environment = index;
    rest = rest.slice(sep + 1);
  }
  if (rest.length !== 32) return "length";
  if (!/^[A-Za-z0-9]{32}$/.test(rest)) return "charset";
  if (!format.checksum) return environment;
  const covered = key.slice(0, key.length - 6);
  return base62Checksum(crc32(covered)) === rest.slice(26) ? environment : "checksum";
}

function answer(code: number): number | "untagged" | ParseApiKeyFailure {
  return code === UNTAGGED ? "untagged" : code < UNTAGGED ? failureOf(code) : code;
}

const formats = [
  defineKeyFormat(),
  defineKeyFormat({ checksum: false }),
  defineKeyFormat({ prefix: "acme", type: "pk", environments: ["live", "l", "test2"] }),
  defineKeyFormat({ prefix: "x", type: "y", environments: [] }),
];

/** Characters that matter: the alphabet's edges, the separator, neighbours of digits and letters,
 * and codes whose low 8 bits are a valid digit (a table read by `code & 0xff` must not take them). */
const tricky = fc.constantFrom(
  "0", "9", "A", "Z", "a", "z", "_", "/", ":", "@", "[", "`", "{", " ", "-", ".", "\u00e9", "\u0130", "\u0141", "\u0161",
  "\u0241", "\u3030", "\ud83d", "\u0000", "\u00ff", "\u0100",
);

describe("key check (one pass) agrees with the plain model", () => {
  it("on generated keys, then with characters replaced, inserted or removed anywhere", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...formats),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom("replace", "insert", "delete"), fc.oneof(tricky, fc.string({ minLength: 1, maxLength: 1 }))), { maxLength: 3 }),
        fc.string({ maxLength: 8 }),
        (format, env, edits, before) => {
          const environment = format.environments.length === 0 ? undefined : format.environments[env % format.environments.length];
          let key = generateApiKey({ format, environment }).key;
          for (const [at, kind, ch] of edits) {
            const i = at % (key.length + 1);
            key = kind === "replace" ? key.slice(0, i) + ch + key.slice(i + 1) : kind === "insert" ? key.slice(0, i) + ch + key.slice(i) : key.slice(0, i) + key.slice(i + 1);
          }
          const line = before + key;
          expect(answer(keyCheckOf(format)(line, before.length))).toBe(model(line, format, before.length));
          expect(answer(checkApiKey(key, format))).toBe(model(key, format, 0));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("on arbitrary strings around the format's head", () => {
    fc.assert(
      fc.property(fc.constantFrom(...formats), fc.string({ maxLength: 300, unit: fc.oneof(tricky, fc.constantFrom("_", "p", "r", "o", "d")) }), (format, tail) => {
        const input = format.head + tail;
        expect(answer(checkApiKey(input, format))).toBe(model(input, format, 0));
      }),
      { numRuns: 2000 },
    );
  });

  it("a valid key passes; every single wrong character at any place is refused (checksummed format)", () => {
    const format = formats[0] as KeyFormat;
    const key = generateApiKey({ environment: "prod" }).key;
    expect(answer(checkApiKey(key, format))).toBe(0);
    const body = key.length - 32;
    for (let i = body; i < key.length; i++) {
      for (const ch of ["0", "z", "\u0130", "."]) {
        if (key[i] === ch) continue;
        const changed = key.slice(0, i) + ch + key.slice(i + 1);
        expect(checkApiKey(changed, format)).toBeLessThan(UNTAGGED);
      }
    }
  });
});
