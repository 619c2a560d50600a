// A TCP proxy that injects network faults between clients and a real server (PostgreSQL, Redis),
// for outage tests. Modes:
//
// - "pass": bytes flow both ways.
// - "blackhole": a hung server or a network gone silent. Every socket stays open and new
//   connections are accepted (as a hung server's kernel would), but nothing is forwarded in
//   either direction: no data, no FIN, no RST. What is sent meanwhile is held and delivered on
//   restore(), as TCP delivers it once a partition heals. restore(only) lets chosen connections
//   through first, to decide which of several pending connections completes first.
// - "down": a crashed server. Every connection is reset (RST on both sides) and the port is
//   closed, so new connections are refused (ECONNREFUSED) until restore() listens on it again.
//
// blackholeWhen(pattern) black-holes at a chosen step of a protocol: as soon as a client sends
// matching bytes (which are held too). What clients send is logged per connection (numbered in
// the order they were accepted), so a test can tell which connection did what.
//
// close() destroys every socket and stops listening: nothing the proxy opened outlives it.
import net from "node:net";

export type FaultMode = "pass" | "blackhole" | "down" | "closed";

interface Target {
  readonly host: string;
  readonly port: number;
}

/** Bytes a client sent, as logged by the proxy. */
export interface SentChunk {
  /** The connection (1 for the first one the proxy accepted, and so on). */
  readonly connection: number;
  /** Date.now() when the proxy read them. */
  readonly at: number;
  /** Held back by a black hole rather than forwarded (at least until a restore). */
  readonly held: boolean;
  /** The bytes as latin1 text, for matching (the first 256). */
  readonly text: string;
}

type Side = "client" | "upstream";

const MAX_LOG = 20_000;

/** One proxied connection: the client's socket and, once opened, the server's. */
class Link {
  upstream: net.Socket | undefined;
  /** Let through by restore(only) while the proxy black-holes the others. */
  released = false;
  /** Held while not passing: bytes and end markers, per direction. */
  private readonly toUpstream: (Buffer | "end")[] = [];
  private readonly toClient: (Buffer | "end")[] = [];
  /** A side that closed while nothing was passing: the other side is closed on flow(). */
  private closed: { from: Side; hadError: boolean } | undefined;

  constructor(
    private readonly proxy: FaultProxy,
    readonly client: net.Socket,
    readonly index: number,
  ) {
    this.relay(client, "client");
  }

  /** Bytes are forwarded in pass mode (or when released), once the server's socket is connected. */
  private passing(): boolean {
    const mode = this.proxy.mode;
    const open = mode === "pass" || (mode === "blackhole" && this.released);
    return open && this.upstream !== undefined && !this.upstream.connecting;
  }

  private relay(from: net.Socket, side: Side): void {
    const to = (): net.Socket => (side === "client" ? (this.upstream as net.Socket) : this.client);
    const held = side === "client" ? this.toUpstream : this.toClient;
    from.on("data", (chunk: Buffer) => {
      // An armed fault starts with the very bytes that match: they never reach the server.
      if (side === "client" && this.passing()) this.proxy.trip(chunk);
      const passing = this.passing();
      if (side === "client") this.proxy.log(this.index, chunk, !passing);
      if (!passing) {
        held.push(chunk);
        return;
      }
      const out = to();
      if (!out.write(chunk)) {
        from.pause();
        out.once("drain", () => from.resume());
      }
    });
    from.on("end", () => {
      if (this.passing()) to().end();
      else held.push("end");
    });
    from.on("close", (hadError: boolean) => {
      if (!this.passing()) {
        this.closed ??= { from: side, hadError };
        return;
      }
      if (hadError) to().destroy();
      else to().end();
    });
  }

  /** Connect to the server; held bytes go out once it is connected. */
  open(target: Target): void {
    if (this.upstream !== undefined || this.client.destroyed) return;
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.upstream = upstream;
    this.proxy.track(upstream);
    upstream.on("error", () => {});
    upstream.on("connect", () => this.flow());
    this.relay(upstream, "upstream");
  }

  /** Deliver what was held, in order, and any close that happened meanwhile. */
  flow(): void {
    if (!this.passing()) return;
    const upstream = this.upstream as net.Socket;
    for (const [held, to] of [
      [this.toUpstream, upstream],
      [this.toClient, this.client],
    ] as const) {
      for (const item of held.splice(0)) {
        if (item === "end") to.end();
        else to.write(item);
      }
    }
    const closed = this.closed;
    if (closed !== undefined) {
      const other = closed.from === "client" ? upstream : this.client;
      if (closed.hadError) other.destroy();
      else other.end();
    }
  }

  reset(): void {
    for (const socket of [this.client, this.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      // RST on a connected socket (a crashed server's kernel answers so); one still connecting is just dropped.
      if (socket.connecting) socket.destroy();
      else socket.resetAndDestroy();
    }
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }
}

export class FaultProxy {
  mode: FaultMode = "pass";
  /** Client connections accepted since the start. */
  accepted = 0;
  private readonly server: net.Server;
  private readonly links = new Set<Link>();
  private readonly sockets = new Set<net.Socket>();
  private readonly sentLog: SentChunk[] = [];
  private listenPort = 0;
  private blackholedAt = 0;
  private trigger: RegExp | undefined;

  private constructor(
    private readonly target: Target,
    private readonly host: string,
  ) {
    // Half-open allowed: a FIN is forwarded (or held) by the proxy, never answered by Node on its own.
    this.server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    this.server.on("error", () => {});
  }

  /** A proxy on an ephemeral port of `host` (default 127.0.0.1), forwarding to `target`. */
  static async start(target: Target, host = "127.0.0.1"): Promise<FaultProxy> {
    const proxy = new FaultProxy(target, host);
    await proxy.listen(0);
    return proxy;
  }

  /** A proxy in front of the server a `postgres://` or `redis://` URL names. */
  static async forUrl(url: string, defaultPort: number): Promise<FaultProxy> {
    const u = new URL(url);
    return FaultProxy.start({ host: u.hostname || "127.0.0.1", port: u.port === "" ? defaultPort : Number(u.port) });
  }

  get port(): number {
    return this.listenPort;
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = this.host;
    u.port = String(this.listenPort);
    return u.toString();
  }

  /** Sockets open now, on both sides of every connection. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** What clients sent, oldest first (see {@link SentChunk}). */
  get sent(): readonly SentChunk[] {
    return this.sentLog;
  }

  /** The connections whose client sent bytes matching `pattern`. */
  connectionsThatSent(pattern: RegExp): Set<number> {
    return new Set(this.sentLog.filter((c) => pattern.test(c.text)).map((c) => c.connection));
  }

  /** The connections still open on the client's side that sent bytes matching `pattern`. */
  openConnectionsThatSent(pattern: RegExp): number[] {
    const matching = this.connectionsThatSent(pattern);
    return [...this.links].filter((link) => !link.client.destroyed && matching.has(link.index)).map((link) => link.index);
  }

  /** The first bytes matching `pattern` held back since the last blackhole() (e.g. a heartbeat sent into the silence). */
  heldSince(pattern: RegExp): SentChunk | undefined {
    return this.sentLog.find((c) => c.held && c.at >= this.blackholedAt && pattern.test(c.text));
  }

  /** @internal */
  track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }

  /** @internal */
  log(connection: number, chunk: Buffer, held: boolean): void {
    if (this.sentLog.length >= MAX_LOG) this.sentLog.splice(0, MAX_LOG / 2);
    this.sentLog.push({ connection, at: Date.now(), held, text: chunk.subarray(0, 256).toString("latin1") });
  }

  /** @internal */
  trip(chunk: Buffer): void {
    if (this.trigger !== undefined && this.trigger.test(chunk.toString("latin1"))) this.blackhole();
  }

  private accept(client: net.Socket): void {
    client.on("error", () => {});
    if (this.mode === "down" || this.mode === "closed") {
      // Accepted in the instant before the port closed: a crashed server resets it.
      client.resetAndDestroy();
      return;
    }
    this.track(client);
    const link = new Link(this, client, ++this.accepted);
    this.links.add(link);
    client.on("close", () => this.links.delete(link));
    // Black-holed: the server is not reached until restore().
    if (this.mode === "pass") link.open(this.target);
  }

  /** A hung server or a silent network: keep every socket open, forward nothing. */
  blackhole(): void {
    this.assertOpen();
    if (this.mode === "down") throw new Error("restore() a down proxy before black-holing it");
    this.mode = "blackhole";
    this.trigger = undefined;
    this.blackholedAt = Date.now();
    for (const link of this.links) link.released = false;
  }

  /** Black-hole as soon as a client sends bytes matching `pattern` (those bytes are held too). */
  blackholeWhen(pattern: RegExp): void {
    this.assertOpen();
    this.trigger = pattern;
  }

  /** A crashed server: reset every connection (RST) and refuse new ones until restore(). */
  async reset(): Promise<void> {
    this.assertOpen();
    this.mode = "down";
    this.trigger = undefined;
    for (const link of this.links) link.reset();
    this.links.clear();
    if (!this.server.listening) return;
    // close() stops accepting at once; its callback waits for the connections, all reset above.
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Back to normal: listen again if down, deliver anything held, forward. With `only`, a black
   * hole lets through just the connections it picks (by number), and keeps holding the others.
   */
  async restore(only?: (connection: number) => boolean): Promise<void> {
    this.assertOpen();
    if (only !== undefined) {
      if (this.mode !== "blackhole") throw new Error("restore(only) is for a black-holed proxy");
      for (const link of this.links) {
        if (!only(link.index)) continue;
        link.released = true;
        if (link.upstream === undefined) link.open(this.target);
        else link.flow();
      }
      return;
    }
    if (!this.server.listening) await this.listen(this.listenPort);
    this.mode = "pass";
    for (const link of this.links) {
      if (link.upstream === undefined) link.open(this.target);
      else link.flow();
    }
  }

  /** Destroy every socket and stop listening. Idempotent. */
  async close(): Promise<void> {
    if (this.mode === "closed") return;
    this.mode = "closed";
    for (const link of this.links) link.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.links.clear();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private assertOpen(): void {
    if (this.mode === "closed") throw new Error("the fault proxy is closed");
  }

  private listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once("error", onError);
      this.server.listen({ host: this.host, port, exclusive: true }, () => {
        this.server.removeListener("error", onError);
        this.listenPort = (this.server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }
}
