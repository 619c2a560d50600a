/**
 * SHA-256 and HMAC-SHA-256 as hex: the platform's one-shot hash where there is one (Node's
 * crypto, reached through `process.getBuiltinModule`, so the core has no static `node:` import),
 * else `@noble/hashes`. Test vectors in test/hash prove both give the same digests.
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

interface NativeCrypto {
  hash?: (algorithm: string, data: string, encoding: "hex") => string;
  createHash: (algorithm: string) => { update(data: string): { digest(encoding: "hex"): string } };
  createHmac: (
    algorithm: string,
    key: string | Uint8Array,
  ) => { update(data: string): { digest(encoding: "hex"): string } };
}

let native: NativeCrypto | null | undefined;

/** Node's crypto module if this runtime has one, looked up once on first use. @internal */
export function nativeCrypto(): NativeCrypto | null {
  if (native !== undefined) return native;
  native = null;
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.("crypto") as NativeCrypto | undefined;
    if (mod && typeof mod.createHash === "function" && typeof mod.createHmac === "function") native = mod;
  } catch {
    native = null;
  }
  return native;
}

/** SHA-256 of the UTF-8 bytes of `text`, with `@noble/hashes`. @internal */
export function portableSha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/** HMAC-SHA-256 of the UTF-8 bytes of `text`, with `@noble/hashes`. @internal */
export function portableHmacSha256Hex(secret: string | Uint8Array, text: string): string {
  return bytesToHex(hmac(sha256, typeof secret === "string" ? utf8ToBytes(secret) : secret, utf8ToBytes(text)));
}

/** SHA-256 with Node's crypto; `null` where the runtime has none. @internal */
export function nativeSha256Hex(text: string): string | null {
  const c = nativeCrypto();
  if (c === null) return null;
  return c.hash ? c.hash("sha256", text, "hex") : c.createHash("sha256").update(text).digest("hex");
}

/** HMAC-SHA-256 with Node's crypto; `null` where the runtime has none. @internal */
export function nativeHmacSha256Hex(secret: string | Uint8Array, text: string): string | null {
  const c = nativeCrypto();
  if (c === null) return null;
  return c.createHmac("sha256", secret).update(text).digest("hex");
}

/** SHA-256 hex, native when possible. @internal */
export function sha256Hex(text: string): string {
  return nativeSha256Hex(text) ?? portableSha256Hex(text);
}

/** HMAC-SHA-256 hex, native when possible. @internal */
export function hmacSha256Hex(secret: string | Uint8Array, text: string): string {
  return nativeHmacSha256Hex(secret, text) ?? portableHmacSha256Hex(secret, text);
}

/** Compare two strings in time that depends only on their lengths. @internal */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
