/**
 * Last-used writes, coalesced: a request only notes the time in a map; one unref'd
 * timer writes the batch at most once per interval, so each key gets at most one store write per
 * interval per process, and no request waits for it.
 *
 * A runtime may drop the timer without running it: Cloudflare Workers cancel the timers of a
 * request once its response is sent. So the time the batch is due is kept too, and the first use
 * noted after it writes the batch itself (still without the request waiting for it). Each write
 * is handed to `waitUntil` when one is given, so such a runtime keeps it running past the answer.
 *
 * Writes are not chained: each batch is written as soon as it is due, under its own time limit,
 * however long earlier writes take. A store that hangs therefore costs each write its time
 * limit, not every later write the sum of the earlier ones, and `flush()` (so `close()`) waits
 * only for the writes in flight when it is called, each at most its time limit. Writes may overlap;
 * stores keep last-used times moving forward only (DESIGN §6), so an older batch that lands after a
 * newer one changes nothing.
 *
 * @module
 */
import { dropRejection } from "../lib/thenable.js";
import type { KeyStore } from "../store/key-store.js";

/** @internal */
export class UsageRecorder {
  /** Latest use per key id, in a mutable cell: a repeat use rewrites the cell, not the map. */
  private readonly pending = new Map<string, { at: number }>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the running timer should have fired, on the clock the uses are noted with. */
  private dueAt = 0;
  /** Writes started and not yet settled (each settles by its time limit at the latest). */
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * @param limit Wraps each store write in a time limit: a write that never answers is given up
   *   (its times are kept for the next flush). Each write gets its own limit, started with it.
   * @param waitUntil Given every write started in the background (the runtime's way to keep
   *   work alive after a response, e.g. Workers' `waitUntil`). Its errors are ignored.
   */
  constructor(
    private readonly store: KeyStore,
    private readonly intervalMs: number,
    private readonly limit: (write: Promise<void>) => Promise<void> | void = (write) => write,
    private readonly waitUntil?: (work: Promise<unknown>) => unknown,
  ) {}

  /** Note that key `id` was used at `at` (ms since the epoch). */
  note(id: string, at: number): void {
    const cell = this.pending.get(id);
    if (cell === undefined) this.pending.set(id, { at });
    else if (at > cell.at) cell.at = at;
    if (this.timer === undefined) {
      // The batch is written one interval after the first use that finds no timer running, so
      // flushes are at least an interval apart: at most one write per key per interval, and a
      // key used without pause costs one write a minute (with the default), the first included.
      // Due time on the caller's clock (the authenticator reads it once per request anyway), so
      // the check below costs the request path no clock read of its own.
      this.dueAt = at + this.intervalMs;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.background();
      }, this.intervalMs);
      (this.timer as { unref?: () => void }).unref?.();
    } else if (at >= this.dueAt) {
      // Due, and the timer has not run: on Node it is about to (this write replaces it); on a
      // runtime that dropped it, it never will, and without this no write would happen again.
      this.background();
    }
  }

  private background(): void {
    const write = this.start();
    if (write === undefined || this.waitUntil === undefined) return;
    try {
      // An async waitUntil that rejects is ignored too: unhandled, it would end a Node process.
      dropRejection(this.waitUntil(write));
    } catch {
      // The write runs anyway; a waitUntil that cannot take it changes nothing else.
    }
  }

  /**
   * Start writing everything pending, at once and whatever else is in flight. Returns the write
   * (it never rejects: a failed or timed-out batch's times go back to pending for the next
   * flush), or `undefined` if nothing was pending.
   */
  private start(): Promise<void> | undefined {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.size === 0) return undefined;
    const batch = [...this.pending].map(([id, cell]) => ({ id, lastUsedAt: new Date(cell.at) }));
    this.pending.clear();
    let answer: Promise<void> | void;
    try {
      answer = this.limit(this.store.recordUsage(batch));
    } catch (error) {
      answer = Promise.reject(error); // a store (or limit) that throws instead of rejecting
    }
    const write: Promise<void> = Promise.resolve(answer)
      .then(
        () => undefined,
        () => this.keep(batch),
      )
      .finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
    return write;
  }

  /** Last used is advisory: a batch that failed or timed out goes back to pending, the later time per key winning. */
  private keep(batch: readonly { id: string; lastUsedAt: Date }[]): void {
    for (const { id, lastUsedAt } of batch) {
      const t = lastUsedAt.getTime();
      const cell = this.pending.get(id);
      if (cell === undefined) this.pending.set(id, { at: t });
      else if (t > cell.at) cell.at = t;
    }
  }

  /**
   * Write everything pending now. Resolves when every write in flight at this moment (this one
   * and earlier ones still running) has settled: answered, failed or timed out, so within about
   * one time limit. Never rejects; failed times are kept for the next flush.
   */
  flush(): Promise<void> {
    this.start();
    if (this.inFlight.size === 0) return Promise.resolve();
    return Promise.all(this.inFlight).then(() => undefined);
  }

  /** Pending writes (for tests and close()). */
  get size(): number {
    return this.pending.size;
  }
}
