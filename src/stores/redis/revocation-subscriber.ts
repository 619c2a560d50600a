/**
 * Revocation announcements over Redis pub/sub, shared by every subscriber of one store. A
 * connection in subscriber mode can run no other command, so it is a `duplicate()` of the
 * caller's client, opened when the first listener arrives and closed with the last. Subscribers
 * hear `false` at once and `true` only once SUBSCRIBE is acknowledged, and `false` whenever the
 * connection drops (ioredis reconnects by itself; we subscribe again before saying `true`).
 *
 * @module
 */
import type { Redis } from "ioredis";
import type { ApiKeyRevocation } from "../../store/key-store.js";
import { HEARTBEAT_MS, newPresence, parseConfirmationRequest, type Presence } from "../acknowledgements.js";

interface Subscriber {
  readonly listener: (revocation: ApiKeyRevocation) => void;
  readonly onStatus: ((connected: boolean) => void) | undefined;
}

/** @internal */
export class RevocationSubscriber {
  private readonly subscribers = new Set<Subscriber>();
  private connection: Redis | undefined;
  private connected = false;
  private presence: Presence | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Bumped by every leave(): a join that was under way then does not note a presence after it. */
  private epoch = 0;

  constructor(
    private readonly client: Redis,
    private readonly channel: string,
    /**
     * Sorted set of listening processes (score: last heartbeat, on the Redis server's clock), the
     * acknowledgement channel, and how a heartbeat is written (`sweep`: also drop entries a day old).
     */
    private readonly confirm: {
      readonly listeners: string;
      readonly ackChannel: string;
      readonly notePresence: (member: string, sweep: boolean) => Promise<void>;
    },
  ) {}

  subscribe(listener: (revocation: ApiKeyRevocation) => void, onStatus?: (connected: boolean) => void): () => void {
    const sub: Subscriber = { listener, onStatus };
    this.subscribers.add(sub);
    safe(() => onStatus?.(this.connected));
    if (this.connection === undefined) this.open();
    return () => {
      if (!this.subscribers.delete(sub)) return;
      if (this.subscribers.size === 0) this.close();
    };
  }

  private open(): void {
    // Our own SUBSCRIBE on every "ready" (ioredis's automatic one has no handler: its rejection,
    // when a reconnect's reply never comes, would end the process), and commands queue while it
    // connects whatever the caller's client says.
    const conn = this.client.duplicate({ autoResubscribe: false, enableOfflineQueue: true });
    this.connection = conn;
    const current = (): boolean => this.connection === conn;
    const listen = (): void => {
      // A SUBSCRIBE that gets no answer (a network that drops it silently) is given up and the
      // connection made again, as the heartbeat does for a silent connection: without this the
      // channel would stay down, and the heartbeat, started only once subscribed, never notice.
      let answered = false;
      const timer = setTimeout(() => {
        if (answered || !current()) return;
        this.leave();
        this.setStatus(false);
        conn.disconnect(true);
      }, HEARTBEAT_MS);
      (timer as { unref?: () => void }).unref?.();
      conn
        .subscribe(this.channel)
        .then(
          () => {
            answered = true;
            clearTimeout(timer);
          },
          (error: unknown) => {
            answered = true;
            clearTimeout(timer);
            throw error;
          },
        )
        .then(() => this.join(conn))
        .then(
          () => {
            if (current() && conn.status === "ready") this.setStatus(true);
          },
          () => {
            // The connection went away while subscribing: "close" reports it and "ready" retries.
          },
        );
    };
    conn.on("message", (channel: string, message: string) => {
      if (channel !== this.channel || !current()) return;
      const revocation = parse(message);
      // A confirmation request (a revoke that changed nothing) is acknowledged, dropping nothing.
      const hash = revocation !== null ? revocation.hash : parseConfirmationRequest(message);
      if (hash === null) return;
      if (revocation !== null) for (const s of this.subscribers) safe(() => s.listener(revocation));
      // The listeners (caches) have dropped the key: say so, for a revoke that waits for everyone.
      const presence = this.presence;
      if (presence !== undefined) {
        this.client.publish(this.confirm.ackChannel, JSON.stringify({ listener: presence.id, hash })).catch(() => {});
      }
    });
    conn.on("ready", () => {
      if (current()) listen();
    });
    conn.on("close", () => {
      if (!current()) return;
      this.leave();
      this.setStatus(false);
    });
    // Errors are reported as "close"; without a handler ioredis would print them.
    conn.on("error", () => {});
    if (conn.status === "wait") void conn.connect().catch(() => {});
    else if (conn.status === "ready") listen();
  }

  private close(): void {
    const conn = this.connection;
    this.connection = undefined;
    this.leave();
    this.setStatus(false);
    conn?.disconnect();
  }

  /**
   * Note this process as listening, before saying the channel is live, and beat while it is.
   * Only for `conn` while it is the current connection and nothing left since: a subscription
   * closed (or dropped) while it was being set up must not leave a presence behind, which every
   * confirmed revoke would then wait for in vain.
   */
  private async join(conn: Redis): Promise<void> {
    if (this.connection !== conn) return;
    const epoch = this.epoch;
    // Set before the write, so an announcement heard meanwhile is acknowledged.
    const presence = this.presence ?? newPresence();
    this.presence = presence;
    const member = JSON.stringify(presence);
    // Processes that died without a word leave entries behind: the very old ones are swept too.
    await this.confirm.notePresence(member, true);
    if (this.connection !== conn || this.epoch !== epoch) {
      // Left while the entry was being written (leave() may have removed it before it existed).
      if (this.presence !== presence) this.client.zrem(this.confirm.listeners, member).catch(() => {});
      return;
    }
    if (this.heartbeat === undefined) {
      this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
      (this.heartbeat as { unref?: () => void }).unref?.();
    }
  }

  /**
   * Refresh the presence, and PING the subscriber connection: one that does not answer in time
   * is reconnected (and reported down meanwhile), even if the network lost it without a word,
   * which would otherwise leave caches trusting a channel that hears nothing.
   */
  private beat(): void {
    const presence = this.presence;
    if (presence !== undefined) this.confirm.notePresence(JSON.stringify(presence), false).catch(() => {});
    const conn = this.connection;
    if (conn === undefined || conn.status !== "ready") return;
    let answered = false;
    const timer = setTimeout(() => {
      if (answered || this.connection !== conn) return;
      // Down now, not at "close": disconnect() ends the socket politely and waits for the server's
      // FIN, which a silent network never sends, so ioredis only destroys it and says "close" after
      // its `disconnectTimeout` (2 s by default, or whatever the client was given). Until then the
      // caches would keep trusting a deaf channel past the heartbeat's limit. "close" repeats this
      // harmlessly, and "ready" on the reconnected socket subscribes and says `true` again.
      this.leave();
      this.setStatus(false);
      conn.disconnect(true);
    }, HEARTBEAT_MS);
    (timer as { unref?: () => void }).unref?.();
    conn.ping().then(
      () => {
        answered = true;
        clearTimeout(timer);
      },
      () => {
        // "close" reports a failed connection; the timer reconnects a silent one.
      },
    );
  }

  /** No longer listening: stop the heartbeat and remove the presence (best effort). */
  private leave(): void {
    this.epoch++;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const presence = this.presence;
    this.presence = undefined;
    if (presence !== undefined) this.client.zrem(this.confirm.listeners, JSON.stringify(presence)).catch(() => {});
  }

  private setStatus(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const s of this.subscribers) safe(() => s.onStatus?.(connected));
  }
}

function parse(message: string): ApiKeyRevocation | null {
  try {
    const value = JSON.parse(message) as { id?: unknown; hash?: unknown };
    if (typeof value.id === "string" && typeof value.hash === "string") return { id: value.id, hash: value.hash };
  } catch {
    // Not ours: someone else publishing on the channel.
  }
  return null;
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // One subscriber's failure must not keep the others from hearing of a revocation.
  }
}
