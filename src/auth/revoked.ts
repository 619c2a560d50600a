/**
 * When a stored revocation stops a key, on this server's clock.
 *
 * @module
 */
import type { ApiKeyRecord } from "../store/key-store.js";

/**
 * How far this server's clock may run behind the clock of the process that revoked a key while
 * the revocation still holds at once here (no server accepts a key after `revoke()`
 * resolves). A rotation's grace (`revokedReason` `"rotated"`) ends exactly at its time; any other
 * revocation is in force from up to this long before its recorded time. @internal
 */
export const REVOCATION_CLOCK_SKEW_MS = 60_000;

/**
 * Is the key stopped by its revocation at `now`? Written as "not later than", so an Invalid Date
 * counts as revoked (fails closed). @internal
 */
export function revokedAtTime(record: ApiKeyRecord, now: number): boolean {
  const at = record.revokedAt;
  if (at === null) return false;
  return !(at.getTime() > (record.revokedReason === "rotated" ? now : now + REVOCATION_CLOCK_SKEW_MS));
}
