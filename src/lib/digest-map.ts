/**
 * A map keyed by digests, read without hashing the key string.
 *
 * A SHA-256 or HMAC-SHA-256 digest written one character per byte is 32 characters that are
 * already uniformly distributed: its own characters can pick its slot. A `Map` instead computes a
 * string hash of every new key string it is asked for, and on the request path each digest is a
 * new string, so that hash is computed on every lookup. Here a lookup reads eight characters,
 * then compares strings along a short run of slots (open addressing, linear probing, at most half
 * full).
 *
 * Keys of any other length go to a plain `Map`. Digests are only uniform if they come from a hash
 * function: keys a caller made up (test fixtures such as `"sha256:000…001"`, `"…002"`) could pile
 * into one run. An insertion that has to walk further than {@link MAX_PROBE} slots moves every
 * entry to a plain `Map` for good, so no input makes operations slower than a `Map`'s.
 *
 * @module
 */

/** Characters in a digest kept in the table (32 bytes, one character each). @internal */
export const DIGEST_CHARACTERS = 32;

/** Longest run an insertion walks before the table gives up on slots and becomes a `Map`. */
const MAX_PROBE = 48;

/** Largest table; past it (half a billion entries, out of reach in practice) a `Map` is used. */
const MAX_SLOTS = 2 ** 30;

/**
 * The slot a digest starts at: its first and last four characters, mixed by a multiplication
 * whose top bits (which every input bit reaches) are the slot (Fibonacci hashing; `mask` is the
 * table size less one, a power of two). A fixture that differs from the next only in its last
 * characters still gets its own slot. @internal
 */
export function slotOf(digest: string, mask: number): number {
  const head = digest.charCodeAt(0) | (digest.charCodeAt(1) << 8) | (digest.charCodeAt(2) << 16) | (digest.charCodeAt(3) << 24);
  const tail = digest.charCodeAt(28) | (digest.charCodeAt(29) << 8) | (digest.charCodeAt(30) << 16) | (digest.charCodeAt(31) << 24);
  return (Math.imul(head ^ tail, 0x9e3779b1) >>> Math.clz32(mask)) & mask;
}

/**
 * Digest → value.
 * @internal
 */
export class DigestMap<V> {
  private keys: (string | undefined)[] = new Array<string | undefined>(16).fill(undefined);
  private values: (V | undefined)[] = new Array<V | undefined>(16).fill(undefined);
  private mask = 15;
  private count = 0;
  /** Every 32-character key, once the slots were given up on; `null` while they are used. */
  private fallback: Map<string, V> | null = null;
  /** Keys that are not 32 characters long. */
  private readonly odd = new Map<string, V>();

  get size(): number {
    return this.count + this.odd.size + (this.fallback?.size ?? 0);
  }

  get(digest: string): V | undefined {
    if (digest.length !== DIGEST_CHARACTERS) return this.odd.get(digest);
    if (this.fallback !== null) return this.fallback.get(digest);
    const i = this.slotHolding(digest);
    return i < 0 ? undefined : this.values[i];
  }

  /** The slot that holds `digest` (a 32-character key, while slots are used), or -1. */
  private slotHolding(digest: string): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = slotOf(digest, mask);
    for (;;) {
      const k = keys[i];
      if (k === undefined) return -1;
      if (k === digest) return i;
      i = (i + 1) & mask;
    }
  }

  set(digest: string, value: V): void {
    if (digest.length !== DIGEST_CHARACTERS) {
      this.odd.set(digest, value);
      return;
    }
    let fallback = this.fallback;
    if (fallback === null && (this.count + 1) * 2 > this.keys.length) {
      fallback = this.keys.length * 2 > MAX_SLOTS ? this.giveUpSlots() : this.resize(this.keys.length * 2);
    }
    if (fallback === null && !this.place(digest, value)) fallback = this.giveUpSlots();
    fallback?.set(digest, value);
  }

  delete(digest: string): boolean {
    if (digest.length !== DIGEST_CHARACTERS) return this.odd.delete(digest);
    if (this.fallback !== null) return this.fallback.delete(digest);
    let hole = this.slotHolding(digest);
    if (hole < 0) return false;
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    // Backward shift: later entries of the run whose own slot is not between the hole and where
    // they stand move into the hole, so every entry stays reachable from its slot (and never
    // further from it than before) without leaving markers behind.
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j];
      if (k === undefined) break;
      const home = slotOf(k, mask);
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        keys[hole] = k;
        values[hole] = values[j];
        hole = j;
      }
    }
    keys[hole] = undefined;
    values[hole] = undefined;
    this.count--;
    return true;
  }

  /** Remove everything (and use slots again, if a `Map` had taken over). */
  clear(): void {
    this.keys = new Array<string | undefined>(16).fill(undefined);
    this.values = new Array<V | undefined>(16).fill(undefined);
    this.mask = 15;
    this.count = 0;
    this.fallback = null;
    this.odd.clear();
  }

  /** Put into the slots; false if the run to walk was too long (nothing changed then). */
  private place(digest: string, value: V): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = slotOf(digest, mask);
    for (let probe = 0; probe <= MAX_PROBE; probe++) {
      const k = keys[i];
      if (k === undefined) {
        keys[i] = digest;
        this.values[i] = value;
        this.count++;
        return true;
      }
      if (k === digest) {
        this.values[i] = value;
        return true;
      }
      i = (i + 1) & mask;
    }
    return false;
  }

  /** Spread over `slots` slots; the `Map` used from now on if that could not be done. */
  private resize(slots: number): Map<string, V> | null {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.values = new Array<V | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
    this.count = 0;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j];
      if (k !== undefined && !this.place(k, oldValues[j] as V)) {
        // Too crowded even when spread over twice the slots: keys made up, not hashed.
        this.keys = oldKeys;
        this.values = oldValues;
        this.mask = oldKeys.length - 1;
        return this.giveUpSlots();
      }
    }
    return null;
  }

  /** Move every slotted entry into a `Map`, used from now on. */
  private giveUpSlots(): Map<string, V> {
    const map = new Map<string, V>();
    for (let j = 0; j < this.keys.length; j++) {
      const k = this.keys[j];
      if (k !== undefined) map.set(k, this.values[j] as V);
    }
    this.fallback = map;
    this.keys = [];
    this.values = [];
    this.mask = 0;
    this.count = 0;
    return map;
  }
}
