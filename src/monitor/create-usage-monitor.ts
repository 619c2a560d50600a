/**
 * A usage monitor (detecting suspicious usage): it reads the
 * authenticator's events and raises alerts. Synchronous, no timers, no I/O: each event costs a few
 * map operations. Memory is bounded by fixed windows and capped maps; each alert has a cool-down so
 * one attack gives one alert per key or address per cool-down, not one per request.
 *
 * @module
 */
import { z } from "zod";
import type { ApiKeyAuthEvent } from "../auth/create-api-key-auth.js";
import { ApiKeyError } from "../errors.js";
import { checkClockReading, clockSchema, functionSchema, parseOptions, systemClock } from "../lib/options.js";
import { validTime } from "../store/key-store.js";
import { CappedMap } from "./capped-map.js";
import type { UsageAlert, UsageAlertType } from "./usage-alert.js";

/**
 * A fixed-window threshold: an alert when `threshold` events fall within one window of `windowMs`.
 *
 * @example
 * ```ts
 * import { createUsageMonitor, type UsageThreshold } from "@fluenzr/api-keys";
 * const burst: UsageThreshold = { threshold: 50, windowMs: 60_000 }; // 50 invalid keys from one address in a minute
 * const monitor = createUsageMonitor({
 *   onAlert,
 *   invalidKeyBurst: burst,
 *   newAddressesSpike: { windowMs: 600_000 }, // threshold stays 10
 * });
 * ```
 */
export interface UsageThreshold {
  /** Events per window that raise the alert: a whole number ≥ 1. */
  threshold?: number | undefined;
  /** Window length in ms (windows are fixed: they start at the first event after the previous one ended). */
  windowMs?: number | undefined;
}

/**
 * Options of {@link createUsageMonitor}. Checked once; a bad one throws `INVALID_OPTIONS` naming it.
 *
 * @example
 * ```ts
 * import { createUsageMonitor, type UsageMonitorOptions } from "@fluenzr/api-keys";
 * const options: UsageMonitorOptions = {
 *   onAlert: (alert) => console.warn(alert.message),
 *   dormantKeyUsed: { afterMs: 90 * 864e5 }, // default 30 days
 *   newAddressesSpike: false,                // off
 *   cooldownMs: 3600_000,                    // default 900 000 (15 min)
 * };
 * const monitor = createUsageMonitor(options); // a bad option throws INVALID_OPTIONS naming it
 * ```
 */
export interface UsageMonitorOptions {
  /** Called with each alert. Errors it throws (or promises it rejects) are ignored. */
  onAlert: (alert: UsageAlert) => void;
  /**
   * Time source for windows, cool-downs and `lastSeen`. Default: each event's own `time` (the
   * authenticator's clock), or `Date.now` for an event without a valid one. Tests: the
   * authenticator's fake clock, here or on the authenticator alone.
   */
  clock?: { now(): number } | undefined;
  /** Alert when a revoked key is presented. Default `true`. */
  revokedKeyUsed?: boolean | undefined;
  /** Alert when a rotated-out key is presented after its grace. Default `true`. */
  rotatedKeyUsed?: boolean | undefined;
  /** Invalid keys from one address. Default 20 within 60 000 ms; `false` turns it off. */
  invalidKeyBurst?: UsageThreshold | false | undefined;
  /**
   * Addresses a key was not accepted from before. Default 10 within 3 600 000 ms (an hour), counted
   * once the monitor has known the key for one window; `false` turns it off.
   */
  newAddressesSpike?: UsageThreshold | false | undefined;
  /** A key accepted after at least `afterMs` without use. Default 30 days; `false` turns it off. */
  dormantKeyUsed?: { afterMs?: number | undefined } | false | undefined;
  /** After an alert, the same type for the same key (or address) is held back this long. Default 900 000 ms (15 min). */
  cooldownMs?: number | undefined;
  /** Map caps; past one, the least recently seen entry is forgotten. */
  limits?:
    | {
        /** Addresses tracked for invalid-key bursts. Default 10 000. */
        addresses?: number | undefined;
        /** Keys tracked (last seen, dormancy, spike windows). Default 10 000. */
        keys?: number | undefined;
        /** Known key-and-address pairs. Default 100 000. */
        keyAddresses?: number | undefined;
        /** Alert cool-downs. Default 10 000. */
        cooldowns?: number | undefined;
      }
    | undefined;
}

/**
 * Sizes of the monitor's maps and its counters, to watch its memory.
 *
 * @example
 * ```ts
 * import type { UsageMonitorStats } from "@fluenzr/api-keys";
 * const stats: UsageMonitorStats = monitor.stats();
 * metrics.gauge("api_keys.monitor.keys", stats.keys); // at most limits.keys (default 10 000)
 * metrics.gauge("api_keys.monitor.alerts", stats.alerts); // since creation; stats.suppressed: held back
 * ```
 */
export interface UsageMonitorStats {
  readonly addresses: number;
  readonly keys: number;
  readonly keyAddresses: number;
  readonly cooldowns: number;
  /** Events recorded since creation. */
  readonly events: number;
  /** Alerts raised since creation. */
  readonly alerts: number;
  /** Alerts held back by cool-downs since creation. */
  readonly suppressed: number;
}

/**
 * The monitor. Its methods are bound: pass `monitor.record` as `onEvent` directly.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, createUsageMonitor, type UsageMonitor } from "@fluenzr/api-keys";
 * const monitor: UsageMonitor = createUsageMonitor({ onAlert: (alert) => console.warn(alert.message) });
 * const auth = createApiKeyAuth({ store, onEvent: monitor.record }); // bound: pass it as is
 * monitor.prime(await manager.list({ accountId: "acc_1" })); // after a restart: dormancy is known at once
 * monitor.lastSeen("key_8Jd…"); // the last request seen with it, accepted or refused, or null
 * ```
 */
export interface UsageMonitor {
  /** Take one authenticator event. Never throws. */
  record(event: ApiKeyAuthEvent): void;
  /**
   * Last request this monitor saw with the key, accepted or refused; `null` if none (or forgotten
   * past the `keys` cap). Give the monitor to `createKeyManager({ monitor })` for fresher rotation
   * status than the coalesced last used.
   */
  lastSeen(keyId: string): Date | null;
  /**
   * Seed last use from the store (e.g. `await manager.list(...)` rows) so that dormancy is known
   * after a restart. Never moves a time back. A primed key's addresses are not known yet: its
   * `new_addresses_spike` learning window starts with its next request.
   */
  prime(keys: Iterable<{ readonly id: string; readonly lastUsedAt: Date | null }>): void;
  /** Map sizes and counters. */
  stats(): UsageMonitorStats;
}

const DAY = 24 * 3600 * 1000;
const LIMIT_MAX = 10_000_000;
const INVALID_KEY_REASONS = new Set(["format", "checksum", "unknown", "revoked", "expired", "environment"]);
const MAX_IP_LENGTH = 100;
const SAMPLE = 5;

const ms = z.number().int().positive().max(365 * DAY);

/**
 * `false` (the alert is off) or the alert's settings. Not a `z.union`: a union that fails in both
 * branches reports only "Invalid input" on the whole option, where the user needs to hear which
 * field was wrong (`invalidKeyBurst.threshold`).
 */
function offOr<T extends z.ZodType<object>>(settings: T, expected: string): z.ZodType<false | z.output<T>> {
  const schema = z.unknown().check((ctx) => {
    const value = ctx.value;
    if (value === false) return;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      ctx.issues.push({ code: "custom", message: expected, input: value });
      return;
    }
    const result = settings.safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      // The path names the field; an unknown field is named itself (`invalidKeyBurst.treshold`).
      const path = issue.code === "unrecognized_keys" ? [...issue.path, ...issue.keys] : issue.path;
      ctx.issues.push({ code: "custom", message: issue.message, path, input: value });
    }
  });
  return schema as unknown as z.ZodType<false | z.output<T>>;
}

const threshold = offOr(
  z.strictObject({ threshold: z.number().int().min(1).max(LIMIT_MAX).optional(), windowMs: ms.optional() }),
  "expected false or { threshold?, windowMs? }",
);
const cap = z.number().int().min(1).max(LIMIT_MAX);

const schema = z.strictObject({
  onAlert: functionSchema,
  clock: clockSchema.optional(),
  revokedKeyUsed: z.boolean().optional(),
  rotatedKeyUsed: z.boolean().optional(),
  invalidKeyBurst: threshold.optional(),
  newAddressesSpike: threshold.optional(),
  dormantKeyUsed: offOr(z.strictObject({ afterMs: ms.optional() }), "expected false or { afterMs? }").optional(),
  cooldownMs: z.number().int().nonnegative().max(365 * DAY).optional(),
  limits: z
    .strictObject({
      addresses: cap.optional(),
      keys: cap.optional(),
      keyAddresses: cap.optional(),
      cooldowns: cap.optional(),
    })
    .optional(),
});

interface AddressState {
  windowStart: number;
  count: number;
}

interface KeyState {
  lastSeen: number;
  firstSeen: number;
  windowStart: number;
  newCount: number;
  sample: string[];
}

interface Cooldown {
  until: number;
  suppressed: number;
}

type AlertFacts = Pick<UsageAlert, "type" | "message" | "count" | "windowMs" | "addresses" | "previousUseAt">;

/**
 * Create a usage monitor and feed it the authenticator's events.
 *
 * @example
 * ```ts
 * import { createApiKeyAuth, createKeyManager, createUsageMonitor } from "@fluenzr/api-keys";
 * const monitor = createUsageMonitor({
 *   onAlert: (alert) => logger.warn({ alert }, alert.message), // never contains a key
 *   invalidKeyBurst: { threshold: 50, windowMs: 60_000 },
 * });
 * const auth = createApiKeyAuth({ store, accounts, onEvent: monitor.record });
 * const manager = createKeyManager({ store, accounts, monitor }); // fresher rotation status
 * ```
 */
export function createUsageMonitor(options: UsageMonitorOptions): UsageMonitor {
  const o = parseOptions(schema, options, "createUsageMonitor");
  const onAlert = o.onAlert as (alert: UsageAlert) => unknown;
  const clock = o.clock ?? systemClock;
  // A clock that gives no number would silently stop every window and cool-down.
  if (o.clock !== undefined) checkClockReading(o.clock);
  const revokedOn = o.revokedKeyUsed ?? true;
  const rotatedOn = o.rotatedKeyUsed ?? true;
  const burst = o.invalidKeyBurst === false ? null : { threshold: o.invalidKeyBurst?.threshold ?? 20, windowMs: o.invalidKeyBurst?.windowMs ?? 60_000 };
  const spike = o.newAddressesSpike === false ? null : { threshold: o.newAddressesSpike?.threshold ?? 10, windowMs: o.newAddressesSpike?.windowMs ?? 3600_000 };
  const dormantMs = o.dormantKeyUsed === false ? null : (o.dormantKeyUsed?.afterMs ?? 30 * DAY);
  const cooldownMs = o.cooldownMs ?? 900_000;

  // Every stored key is a copy of its own (see ownText): never a view of a client's longer text.
  const addresses = new CappedMap<string, AddressState>(o.limits?.addresses ?? 10_000, ownText);
  const keys = new CappedMap<string, KeyState>(o.limits?.keys ?? 10_000, ownText);
  const keyAddresses = new CappedMap<string, true>(o.limits?.keyAddresses ?? 100_000, ownText);
  const cooldowns = new CappedMap<string, Cooldown>(o.limits?.cooldowns ?? 10_000, ownText);
  // Without a `clock` option an event is judged at its own time, the authenticator's clock: a
  // monitor wired to an authenticator with a fake clock (or fed events replayed from a log) sees
  // the gaps between requests as they were. With a `clock`, that clock decides, as documented.
  const timeOf =
    o.clock !== undefined
      ? (): number => clock.now()
      : (event: ApiKeyAuthEvent): number => {
          const at = event.time instanceof Date ? event.time.getTime() : Number.NaN;
          return Number.isFinite(at) ? at : clock.now();
        };
  let events = 0;
  let raised = 0;
  let suppressedTotal = 0;

  function raise(subject: string, event: ApiKeyAuthEvent, ip: string | null, now: number, facts: AlertFacts): void {
    const id = `${facts.type}\u0000${subject}`;
    const held = cooldowns.peek(id);
    if (held !== undefined && now < held.until) {
      held.suppressed++;
      suppressedTotal++;
      return;
    }
    cooldowns.set(id, { until: now + cooldownMs, suppressed: 0 });
    raised++;
    const alert: UsageAlert = {
      ...facts,
      time: event.time instanceof Date && !Number.isNaN(event.time.getTime()) ? event.time : new Date(now),
      keyId: str(event.keyId),
      hint: str(event.hint),
      accountId: str(event.accountId),
      ip,
      userAgent: str(event.userAgent),
      method: str(event.method),
      path: str(event.path),
      suppressed: held?.suppressed ?? 0,
    };
    try {
      const result = onAlert(alert);
      // An async sink that rejects must not become an unhandled rejection.
      if (typeof (result as Promise<unknown> | undefined)?.then === "function") (result as Promise<unknown>).then(undefined, () => {});
    } catch {
      // The alert sink's failure never reaches the request path.
    }
  }

  function countInvalid(event: ApiKeyAuthEvent, ip: string, now: number): void {
    if (burst === null) return;
    let state = addresses.get(ip);
    if (state === undefined || now >= state.windowStart + burst.windowMs) {
      state = { windowStart: now, count: 0 };
      addresses.set(ip, state);
    }
    state.count++;
    if (state.count >= burst.threshold) {
      raise(ip, event, ip, now, {
        type: "invalid_key_burst",
        message: `${state.count} invalid API keys from ${shown(ip)} within ${duration(burst.windowMs)}`,
        count: state.count,
        windowMs: burst.windowMs,
        addresses: [ip],
        previousUseAt: null,
      });
    }
  }

  function seeKey(event: ApiKeyAuthEvent, keyId: string, ip: string | null, now: number): void {
    let state = keys.get(keyId);
    const previous = state?.lastSeen;
    if (state === undefined) {
      state = { lastSeen: now, firstSeen: now, windowStart: now, newCount: 0, sample: [] };
      keys.set(keyId, state);
    } else {
      if (now > state.lastSeen) state.lastSeen = now;
      if (Number.isNaN(state.firstSeen)) state.firstSeen = state.windowStart = now;
    }
    if (!event.ok) return;
    const name = describe(event);
    if (dormantMs !== null && previous !== undefined && now - previous >= dormantMs) {
      raise(keyId, event, ip, now, {
        type: "dormant_key_used",
        message: `API key ${name} was used${from(ip)} after ${days(now - previous)} without use`,
        count: 1,
        windowMs: null,
        addresses: ip === null ? [] : [ip],
        previousUseAt: new Date(previous),
      });
    }
    if (spike === null || ip === null) return;
    const pair = `${keyId}\u0000${ip}`;
    if (keyAddresses.get(pair) !== undefined) return;
    keyAddresses.set(pair, true);
    // The first window after the monitor meets a key is learning: every address is new then.
    if (now - state.firstSeen < spike.windowMs) return;
    if (now >= state.windowStart + spike.windowMs) {
      state.windowStart = now;
      state.newCount = 0;
      state.sample = [];
    }
    state.newCount++;
    if (state.sample.length < SAMPLE) state.sample.push(ownText(ip));
    if (state.newCount >= spike.threshold) {
      raise(keyId, event, ip, now, {
        type: "new_addresses_spike",
        message: `API key ${name} was used from ${state.newCount} new addresses within ${duration(spike.windowMs)}, latest ${shown(ip)}`,
        count: state.newCount,
        windowMs: spike.windowMs,
        addresses: [...state.sample],
        previousUseAt: null,
      });
    }
  }

  function record(event: ApiKeyAuthEvent): void {
    try {
      if (typeof event !== "object" || event === null || typeof event.reason !== "string") return;
      events++;
      const now = timeOf(event);
      const ip = typeof event.ip === "string" && event.ip.length > 0 ? event.ip.slice(0, MAX_IP_LENGTH) : null;
      const keyId = str(event.keyId);
      if (event.reason === "revoked" && keyId !== null) {
        const rotated = event.revokedReason === "rotated";
        if (rotated ? rotatedOn : revokedOn) {
          const name = describe(event);
          raise(keyId, event, ip, now, {
            type: rotated ? "rotated_key_used" : "revoked_key_used",
            message: rotated
              ? `API key ${name} was presented${from(ip)} after it was rotated out and its grace period ended`
              : `Revoked API key ${name} was presented${from(ip)}`,
            count: 1,
            windowMs: null,
            addresses: ip === null ? [] : [ip],
            previousUseAt: null,
          });
        }
      }
      if (ip !== null && INVALID_KEY_REASONS.has(event.reason)) countInvalid(event, ip, now);
      if (keyId !== null) seeKey(event, keyId, ip, now);
    } catch {
      // Monitoring is advisory: a strange event or a failing clock never breaks the request path.
    }
  }

  /** Seed one row; a row that is not `{ id: string, lastUsedAt: valid Date }`, or cannot be read, is skipped. */
  function primeRow(row: unknown): void {
    let id: unknown;
    let at: number | null;
    try {
      id = (row as { id?: unknown } | null | undefined)?.id;
      // validTime, not instanceof: a Proxy of a Date would throw on getTime().
      at = validTime((row as { lastUsedAt?: unknown } | null | undefined)?.lastUsedAt);
    } catch {
      return;
    }
    if (typeof id !== "string" || at === null) return;
    const state = keys.peek(id);
    // Its addresses are not known yet: its learning window starts with its next request
    // (NaN until then), on the same time line as the events.
    if (state === undefined) keys.set(id, { lastSeen: at, firstSeen: Number.NaN, windowStart: Number.NaN, newCount: 0, sample: [] });
    else if (at > state.lastSeen) state.lastSeen = at;
  }

  return {
    record,
    lastSeen(keyId: string): Date | null {
      const state = typeof keyId === "string" ? keys.peek(keyId) : undefined;
      return state === undefined ? null : new Date(state.lastSeen);
    },
    prime(list): void {
      try {
        for (const row of list) primeRow(row);
      } catch (cause) {
        // Not iterable (null, a number), or an iterator that throws: a programming error.
        throw new ApiKeyError("INVALID_INPUT", "monitor.prime expects an iterable of { id, lastUsedAt } rows (manager.list rows fit)", {
          field: "keys",
          cause,
        });
      }
    },
    stats(): UsageMonitorStats {
      return {
        addresses: addresses.size,
        keys: keys.size,
        keyAddresses: keyAddresses.size,
        cooldowns: cooldowns.size,
        events,
        alerts: raised,
        suppressed: suppressedTotal,
      };
    },
  };
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

function describe(event: ApiKeyAuthEvent): string {
  return `${str(event.hint) ?? "(no hint)"} (${str(event.keyId) ?? "unknown id"})`;
}

/**
 * A copy of `text` in a string of its own. In V8 a slice or a concatenation of a longer string
 * can be a view that keeps the whole original alive: an address cut to 100 characters from a
 * kilobyte of a client's header would hold the kilobyte for as long as a map keeps the address.
 */
function ownText(text: string): string {
  const codes = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) codes[i] = text.charCodeAt(i);
  return String.fromCharCode(...codes);
}

function from(ip: string | null): string {
  return ip === null ? " from an unknown address" : ` from ${shown(ip)}`;
}

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// A zone names an interface (`eth0`, `12`): letters and digits only, so never a domain or a link.
const IPV6 = /^\[?([0-9A-Fa-f:.]{2,45})(?:%[0-9A-Za-z]{1,15})?\]?$/;

/** An IPv4 or IPv6 literal (IPv6 with an optional interface zone or brackets), nothing else. */
function isIpLiteral(text: string): boolean {
  if (IPV4.test(text)) return true;
  const v6 = IPV6.exec(text);
  if (v6 === null || !(v6[1] as string).includes(":")) return false;
  try {
    new URL(`http://[${v6[1] as string}]/`); // the URL parser's IPv6 grammar: `::`-compression, an embedded IPv4
    return true;
  } catch {
    return false;
  }
}

/**
 * The address as alert text. An event's ip may come from a header the client wrote (a `getIp` or
 * `trust proxy` reading X-Forwarded-For), and alert messages go to chat and on-call tools, where
 * `<!channel>` or a link would be the client's words: only an IP literal is written into the
 * message. The alert's `ip` and `addresses` fields keep the value as given.
 */
function shown(ip: string): string {
  return isIpLiteral(ip) ? ip : "an address that is not an IP literal (see the alert's ip)";
}

const UNITS: readonly (readonly [number, string, string])[] = [
  [DAY, " day", " days"],
  [3600_000, " h", " h"],
  [60_000, " min", " min"],
  [1000, " s", " s"],
];

function duration(windowMs: number): string {
  return windowMs % 60_000 === 0 ? `${windowMs / 60_000} min` : `${windowMs / 1000} s`;
}

/** Time elapsed, rounded down in the largest unit it reaches: "31 days", "2 h", "10 min" (never "0 h"). */
function days(elapsedMs: number): string {
  for (const [unit, one, many] of UNITS) {
    const n = Math.floor(elapsedMs / unit);
    if (n >= 1) return `${n}${n === 1 ? one : many}`;
  }
  return `${Math.max(0, Math.floor(elapsedMs))} ms`;
}
