/**
 * @module
 */
import { ApiKeyError } from "../errors.js";
import { validTime } from "../store/key-store.js";

/**
 * A clock you move by hand. Pass it as `clock` to the authenticator, manager or monitor.
 *
 * @example
 * ```ts
 * import { createFakeClock, type FakeClock } from "@fluenzr/api-keys/testing";
 * const clock: FakeClock = createFakeClock(new Date("2025-01-01T00:00:00Z"));
 * clock.advance(60_000);
 * new Date(clock.now()).toISOString(); // "2025-01-01T00:01:00.000Z"
 * clock.set(new Date("2026-01-01T00:00:00Z")); // a jump: a year later
 * ```
 */
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
  // The package's one error class (STYLE: programming errors are ApiKeyError), never a raw
  // TypeError from calling getTime() on something that is not a Date.
  let t = timeOf(start);
  if (t === null) throw new ApiKeyError("INVALID_OPTIONS", 'createFakeClock: "start" must be a valid Date or a finite number of ms', { field: "start" });
  return {
    now: () => t as number,
    advance(ms) {
      // The sum is checked too: a clock that reaches Infinity gives no time (and every check fails).
      if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite((t as number) + ms))
        throw new ApiKeyError("INVALID_INPUT", 'FakeClock.advance: "ms" must be a finite number ≥ 0 that keeps the time finite', { field: "ms" });
      t = (t as number) + ms;
    },
    set(time) {
      const v = timeOf(time);
      if (v === null) throw new ApiKeyError("INVALID_INPUT", 'FakeClock.set: "time" must be a valid Date or a finite number of ms', { field: "time" });
      t = v;
    },
  };
}

/** A finite number, or the time of a valid Date (of any realm); `null` for anything else. */
function timeOf(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  return validTime(value);
}
