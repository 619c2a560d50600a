import { invalidOption } from "../errors.js";
import { dropRejection } from "./thenable.js";

/**
 * Random bytes for keys and ids: `crypto.getRandomValues` by default, drawn in blocks so a key
 * costs one table lookup per character, not one system call.
 *
 * @module
 */

/**
 * Where random bytes come from: a function that fills the buffer, or an object with a Web Crypto
 * style `getRandomValues(buffer)`. Inject a seeded one in tests only.
 *
 * @example
 * ```ts
 * import { generateApiKey, type RandomSource } from "@fluenzr/api-keys";
 * import { createSeededRandom } from "@fluenzr/api-keys/testing";
 * const seeded: RandomSource = createSeededRandom(42); // fills the buffer it is given; tests only
 * const webCrypto: RandomSource = globalThis.crypto;   // { getRandomValues }: what the default uses
 * generateApiKey({ random: seeded }).key;              // "flz_sk_…", the same key on every run
 * ```
 */
export type RandomSource = ((buffer: Uint8Array) => void) | { getRandomValues(buffer: Uint8Array): unknown };

/** Is this a random source? @internal */
export function isRandomSource(value: unknown): value is RandomSource {
  try {
    return (
      typeof value === "function" ||
      (typeof value === "object" && value !== null && typeof (value as { getRandomValues?: unknown }).getRandomValues === "function")
    );
  } catch {
    return false; // a Proxy whose get trap throws: no source (refused naming the option)
  }
}

const BLOCK = 4096;
// getRandomValues refuses more than 65536 bytes per call (Web Crypto); we ask for 4 KiB.

/** A reader of random bytes over a source. @internal */
export class RandomPool {
  private readonly fill: (buffer: Uint8Array) => unknown;
  private buffer: Uint8Array | undefined;
  private offset = BLOCK;

  constructor(source: RandomSource) {
    this.fill = typeof source === "function" ? source : (buffer) => source.getRandomValues(buffer);
  }

  /**
   * Write `count` char codes of uniformly drawn {@link ALPHABET} symbols into `out` from `start`.
   * Bytes of 248 and above are drawn again (248 = 4 × 62), so no symbol is favoured: no modulo bias.
   */
  symbols(out: number[] | Uint8Array, start: number, count: number): void {
    const table = symbolTable();
    let buffer = this.buffer;
    let offset = this.offset;
    const end = start + count;
    for (let i = start; i < end; ) {
      if (offset >= BLOCK || buffer === undefined) {
        buffer ??= this.buffer = new Uint8Array(BLOCK);
        this.refill(buffer);
        offset = 0;
      }
      const code = table[buffer[offset] as number] as number;
      // A used byte is wiped: what stays in the pool is only randomness no key has drawn on yet.
      buffer[offset++] = 0;
      if (code !== 0) out[i++] = code;
    }
    this.offset = offset;
  }

  /**
   * Draw the first block now, if none is held: a source that cannot give random bytes is then
   * refused where it is configured (`createKeyManager`), not on the first key. The same bytes are
   * drawn as later, so a seeded source gives the same keys. @internal
   */
  ready(): void {
    if (this.buffer !== undefined && this.offset < BLOCK) return;
    this.buffer ??= new Uint8Array(BLOCK);
    this.refill(this.buffer);
    this.offset = 0;
  }

  private refill(buffer: Uint8Array): void {
    try {
      // An async source is refused below (it filled nothing in time); its rejection must not go unhandled.
      dropRejection(this.fill(buffer));
    } catch (cause) {
      // The user's source threw (or is no function after all): refused naming the option.
      invalidOption("random", "the source threw when asked for bytes", cause);
    }
    checkBlock(buffer);
  }
}

/** Equal bytes in a row that refuse a block: 2^-248 for real random bytes. */
const MAX_RUN = 32;

/** Are the {@link MAX_RUN} bytes of `buffer` from `from` all equal? */
function equalRun(buffer: Uint8Array, from: number): boolean {
  const first = buffer[from];
  for (let i = from + 1; i < from + MAX_RUN; i++) if (buffer[i] !== first) return false;
  return true;
}

/**
 * Refuse a block no random source could have given. A source that did not fill the buffer, or
 * only its start, leaves the wiped zeros (every key would be "000…"): its head or its tail is then
 * one value. A block with no byte below 248 has nothing to draw a symbol from (the loop would
 * never end). Real random bytes pass after a few reads: this costs nothing per key.
 */
function checkBlock(buffer: Uint8Array): void {
  if (!equalRun(buffer, 0) && !equalRun(buffer, buffer.length - MAX_RUN)) {
    for (let i = 0; i < buffer.length; i++) if ((buffer[i] as number) < 248) return;
  }
  invalidOption("random", "the source gave bytes no random source could (did it fill the buffer it was given?)");
}

/** The platform CSPRNG. Looked up when first used, never at import. @internal */
export const cryptoRandom = (buffer: Uint8Array): void => {
  globalThis.crypto.getRandomValues(buffer);
};

let defaultPool: RandomPool | undefined;
const pools = new WeakMap<RandomSource, RandomPool>();

/** The pool for a source (one per source, so seeded sources stay deterministic). @internal */
export function poolFor(source: RandomSource | undefined): RandomPool {
  if (source === undefined || source === cryptoRandom) return (defaultPool ??= new RandomPool(cryptoRandom));
  let pool = pools.get(source);
  if (pool === undefined) {
    pool = new RandomPool(source);
    pools.set(source, pool);
  }
  return pool;
}

/** The 62 symbols of key bodies, in base62 digit order. @internal */
export const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

let SYMBOLS: Uint8Array | undefined;
/** Byte → symbol char code, 0 for the bytes that must be drawn again. */
function symbolTable(): Uint8Array {
  if (SYMBOLS) return SYMBOLS;
  const t = new Uint8Array(256);
  for (let b = 0; b < 248; b++) t[b] = ALPHABET.charCodeAt(b % 62);
  return (SYMBOLS = t);
}


/** A random string of `length` symbols of {@link ALPHABET}. @internal */
export function randomSymbols(pool: RandomPool, length: number): string {
  const codes: number[] = new Array<number>(length).fill(0);
  pool.symbols(codes, 0, length);
  return String.fromCharCode.apply(null, codes);
}
