/**
 * @module
 */
import { ApiKeyError } from "../errors.js";

/**
 * A deterministic random source (sfc32 seeded from `seed`) so tests get the same keys every run.
 * Never use it outside tests: it is not a CSPRNG.
 *
 * @example
 * ```ts
 * import { generateApiKey } from "@fluenzr/api-keys";
 * import { createSeededRandom } from "@fluenzr/api-keys/testing";
 * const random = createSeededRandom(42);
 * generateApiKey({ random }).key === generateApiKey({ random: createSeededRandom(42) }).key; // true
 * ```
 */
export function createSeededRandom(seed: number | string = 1): (buffer: Uint8Array) => void {
  // Anything else would be turned into text: every object the same stream ("[object Object]"), and
  // a raw error from a toString that throws.
  if (typeof seed !== "number" && typeof seed !== "string")
    throw new ApiKeyError("INVALID_OPTIONS", 'createSeededRandom: "seed" must be a number or a string', { field: "seed" });
  // Seed four 32-bit words from the seed with a string hash (FNV-1a), then sfc32.
  const text = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  let a = h >>> 0;
  let b = Math.imul(h, 0x9e3779b1) >>> 0;
  let c = (h ^ 0xdeadbeef) >>> 0;
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i++) next();
  return (buffer) => {
    // isView first: it reads no property, so a Proxy cannot throw here.
    if (!ArrayBuffer.isView(buffer) || !(buffer instanceof Uint8Array))
      throw new ApiKeyError("INVALID_INPUT", "The seeded random source fills a Uint8Array", { field: "buffer" });
    for (let i = 0; i < buffer.length; i += 4) {
      const v = next();
      buffer[i] = v & 0xff;
      if (i + 1 < buffer.length) buffer[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < buffer.length) buffer[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < buffer.length) buffer[i + 3] = v >>> 24;
    }
  };
}
