/**
 * @module
 */

/** A clock you move by hand. Pass it as `clock` to the authenticator, manager or monitor. */
export interface FakeClock {
  /** Current time in ms since the epoch. */
  now(): number;
  /** Move forward by `ms`. */
  advance(ms: number): void;
  /** Jump to a time. */
  set(time: Date | number): void;
}

/**
 * A fake clock for tests of expiry, revocation, rotation grace and monitoring windows.
 *
 * @example
 * ```ts
 * import { createFakeClock } from "@fluenzr/api-keys/testing";
 * const clock = createFakeClock(new Date("2025-01-01T00:00:00Z"));
 * const auth = createApiKeyAuth({ store, clock });
 * clock.advance(24 * 3600e3); // a day later
 * ```
 */
export function createFakeClock(start: Date | number = Date.UTC(2025, 0, 1)): FakeClock {
  let t = typeof start === "number" ? start : start.getTime();
  if (!Number.isFinite(t)) throw new RangeError("createFakeClock: start must be a valid time");
  return {
    now: () => t,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError("FakeClock.advance: ms must be a finite number ≥ 0");
      t += ms;
    },
    set(time) {
      const v = typeof time === "number" ? time : time.getTime();
      if (!Number.isFinite(v)) throw new RangeError("FakeClock.set: time must be a valid time");
      t = v;
    },
  };
}
