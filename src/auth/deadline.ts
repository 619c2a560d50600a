/**
 * Time limits for store and account lookups without a timer per request: pending lookups sit
 * in a set that one ticker sweeps. A lookup fails at most one tick after its limit.
 *
 * The ticker runs only while something is pending, and it keeps the process alive then: a script
 * that awaits a lookup on a store that never answers gets its 503 when the limit passes, rather
 * than Node exiting under it with the promise unsettled. Once nothing is pending it stops, so it
 * never holds a process that has nothing left to wait for.
 *
 * @module
 */

interface Pending {
  readonly deadline: number;
  readonly ms: number;
  readonly reject: (error: Error) => void;
}

/** Error a lookup is rejected with when it runs out of time. @internal */
export class DeadlineExceeded extends Error {
  constructor(ms: number) {
    super(`No answer within ${ms} ms`);
    this.name = "DeadlineExceeded";
  }
}

/** @internal */
export class Deadlines {
  private readonly pending = new Set<Pending>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly tickMs: number;

  constructor(shortestLimitMs: number) {
    this.tickMs = Math.max(1, Math.min(50, Math.floor(shortestLimitMs / 4)));
  }

  /** `value` if it is not a promise; else a promise that rejects after `ms` without an answer. */
  limit<T>(value: T | PromiseLike<T>, ms: number): T | Promise<T> {
    if (typeof (value as PromiseLike<T> | null)?.then !== "function") return value as T;
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: Date.now() + ms, ms, reject };
      this.pending.add(entry);
      this.start();
      (value as PromiseLike<T>).then(
        (v) => {
          this.pending.delete(entry);
          resolve(v);
        },
        (e: unknown) => {
          this.pending.delete(entry);
          reject(e);
        },
      );
    });
  }

  private start(): void {
    if (this.timer !== undefined) return;
    // Not unref'd: a pending lookup is work in progress (see the module comment).
    this.timer = setInterval(() => this.sweep(), this.tickMs);
  }

  private sweep(): void {
    const now = Date.now();
    for (const entry of this.pending) {
      if (entry.deadline <= now) {
        this.pending.delete(entry);
        entry.reject(new DeadlineExceeded(entry.ms));
      }
    }
    if (this.pending.size === 0) {
      // Nothing left to watch: the ticker stops itself, and starts again with the next lookup.
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
