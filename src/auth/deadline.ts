/**
 * Time limits for store and account lookups without a timer per request: pending lookups sit
 * in a set that one unref'd ticker sweeps. A lookup fails at most one tick after its limit.
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
    this.timer = setInterval(() => this.sweep(), this.tickMs);
    (this.timer as { unref?: () => void }).unref?.();
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
