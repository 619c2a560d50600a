/**
 * LISTEN for revocation announcements, shared by every subscriber of one store: one dedicated
 * connection (a client checked out of the Pool for as long as anyone listens, or PGlite's own
 * listen()), reconnected with backoff when it drops. Subscribers hear `false` at once (nothing is
 * live yet) and `true` only once LISTEN has succeeded, so a cache never trusts a channel that
 * could still miss an announcement.
 *
 * @module
 */
import type { ApiKeyRevocation } from "../../store/key-store.js";
import { HEARTBEAT_MS, newPresence, parseConfirmationRequest, type Presence } from "../acknowledgements.js";
import type { ClientKind, PGliteLike, PgPoolClientLike, PgPoolLike, PostgresClient, SqlQueryable } from "./sql-client.js";

interface Subscriber {
  readonly listener: (revocation: ApiKeyRevocation) => void;
  readonly onStatus: ((connected: boolean) => void) | undefined;
}

const MAX_BACKOFF_MS = 2_000;
/** The longest stop() waits for the presence to be removed before it gives the connection back. */
const LEAVE_TIMEOUT_MS = 1_000;

/** Parse a NOTIFY payload; anything that is not ours is ignored. @internal */
export function parseRevocation(payload: string | undefined): ApiKeyRevocation | null {
  if (payload === undefined) return null;
  try {
    const value = JSON.parse(payload) as { id?: unknown; hash?: unknown };
    if (typeof value.id === "string" && typeof value.hash === "string") return { id: value.id, hash: value.hash };
  } catch {
    // Not our payload: someone else NOTIFYing on the channel.
  }
  return null;
}

/** @internal */
export class RevocationChannel {
  private readonly subscribers = new Set<Subscriber>();
  private connected = false;
  /** Bumped on every start/stop, so a connection attempt that lost the race tidies up after itself. */
  private session = 0;
  private stopCurrent: (() => void) | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private backoffMs = 50;
  private presence: Presence | undefined;
  /** The presence being written by join(): acknowledgements go out under it already. */
  private joining: Presence | undefined;
  /** Bumped by every connection attempt and every drop: a late success of a lost attempt is ignored. */
  private attempts = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** The Pool connection that LISTENs (none with PGlite), and how to declare it dead. */
  private listenConn: PgPoolClientLike | undefined;
  private failConn: ((error: Error) => void) | undefined;

  constructor(
    private readonly client: PostgresClient,
    private readonly kind: ClientKind,
    private readonly channel: string,
    /** Where listening processes note their presence, and the channel they acknowledge on. */
    private readonly confirm: { readonly listeners: string; readonly ackChannel: string },
  ) {}

  subscribe(listener: (revocation: ApiKeyRevocation) => void, onStatus?: (connected: boolean) => void): () => void {
    const sub: Subscriber = { listener, onStatus };
    this.subscribers.add(sub);
    if (this.connected) safe(() => onStatus?.(true));
    else safe(() => onStatus?.(false));
    if (this.subscribers.size === 1) this.start();
    return () => {
      if (!this.subscribers.delete(sub)) return;
      if (this.subscribers.size === 0) this.stop();
    };
  }

  private start(): void {
    const session = ++this.session;
    void this.connect(session);
  }

  private stop(): void {
    this.session++;
    this.connected = false;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const release = this.stopCurrent;
    this.stopCurrent = undefined;
    // The presence goes on the listening connection itself, queued after any write of it still
    // under way there, and that connection goes back only then: a pool ended right after
    // (`await auth.close(); await pool.end()`) waits for it, so the row does not outlive the
    // process and make confirmed revokes wait for a listener that is gone. Bounded, in case the
    // connection hangs.
    const removed = this.leave(this.listenConn);
    if (release === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    void Promise.race([removed, new Promise<void>((resolve) => (timer = setTimeout(resolve, LEAVE_TIMEOUT_MS)))]).then(() => {
      clearTimeout(timer);
      release();
    });
  }

  private deliver(payload: string | undefined): void {
    const revocation = parseRevocation(payload);
    // A confirmation request (a revoke that changed nothing) is acknowledged, dropping nothing.
    const hash = revocation !== null ? revocation.hash : parseConfirmationRequest(payload);
    if (hash === null) return;
    if (revocation !== null) for (const s of this.subscribers) safe(() => s.listener(revocation));
    // The listeners (caches) have dropped the key: say so, for a revoke that waits for everyone.
    const presence = this.presence ?? this.joining;
    if (presence !== undefined) {
      const ack = JSON.stringify({ listener: presence.id, hash });
      // On the listening connection itself: it needs no connection from the pool, which a small
      // pool may not have to spare while a revoke in this process holds one and waits for us.
      const q: SqlQueryable = this.listenConn ?? this.client;
      q.query("SELECT pg_notify($1, $2)", [this.confirm.ackChannel, ack]).catch(() => {});
    }
  }

  /**
   * Note this process as listening, before saying the channel is live, and beat while it is.
   * Only for the attempt `attempt` of session `session` while it is still current: a listener
   * stopped (or dropped) while its presence was being written must not leave the row behind,
   * which every confirmed revoke would then wait for in vain.
   */
  private async join(session: number, attempt: number): Promise<void> {
    const current = (): boolean => session === this.session && attempt === this.attempts;
    if (!current()) return;
    const presence = this.presence ?? newPresence();
    const q: SqlQueryable = this.listenConn ?? this.client;
    // Beating starts first: if this very upsert hangs, the beat declares the connection dead.
    if (this.heartbeat === undefined) {
      this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
      (this.heartbeat as { unref?: () => void }).unref?.();
    }
    // Known before the write, so an announcement heard meanwhile is acknowledged (a revoke that
    // reads the row right after it is written waits for this process).
    this.joining = presence;
    try {
      await q.query(this.upsertSql(), [presence.id, presence.name]);
    } catch {
      // No presence table (schema older than version 2): revocations work, confirmations skip us.
      if (this.joining === presence) this.joining = undefined;
      return;
    }
    if (this.joining === presence) this.joining = undefined;
    if (!current()) {
      // Stopped or dropped while the row was being written: leave() ran before it existed.
      if (this.presence?.id !== presence.id) {
        this.client.query(`DELETE FROM ${this.confirm.listeners} WHERE id = $1`, [presence.id]).catch(() => {});
      }
      return;
    }
    this.presence = presence;
    // Processes that died without a word leave rows behind: sweep the very old ones.
    q.query(`DELETE FROM ${this.confirm.listeners} WHERE seen_at < now() - interval '1 day'`).catch(() => {});
  }

  private upsertSql(): string {
    return `INSERT INTO ${this.confirm.listeners} (id, name, seen_at) VALUES ($1, $2, now())
      ON CONFLICT (id) DO UPDATE SET seen_at = now()`;
  }

  /**
   * Refresh the presence, on the listening connection itself: a connection that fails or does
   * not answer in time is taken as dropped, even if the network lost it without a word (no error,
   * no end), which would otherwise leave caches trusting a channel that hears nothing.
   */
  private beat(): void {
    const conn = this.listenConn;
    const presence = this.presence;
    const q: SqlQueryable = conn ?? this.client;
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      if (conn !== undefined && conn === this.listenConn) this.failConn?.(error);
    };
    const timer = setTimeout(() => fail(new Error("heartbeat not answered")), HEARTBEAT_MS);
    (timer as { unref?: () => void }).unref?.();
    // An UPDATE, not the upsert: a beat that hangs (a lock, a silent network) and runs after the
    // connection was given up and leave() deleted the row must not bring the row back, or every
    // confirmed revoke would wait for a listener that is gone. A row found missing while the
    // connection still answers is written again from here, where that cannot happen.
    const work =
      presence !== undefined
        ? q
            .query(`UPDATE ${this.confirm.listeners} SET seen_at = now() WHERE id = $1 RETURNING id`, [presence.id])
            .then(({ rows }) => {
              if (rows.length === 0 && this.presence === presence && this.listenConn === conn) {
                q.query(this.upsertSql(), [presence.id, presence.name]).catch(() => {});
              }
            })
        : q.query("SELECT 1");
    work.then(
      () => {
        settled = true;
        clearTimeout(timer);
      },
      (error: unknown) => {
        clearTimeout(timer);
        fail(error as Error);
      },
    );
  }

  /**
   * No longer listening: stop the heartbeat and remove the presence, on `q` (default: the
   * client), best effort. Resolves once the removal is done or has failed.
   */
  private leave(q: SqlQueryable = this.client): Promise<void> {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const presence = this.presence ?? this.joining;
    this.presence = undefined;
    this.joining = undefined;
    if (presence === undefined) return Promise.resolve();
    return q.query(`DELETE FROM ${this.confirm.listeners} WHERE id = $1`, [presence.id]).then(
      () => {},
      () => {},
    );
  }

  private setStatus(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const s of this.subscribers) safe(() => s.onStatus?.(connected));
  }

  private async connect(session: number): Promise<void> {
    const attempt = ++this.attempts;
    try {
      const stop = this.kind === "pglite" ? await this.listenPGlite(session) : await this.listenPool(session);
      if (session !== this.session) {
        stop();
        return;
      }
      this.stopCurrent = stop;
      this.backoffMs = 50;
      await this.join(session, attempt);
      if (session !== this.session || attempt !== this.attempts) return;
      this.setStatus(true);
    } catch {
      // Unless this attempt's connection already reported its failure: one that breaks while LISTEN
      // is in flight both emits "error" (whose handler called dropped(), moving `attempts` on) and
      // rejects the LISTEN. A second dropped() would start a second reconnect loop, and the
      // connection of one of them would be left out of `stopCurrent`, never given back to the pool
      // (so `pool.end()` would wait for it for ever).
      if (session === this.session && attempt === this.attempts) this.dropped(session);
    }
  }

  /** The connection is gone: say so, and try again later. */
  private dropped(session: number): void {
    if (session !== this.session) return;
    this.attempts++;
    this.stopCurrent?.();
    this.stopCurrent = undefined;
    void this.leave();
    this.setStatus(false);
    const wait = this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (session === this.session) void this.connect(session);
    }, wait);
    // Retrying must not keep a process alive that has nothing else to do.
    (this.retryTimer as { unref?: () => void }).unref?.();
  }

  private async listenPGlite(session: number): Promise<() => void> {
    const unlisten = await (this.client as PGliteLike).listen(quoteChannel(this.channel), (payload) => {
      if (session === this.session) this.deliver(payload);
    });
    return () => void unlisten().catch(() => {});
  }

  private async listenPool(session: number): Promise<() => void> {
    const conn: PgPoolClientLike = await (this.client as PgPoolLike).connect();
    let released = false;
    const onNotification = (message: { channel: string; payload?: string | undefined }): void => {
      if (message.channel === this.channel && session === this.session) this.deliver(message.payload);
    };
    const onError = (error: Error): void => {
      release(error);
      this.dropped(session);
    };
    const onEnd = (): void => {
      release(new Error("connection ended"));
      this.dropped(session);
    };
    const release = (error?: Error): void => {
      if (released) return;
      released = true;
      if (this.listenConn === conn) {
        this.listenConn = undefined;
        this.failConn = undefined;
      }
      conn.removeListener("notification", onNotification);
      conn.removeListener("end", onEnd);
      // Our error handler stays: a late socket error on a released client must not crash the process.
      conn.removeListener("error", onError);
      conn.on("error", () => {});
      // Released with an error or `true`: the pool discards a client that was LISTENing rather than reuse it.
      conn.release(error ?? true);
    };
    conn.on("notification", onNotification);
    conn.on("error", onError);
    conn.on("end", onEnd);
    // Only a connection of the current session is the listening one. An attempt from before a stop()
    // whose connection arrives after a newer session's must not take its place: its release() would
    // then clear it, and the heartbeat would run on a pool connection instead, which says nothing
    // about the one that listens (a silent one would be trusted for ever).
    if (session === this.session) {
      this.listenConn = conn;
      this.failConn = onError;
    }
    try {
      await conn.query(`LISTEN ${quoteChannel(this.channel)}`);
    } catch (error) {
      release(error as Error);
      throw error;
    }
    return () => release();
  }
}

/** A channel name as a quoted identifier. @internal */
export function quoteChannel(channel: string): string {
  return `"${channel.replaceAll('"', '""')}"`;
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // A subscriber's failure must not stop the others from hearing about a revocation.
  }
}
