/**
 * The alerts a usage monitor raises (see docs/lifecycle for what to do about each).
 *
 * @module
 */

/**
 * What was detected:
 * - `revoked_key_used`: a key revoked by an administrator was presented (a leaked key being tried,
 *   or an application nobody updated);
 * - `rotated_key_used`: a key replaced by `rotate` was presented after its grace period ended;
 * - `invalid_key_burst`: many invalid keys (bad format or checksum, unknown, revoked, expired, other
 *   environment) from one address within a window: guessing, or a badly broken client;
 * - `new_addresses_spike`: a key suddenly accepted from many addresses it was not seen from before;
 * - `dormant_key_used`: a key accepted again after a long time without use.
 *
 * @example
 * ```ts
 * import { createUsageMonitor, type UsageAlertType } from "@fluenzr/api-keys";
 * const paging: ReadonlySet<UsageAlertType> = new Set(["revoked_key_used", "new_addresses_spike"]);
 * const monitor = createUsageMonitor({
 *   onAlert: (alert) => (paging.has(alert.type) ? pager.page(alert.message) : console.warn(alert.message)),
 * });
 * ```
 */
export type UsageAlertType =
  | "revoked_key_used"
  | "rotated_key_used"
  | "invalid_key_burst"
  | "new_addresses_spike"
  | "dormant_key_used";

/**
 * One alert. Names the key by id and hint, never by the key itself.
 *
 * @example
 * ```ts
 * import { createUsageMonitor, type UsageAlert } from "@fluenzr/api-keys";
 * async function notify(alert: UsageAlert): Promise<void> {
 *   // alert.message: "Revoked API key flz_sk_prod_…Xy4z (key_8Jd…) was presented from 203.0.113.9"
 *   await chat.post(`${alert.type}: ${alert.message}`, { keyId: alert.keyId, addresses: alert.addresses });
 * }
 * const monitor = createUsageMonitor({ onAlert: notify }); // a rejection is ignored
 * ```
 */
export interface UsageAlert {
  readonly type: UsageAlertType;
  /** One line for a human, e.g. for a log or a chat message. Contains no key. */
  readonly message: string;
  /** When the request that raised it was made (the event's time). */
  readonly time: Date;
  /**
   * The key's id, when the key was found in the store. For `invalid_key_burst` these key fields
   * describe the request that crossed the threshold (usually an unknown key: `keyId` `null`).
   */
  readonly keyId: string | null;
  /** The key's display hint (prefix and last 4 characters), when the key had our format. */
  readonly hint: string | null;
  /** The account that owns the key, when known. */
  readonly accountId: string | null;
  /** Where the request came from, when the authenticator was given the address. */
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly method: string | null;
  readonly path: string | null;
  /**
   * How many events stand behind it: invalid keys in the window (`invalid_key_burst`), new
   * addresses in the window (`new_addresses_spike`), else 1.
   */
  readonly count: number;
  /** The window `count` was taken over, in ms, or `null`. */
  readonly windowMs: number | null;
  /** Up to 5 of the addresses involved (`new_addresses_spike`: the new ones), else `[ip]` or `[]`. */
  readonly addresses: readonly string[];
  /** For `dormant_key_used`: the previous use. Else `null`. */
  readonly previousUseAt: Date | null;
  /**
   * Times this alert's condition held again (same type, same key or address) during the cool-down
   * before this alert, and so were not raised. Non-zero only after a cool-down.
   */
  readonly suppressed: number;
}
