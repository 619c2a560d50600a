/**
 * A Map with a size cap, forgetting the least recently used entries first (approximately). The
 * monitor's memory stays bounded however many addresses or keys an attacker makes up.
 *
 * Two generations rather than one Map reordered on every touch: in V8, deleting from the front of
 * a Map leaves holes that each "oldest entry" lookup walks over, which made eviction O(cap) and a
 * flood of new addresses quadratic. Here every operation is O(1): when the young generation is
 * half the cap it becomes the old one and the previous old one is dropped whole; an entry used
 * again moves back to the young generation.
 *
 * @module
 */

/** @internal */
export class CappedMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  /**
   * @param ownKey Applied to every key the map stores (new entries, and entries moved back to the
   *   young generation): the monitor gives a function that copies client text, so a stored key
   *   is never a view that keeps a longer string alive.
   */
  constructor(
    readonly cap: number,
    private readonly ownKey: (key: K) => K = (key) => key,
  ) {
    this.half = Math.max(1, Math.ceil(cap / 2));
  }

  /** Entries held: never more than `cap`. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** The value, without refreshing it. */
  peek(key: K): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  /** The value, marked as recently used. */
  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aging = this.old.get(key);
    if (aging !== undefined) this.set(key, aging);
    return aging;
  }

  /** Store as recently used, forgetting the oldest generation when the young one is full. */
  set(key: K, value: V): void {
    // Deleting from the old generation first keeps a key in one generation only.
    if (this.old.size > 0) this.old.delete(key);
    if (this.young.has(key)) this.young.set(key, value); // the stored key stays
    else this.young.set(this.ownKey(key), value);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }
}
