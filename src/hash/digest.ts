/**
 * SHA-256 and HMAC-SHA-256, as hex or one character per byte: the platform's one-shot hash where there is one (Node's
 * crypto, reached through `process.getBuiltinModule`, so the core has no static `node:` import),
 * else `@noble/hashes`. Test vectors in test/hash prove both give the same digests.
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/**
 * How a digest is written: `hex` in stored hashes, `latin1` (one character per byte, half as long)
 * for in-memory lookups on the request path, where a shorter key is cheaper to make and to look up.
 */
export type DigestEncoding = "hex" | "latin1";

interface NativeCrypto {
  hash?: ((algorithm: string, data: string, encoding: DigestEncoding) => string) | undefined;
  createHash: (algorithm: string) => { update(data: string): { digest(encoding: DigestEncoding): string } };
  createHmac: (
    algorithm: string,
    key: string | Uint8Array,
  ) => { update(data: string): { digest(encoding: DigestEncoding): string } };
}

let native: NativeCrypto | null | undefined;

/**
 * Node's crypto functions if this runtime has them, looked up once on first use and kept in a
 * small object of our own (the module object is large, and reading from it costs on every call).
 * @internal
 */
export function nativeCrypto(): NativeCrypto | null {
  if (native !== undefined) return native;
  native = null;
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.("crypto") as NativeCrypto | undefined;
    if (mod && typeof mod.createHash === "function" && typeof mod.createHmac === "function") {
      native = Object.freeze({
        hash: typeof mod.hash === "function" ? mod.hash : undefined,
        createHash: mod.createHash,
        createHmac: mod.createHmac,
      });
    }
  } catch {
    native = null;
  }
  return native;
}

/** Bytes as a string of one character per byte (char codes 0–255). @internal */
export function bytesToLatin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i] as number);
  return out;
}

const HEX_DIGITS = "0123456789abcdef";

const HEX_VALUES: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) t[HEX_DIGITS.charCodeAt(i)] = i;
  return t;
})();

/**
 * A lower-case hex digest rewritten one character per byte, or `null` if `hex` is not an even
 * number of lower-case hex digits (such a digest is kept as it is and never equals a computed one).
 * @internal
 */
export function hexToLatin1(hex: string): string | null {
  if (hex.length % 2 !== 0) return null;
  let out = "";
  for (let i = 0; i < hex.length; i += 2) {
    const a = hex.charCodeAt(i);
    const b = hex.charCodeAt(i + 1);
    const hi = a < 128 ? (HEX_VALUES[a] as number) : -1;
    const lo = b < 128 ? (HEX_VALUES[b] as number) : -1;
    if (hi < 0 || lo < 0) return null;
    out += String.fromCharCode((hi << 4) | lo);
  }
  return out;
}

/** A digest written one character per byte, as lower-case hex. @internal */
export function latin1ToHex(digest: string): string {
  let out = "";
  for (let i = 0; i < digest.length; i++) {
    const b = digest.charCodeAt(i) & 0xff;
    out += HEX_DIGITS.charAt(b >> 4) + HEX_DIGITS.charAt(b & 15);
  }
  return out;
}


function encode(bytes: Uint8Array, encoding: DigestEncoding): string {
  return encoding === "hex" ? bytesToHex(bytes) : bytesToLatin1(bytes);
}

/** SHA-256 of the UTF-8 bytes of `text`, with `@noble/hashes`. @internal */
export function portableSha256(text: string, encoding: DigestEncoding = "hex"): string {
  return encode(sha256(utf8ToBytes(text)), encoding);
}

/** HMAC-SHA-256 of the UTF-8 bytes of `text`, with `@noble/hashes`. @internal */
export function portableHmacSha256(secret: string | Uint8Array, text: string, encoding: DigestEncoding = "hex"): string {
  return encode(hmac(sha256, typeof secret === "string" ? utf8ToBytes(secret) : secret, utf8ToBytes(text)), encoding);
}

/** SHA-256 with Node's crypto; `null` where the runtime has none. @internal */
export function nativeSha256(text: string, encoding: DigestEncoding = "hex"): string | null {
  const c = nativeCrypto();
  if (c === null) return null;
  return c.hash ? c.hash("sha256", text, encoding) : c.createHash("sha256").update(text).digest(encoding);
}

/** HMAC-SHA-256 with Node's crypto; `null` where the runtime has none. @internal */
export function nativeHmacSha256(secret: string | Uint8Array, text: string, encoding: DigestEncoding = "hex"): string | null {
  const c = nativeCrypto();
  if (c === null) return null;
  return c.createHmac("sha256", secret).update(text).digest(encoding);
}

/** SHA-256, native when possible. @internal */
export function sha256Digest(text: string, encoding: DigestEncoding): string {
  return nativeSha256(text, encoding) ?? portableSha256(text, encoding);
}

/** HMAC-SHA-256, native when possible. @internal */
export function hmacSha256Digest(secret: string | Uint8Array, text: string, encoding: DigestEncoding): string {
  return nativeHmacSha256(secret, text, encoding) ?? portableHmacSha256(secret, text, encoding);
}

/** Compare two strings in time that depends only on their lengths. @internal */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
