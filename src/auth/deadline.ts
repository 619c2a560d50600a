/**
 * Time limits for store and account lookups: a lookup that has not answered within its limit is
 * rejected with {@link DeadlineExceeded}, which the callers turn into a 503.
 *
 * One timer per pending lookup, cleared as soon as it answers. Answers that need no waiting (a
 * `MemoryKeyStore`, a cache hit, a synchronous `getPlan`) are not promises and get no timer at
 * all, so this costs nothing on the fast path, and on a database lookup (a network round trip)
 * a timer is noise. The timer belongs to the request that started the lookup: a runtime that
 * cancels a request's timers when it ends (Cloudflare Workers) cancels only that request's, never
 * another one's time limit, as a ticker shared by all requests would be.
 *
 * The timer keeps the process alive while its lookup is pending: a script that awaits a lookup
 * on a store that never answers gets its 503 when the limit passes, rather than Node exiting
 * under it with the promise unsettled. Once the lookup has answered nothing is left to hold it.
 *
 * @module
 */

/** Error a lookup is rejected with when it runs out of time. @internal */
export class DeadlineExceeded extends Error {
  constructor(ms: number) {
    super(`No answer within ${ms} ms`);
    this.name = "DeadlineExceeded";
  }
}

/** @internal */
export class Deadlines {
  /** `value` if it is not a promise; else a promise that rejects after `ms` without an answer. */
  limit<T>(value: T | PromiseLike<T>, ms: number): T | Promise<T> {
    if (typeof (value as PromiseLike<T> | null)?.then !== "function") return value as T;
    return new Promise<T>((resolve, reject) => {
      // Not unref'd: a pending lookup is work in progress (see the module comment).
      const timer = setTimeout(() => reject(new DeadlineExceeded(ms)), ms);
      (value as PromiseLike<T>).then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}
