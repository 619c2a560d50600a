/**
 * Entries in the order they were last put in, oldest first, as a doubly linked list threaded
 * through the entries themselves: putting in, taking out and reading the oldest are O(1) however
 * many entries came and went.
 *
 * A `Map` gives the same order, but in V8 reading its oldest entry (`keys().next()`) walks over
 * the slots that earlier deletions left at its front until the table is next rebuilt, so a cap
 * enforced that way costs O(cap) per eviction: a flood of made-up keys made each request slower
 * the longer it ran.
 *
 * @module
 */

/** What an entry carries to be listed. @internal */
export interface Linked<E> {
  older: E | null;
  newer: E | null;
}

/** @internal */
export class RecencyList<E extends Linked<E>> {
  private oldestEntry: E | null = null;
  private newestEntry: E | null = null;
  private count = 0;

  /** Entries listed. */
  get size(): number {
    return this.count;
  }

  /** The entry put in longest ago, or `null`. */
  get oldest(): E | null {
    return this.oldestEntry;
  }

  /** List `entry` (not listed yet) as the newest. */
  push(entry: E): void {
    entry.older = this.newestEntry;
    entry.newer = null;
    if (this.newestEntry === null) this.oldestEntry = entry;
    else this.newestEntry.newer = entry;
    this.newestEntry = entry;
    this.count++;
  }

  /** Take `entry` (listed here) out. */
  remove(entry: E): void {
    if (entry.older === null) this.oldestEntry = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === null) this.newestEntry = entry.older;
    else entry.newer.older = entry.older;
    entry.older = null;
    entry.newer = null;
    this.count--;
  }

  /** Forget every entry (they are dropped with the list). */
  clear(): void {
    this.oldestEntry = null;
    this.newestEntry = null;
    this.count = 0;
  }
}
