import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bytesToLatin1,
  hexToLatin1,
  nativeHmacSha256,
  nativeSha256,
  portableHmacSha256,
  portableSha256,
  constantTimeEqual,
} from "../../src/hash/digest.js";
import { createApiKeyAuth, createKeyManager, generateApiKey, hashApiKey, isApiKeyError, MemoryKeyStore } from "../../src/index.js";

describe("hashApiKey (DESIGN §4)", () => {
  it("is SHA-256 of the full key, naming its scheme", () => {
    // FIPS 180-2 test vector.
    expect(hashApiKey("abc")).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const { key } = generateApiKey();
    expect(hashApiKey(key)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashApiKey(key)).not.toContain(key);
  });

  it("is HMAC-SHA-256 with a pepper, naming the scheme and the pepper version", () => {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    const expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    expect(hashApiKey("what do ya want for nothing?", { pepper: "Jefe" })).toBe(`hmac-sha256:1:${expected}`);
    expect(hashApiKey("what do ya want for nothing?", { pepper: new TextEncoder().encode("Jefe") })).toBe(`hmac-sha256:1:${expected}`);
    expect(hashApiKey("what do ya want for nothing?", { pepper: { version: "2025-01", secret: "Jefe" } })).toBe(
      `hmac-sha256:2025-01:${expected}`,
    );
  });

  it("with a list of peppers hashes with the first (current) one", () => {
    const key = generateApiKey().key;
    const current = { version: "2", secret: "new-pepper" };
    const old = { version: "1", secret: "old-pepper" };
    expect(hashApiKey(key, { pepper: [current, old] })).toBe(hashApiKey(key, { pepper: current }));
  });

  it("adding a pepper to keys made without one: [pepper, null] hashes new keys with it and still accepts the old ones", async () => {
    const store = new MemoryKeyStore();
    const actor = { id: "usr_1", admin: true };
    const before = await createKeyManager({ store }).create({ accountId: "acc_1", actor, name: "Before" });
    expect(before.record.hash).toMatch(/^sha256:/);
    const pepper = [{ version: "1", secret: "added-later" }, null];
    const after = await createKeyManager({ store, pepper }).create({ accountId: "acc_1", actor, name: "After" });
    expect(after.record.hash).toMatch(/^hmac-sha256:1:/);
    expect(hashApiKey(after.key, { pepper })).toBe(after.record.hash); // the first (current) one
    const auth = createApiKeyAuth({ store, pepper });
    for (const key of [before.key, after.key]) expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    // Without the null the old key is unknown (what the null is for).
    const strict = createApiKeyAuth({ store, pepper: pepper[0] as { version: string; secret: string } });
    const refused = await strict.authenticate({ authorization: `Bearer ${before.key}`, method: "GET" });
    expect(!refused.ok && refused.reason).toBe("unknown");
  });

  it.each([
    [[null, { version: "1", secret: "a" }], "only follow the current pepper"],
    [[{ version: "1", secret: "a" }, null, null], "appears twice"],
    [null, "expected a secret string"],
  ])("refuses null as the first or a repeated entry (%j), naming pepper", (pepper, words) => {
    expect(() => hashApiKey("flz_sk_x", { pepper } as never)).toThrowError(new RegExp(`"pepper".*${words}`));
  });

  it("is synchronous and deterministic", () => {
    const key = generateApiKey().key;
    const h = hashApiKey(key, { pepper: "p" });
    expect(typeof h).toBe("string");
    expect(hashApiKey(key, { pepper: "p" })).toBe(h);
    expect(hashApiKey(key, { pepper: "q" })).not.toBe(h);
  });

  it.each([
    [{ pepper: "" }, "pepper"],
    [{ pepper: [] }, "pepper"],
    [{ pepper: { version: "has space", secret: "x" } }, "pepper"],
    [{ pepper: [{ version: "1", secret: "a" }, { version: "1", secret: "b" }] }, "pepper"],
  ])("refuses a bad pepper %j naming the option", (options, name) => {
    expect(() => hashApiKey("flz_sk_x", options as never)).toThrowError(new RegExp(`"${name}"`));
  });

  it("refuses a misspelt option, naming it, rather than silently hashing without the pepper", () => {
    let error: unknown;
    try {
      hashApiKey("flz_sk_x", { peper: "secret" } as never);
    } catch (caught) {
      error = caught;
    }
    expect(isApiKeyError(error) && [error.code, error.field]).toEqual(["INVALID_OPTIONS", "peper"]);
  });

  it("refuses options that are not an object with INVALID_OPTIONS (not a TypeError)", () => {
    for (const bad of [null, "secret", 5]) {
      let error: unknown;
      try {
        hashApiKey("flz_sk_x", bad as never);
      } catch (caught) {
        error = caught;
      }
      expect(isApiKeyError(error) && error.code).toBe("INVALID_OPTIONS");
    }
    expect(hashApiKey("abc", undefined)).toBe(hashApiKey("abc"));
  });

  it("refuses bytes that are not a Uint8Array with a message that says what a pepper is", () => {
    for (const bad of [new ArrayBuffer(8), new DataView(new ArrayBuffer(8)), [new Uint8Array(8)]]) {
      expect(() => hashApiKey("flz_sk_x", { pepper: bad as never })).toThrowError(/"pepper": expected a secret string, bytes/);
    }
  });

  it("keeps its own copy of a byte pepper: wiping the caller's buffer after setup changes nothing", async () => {
    const bytes = (): Uint8Array => new TextEncoder().encode("a pepper of some length");
    const secret = bytes();
    const store = new MemoryKeyStore();
    const accounts = { getPlan: () => "pro" };
    const manager = createKeyManager({ store, accounts, pepper: secret });
    const auth = createApiKeyAuth({ store, accounts, pepper: [{ version: "1", secret }] });
    secret.fill(0); // the caller wipes its copy of the secret once everything is set up
    const { key, record } = await manager.create({ accountId: "acc_1", actor: { id: "u1", admin: true }, name: "Wiped pepper" });
    expect(record.hash).toBe(hashApiKey(key, { pepper: bytes() }));
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, method: "GET" })).ok).toBe(true);
    await auth.close();
  });

  it("refuses non-strings and inputs over 256 characters", () => {
    for (const bad of [42, null, "x".repeat(257)]) {
      try {
        hashApiKey(bad as string);
        expect.unreachable();
      } catch (error) {
        expect(isApiKeyError(error) && error.code).toBe("INVALID_INPUT");
      }
    }
  });
});

describe("native and portable digests give identical results", () => {
  it("Node's crypto is available here (so the comparison is real)", () => {
    expect(nativeSha256("")).not.toBeNull();
  });

  it("SHA-256 vectors", () => {
    const vectors: Array<[string, string]> = [
      ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
      [
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      ],
    ];
    for (const [input, digest] of vectors) {
      expect(portableSha256(input)).toBe(digest);
      expect(nativeSha256(input)).toBe(digest);
      // One character per byte, as the request path looks digests up: the same bytes either way.
      expect(portableSha256(input, "latin1")).toBe(hexToLatin1(digest));
      expect(nativeSha256(input, "latin1")).toBe(hexToLatin1(digest));
    }
  });

  it("property: SHA-256 and HMAC agree on keys, ASCII and Unicode strings, string and byte peppers", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 100 }), fc.constant(generateApiKey().key)),
        fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.uint8Array({ minLength: 1, maxLength: 100 })),
        (text, secret) =>
          portableSha256(text) === nativeSha256(text) &&
          portableHmacSha256(secret, text) === nativeHmacSha256(secret, text) &&
          portableSha256(text, "latin1") === nativeSha256(text, "latin1") &&
          portableHmacSha256(secret, text, "latin1") === nativeHmacSha256(secret, text, "latin1") &&
          hexToLatin1(portableHmacSha256(secret, text)) === nativeHmacSha256(secret, text, "latin1"),
      ),
      { numRuns: 2_000 },
    );
  });

  it("hex and one-character-per-byte digests convert exactly; anything but lower-case hex is refused", () => {
    expect(hexToLatin1("00ff7f80")).toBe("\u0000\u00ff\u007f\u0080");
    expect(bytesToLatin1(new Uint8Array([0, 255, 127, 128]))).toBe("\u0000\u00ff\u007f\u0080");
    expect(hexToLatin1("")).toBe("");
    for (const bad of ["0", "0G", "FF", "ab cd", "é0", "0x"]) expect(hexToLatin1(bad)).toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
        return hexToLatin1(hex) === bytesToLatin1(bytes);
      }),
    );
  });

  it("constant-time comparison compares whole strings", () => {
    expect(constantTimeEqual("sha256:ab", "sha256:ab")).toBe(true);
    expect(constantTimeEqual("sha256:ab", "sha256:ac")).toBe(false);
    expect(constantTimeEqual("sha256:ab", "sha256:abc")).toBe(false);
  });
});
