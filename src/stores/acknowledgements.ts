/**
 * Confirmed revocation, shared by the stores: every process that listens for revocations says
 * so with a heartbeat ("presence"), and answers each announcement with an acknowledgement once
 * its listeners (the caches) have dropped the key. A revoke with confirmation then waits for an
 * acknowledgement from every process present, up to a timeout after which it names those that
 * stayed silent. It never fails the revocation: that is done (and other code, such as a rotation,
 * must be able to rely on it) whether or not every process confirmed.
 *
 * @module
 */
import { invalidOption } from "../errors.js";
import { hostname } from "node:os";

/** How often a listening process refreshes its presence (ms). @internal */
export const HEARTBEAT_MS = 5_000;
/** A presence older than this is taken as a process gone without saying so (ms). @internal */
export const PRESENCE_TTL_MS = 3 * HEARTBEAT_MS;

/** A process listening for revocations. @internal */
export interface Presence {
  readonly id: string;
  /** `host:pid`, for the error that names who did not acknowledge. */
  readonly name: string;
}

/** An acknowledgement on the wire. @internal */
export interface Acknowledgement {
  readonly listener: string;
  readonly hash: string;
}

/** A new presence for this process's listening connection. @internal */
export function newPresence(): Presence {
  const random = Math.random().toString(36).slice(2, 10);
  return { id: `${Date.now().toString(36)}${random}`, name: `${safeHostname()}:${process.pid}` };
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return "host";
  }
}

/** @internal */
export function parseAcknowledgement(payload: string | undefined): Acknowledgement | null {
  if (payload === undefined) return null;
  try {
    const v = JSON.parse(payload) as { listener?: unknown; hash?: unknown };
    if (typeof v.listener === "string" && typeof v.hash === "string") return { listener: v.listener, hash: v.hash };
  } catch {
    // Not an acknowledgement of ours.
  }
  return null;
}

/**
 * Collects acknowledgements from the moment it is created (before the revocation commits, so
 * none is missed), then waits for those of the processes present. @internal
 */
export class AcknowledgementWaiter {
  private readonly acked = new Set<string>();
  private wake: (() => void) | undefined;

  /** Feed every acknowledgement heard. */
  hear(ack: Acknowledgement | null): void {
    if (ack === null) return;
    this.acked.add(`${ack.listener}\n${ack.hash}`);
    this.wake?.();
  }

  /** Resolve once every one of `present` acknowledged `hash`, or after `timeoutMs` with those that did not. */
  async wait(hash: string, present: readonly Presence[], timeoutMs: number): Promise<Presence[]> {
    const missing = (): Presence[] => present.filter((p) => !this.acked.has(`${p.id}\n${hash}`));
    const deadline = Date.now() + timeoutMs;
    while (missing().length > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return missing();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return [];
  }
}

/**
 * A confirmation request, sent on the revocation channel by a revoke that changed nothing: every
 * listening process acknowledges `hash` as for an announcement, but drops nothing (its listeners
 * are not called). Messages on the channel arrive in order, so that acknowledgement also says the
 * process has heard the announcement of the revoke that did change the key, which may still be
 * waiting for its own confirmations (two administrators, a double click). @internal
 */
export function confirmationRequest(hash: string): string {
  return JSON.stringify({ confirm: hash });
}

/** The hash of a {@link confirmationRequest}, or `null` for any other payload. @internal */
export function parseConfirmationRequest(payload: string | undefined): string | null {
  if (payload === undefined) return null;
  try {
    const v = JSON.parse(payload) as { confirm?: unknown } | null;
    return typeof v?.confirm === "string" ? v.confirm : null;
  } catch {
    return null;
  }
}

/**
 * What {@link UnconfirmedRevocationHandler} is told.
 *
 * @example
 * ```ts
 * import { PostgresKeyStore, type UnconfirmedRevocation } from "@fluenzr/api-keys/postgres";
 * const store = new PostgresKeyStore({
 *   client,
 *   onUnconfirmed: (event: UnconfirmedRevocation) => console.error(JSON.stringify(event)),
 * });
 * // {"id":"key_…","listeners":["api-2:4121"],"timeoutMs":2000}
 * ```
 */
export interface UnconfirmedRevocation {
  /** The key revoked (its id: safe to log). */
  readonly id: string;
  /** `host:pid` of each listening process that did not confirm in time. */
  readonly listeners: readonly string[];
  /** The time waited (ms). */
  readonly timeoutMs: number;
}

/**
 * Told when a confirmed revocation timed out; the key is revoked all the same.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { RedisKeyStore, type UnconfirmedRevocationHandler } from "@fluenzr/api-keys/redis";
 * const onUnconfirmed: UnconfirmedRevocationHandler = ({ id, listeners, timeoutMs }) =>
 *   console.error(`key ${id} revoked, not confirmed within ${timeoutMs} ms by ${listeners.join(", ")}`);
 * const store = new RedisKeyStore({ client: new Redis(process.env.REDIS_URL!), onUnconfirmed });
 * ```
 */
export type UnconfirmedRevocationHandler = (event: UnconfirmedRevocation) => void;

/** Default handler: a warning naming the silent processes (and the key id, never the key). @internal */
export const warnUnconfirmed: UnconfirmedRevocationHandler = (event) => {
  console.warn(
    `@fluenzr/api-keys: key ${event.id} is revoked, but ${event.listeners.length} listening process(es) did not confirm within ${event.timeoutMs} ms: ${event.listeners.join(", ")}`,
  );
};

/** Default `confirmTimeoutMs` of both stores (ms): revocation is confirmed unless turned off. @internal */
export const DEFAULT_CONFIRM_TIMEOUT_MS = 2_000;

/** The longest timer Node (and browsers) keep: a longer one would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The confirmed-revocation options both stores take, checked (bad ones throw naming the option).
 * `confirmTimeoutMs`: absent means the default; `false` turns confirmation off. @internal
 */
export function confirmOptions(options: {
  confirmTimeoutMs?: number | false | undefined;
  onUnconfirmed?: UnconfirmedRevocationHandler | undefined;
}): { confirmTimeoutMs: number | false; onUnconfirmed: UnconfirmedRevocationHandler } {
  const confirm: unknown = options.confirmTimeoutMs === undefined ? DEFAULT_CONFIRM_TIMEOUT_MS : options.confirmTimeoutMs;
  if (confirm !== false && !(typeof confirm === "number" && Number.isInteger(confirm) && confirm > 0 && confirm <= MAX_TIMEOUT_MS)) {
    invalidOption("confirmTimeoutMs", `a positive integer of ms (at most ${MAX_TIMEOUT_MS}), or false to turn confirmation off`);
  }
  if (options.onUnconfirmed !== undefined && typeof options.onUnconfirmed !== "function") invalidOption("onUnconfirmed", "a function");
  return { confirmTimeoutMs: confirm, onUnconfirmed: options.onUnconfirmed ?? warnUnconfirmed };
}

/** Tell `handler` about the processes in `missing`, if any; a throwing handler changes nothing. @internal */
export function reportUnconfirmed(
  handler: UnconfirmedRevocationHandler,
  id: string,
  missing: readonly Presence[],
  timeoutMs: number,
): void {
  if (missing.length === 0) return;
  try {
    handler({ id, listeners: missing.map((p) => p.name), timeoutMs });
  } catch {
    // Reporting must not turn a done revocation into a failure.
  }
}
