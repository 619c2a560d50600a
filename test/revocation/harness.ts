// The measured guarantee (DESIGN §9): API servers in separate OS processes share one store and
// take continuous load with one key; a third process revokes it. For each trial we count, per
// server, the requests SENT after revoke() resolved that were still accepted, and how long after
// the resolution the last such request was sent ("lateness": the time until that server rejects).
import { fork, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { preciseNow } from "./open-store.js";

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export interface TrialResult {
  /** Per server: requests sent after revoke() resolved and accepted anyway. */
  acceptedAfter: number[];
  /** Per server: ms from the resolution to the sending of its last accepted request (0 if none). */
  latenessMs: number[];
  /** revoke() duration as the revoker saw it. */
  revokeMs: number;
  /** Processes listening for revocations when the revoke started (presence). */
  listeners: number;
}

export interface GuaranteeReport {
  trials: TrialResult[];
  /** Over all trials, per server. */
  acceptedAfterTotal: number[];
  /** p99 (nearest rank) of the per-trial worst lateness. */
  p99LatenessMs: number;
  maxLatenessMs: number;
  requests: number;
}

interface Child {
  process: ChildProcess;
  next<T>(type: string): Promise<T>;
}

function spawnChild(script: string, env: Record<string, string>): Child {
  const child = fork(here(script), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const queued = new Map<string, unknown[]>();
  child.on("message", (message: { type: string }) => {
    const waiter = waiting.get(message.type);
    if (waiter !== undefined) {
      waiting.delete(message.type);
      waiter.resolve(message);
    } else queued.set(message.type, [...(queued.get(message.type) ?? []), message]);
  });
  child.on("exit", (code) => {
    for (const [type, waiter] of waiting) waiter.reject(new Error(`${script} exited (${code}) before "${type}"`));
    waiting.clear();
  });
  return {
    process: child,
    next<T>(type: string): Promise<T> {
      const early = queued.get(type);
      if (early !== undefined && early.length > 0) return Promise.resolve(early.shift() as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(type);
          reject(new Error(`${script}: no "${type}" within 20 s`));
        }, 20_000);
        waiting.set(type, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
      });
    },
  };
}

interface Sample {
  sentAt: number;
  status: number;
}

/** One GET with the key; resolves with the status (0 on a socket error). */
function hit(agent: Agent, port: number, key: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/v1/ping", method: "GET", agent, headers: { authorization: `Bearer ${key}` } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end();
  });
}

export async function measureGuarantee(options: {
  env: Record<string, string>;
  cache: boolean;
  trials: number;
  servers?: number;
  concurrency?: number;
}): Promise<GuaranteeReport> {
  const serverCount = options.servers ?? 2;
  const concurrency = options.concurrency ?? 3;
  const env = { ...options.env, CACHE: options.cache ? "on" : "off" };
  const revoker = spawnChild("./revoker.ts", env);
  const servers = Array.from({ length: serverCount }, () => spawnChild("./server.ts", env));
  const agents = servers.map(() => new Agent({ keepAlive: true, maxSockets: concurrency }));
  try {
    await revoker.next("ready");
    const ports = await Promise.all(servers.map(async (s) => (await s.next<{ port: number }>("listening")).port));
    const trials: TrialResult[] = [];
    let requests = 0;
    for (let t = 0; t < options.trials; t++) {
      revoker.process.send({ type: "create" });
      const { key, id } = await revoker.next<{ key: string; id: string }>("created");
      const samples: Sample[][] = ports.map(() => []);
      let running = true;
      const loops = ports.flatMap((port, i) =>
        Array.from({ length: concurrency }, async () => {
          while (running) {
            const sentAt = preciseNow();
            const status = await hit(agents[i] as Agent, port, key);
            (samples[i] as Sample[]).push({ sentAt, status });
          }
        }),
      );
      // Warm up: every server has accepted the key a few times (its cache holds it).
      const accepted = (i: number) => (samples[i] as Sample[]).filter((s) => s.status === 200).length;
      const warmEnd = Date.now() + 5_000;
      while (ports.some((_, i) => accepted(i) < 5) && Date.now() < warmEnd) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 30));
      revoker.process.send({ type: "revoke", id });
      const { startedAt, resolvedAt, listeners } = await revoker.next<{ startedAt: number; resolvedAt: number; listeners: number }>("revoked");
      // Keep the load on until every server has refused several requests sent after the resolution.
      const refusedAfter = (i: number) => (samples[i] as Sample[]).filter((s) => s.sentAt > resolvedAt && s.status === 401).length;
      const end = Date.now() + 2_000;
      while (ports.some((_, i) => refusedAfter(i) < 5) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      running = false;
      await Promise.all(loops);
      const late = samples.map((list) => list.filter((s) => s.sentAt > resolvedAt && s.status === 200));
      requests += samples.reduce((n, list) => n + list.length, 0);
      trials.push({
        acceptedAfter: late.map((list) => list.length),
        latenessMs: late.map((list) => (list.length === 0 ? 0 : Math.max(...list.map((s) => s.sentAt - resolvedAt)))),
        revokeMs: resolvedAt - startedAt,
        listeners,
      });
    }
    const worst = trials.map((t) => Math.max(...t.latenessMs)).sort((a, b) => a - b);
    return {
      trials,
      acceptedAfterTotal: ports.map((_, i) => trials.reduce((n, t) => n + (t.acceptedAfter[i] ?? 0), 0)),
      p99LatenessMs: worst[Math.ceil(0.99 * worst.length) - 1] ?? 0,
      maxLatenessMs: worst.at(-1) ?? 0,
      requests,
    };
  } finally {
    for (const agent of agents) agent.destroy();
    for (const child of [revoker, ...servers]) {
      if (child.process.connected) child.process.send({ type: "stop" });
    }
    await Promise.all(
      [revoker, ...servers].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.process.exitCode !== null) return resolve();
            const timer = setTimeout(() => {
              child.process.kill();
              resolve();
            }, 3_000);
            child.process.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }
}

/** A readable summary for the test output. */
export function describeReport(label: string, report: GuaranteeReport): string {
  const lines = [
    `${label}: ${report.trials.length} trials, ${report.requests} requests`,
    `  accepted after revoke() resolved, per server: ${report.acceptedAfterTotal.join(", ")}`,
    `  time until every server rejects: p99 ${report.p99LatenessMs.toFixed(2)} ms, max ${report.maxLatenessMs.toFixed(2)} ms`,
    `  per trial (worst server, ms): ${report.trials.map((t) => Math.max(...t.latenessMs).toFixed(1)).join(" ")}`,
    `  revoke() took (ms): ${report.trials.map((t) => t.revokeMs.toFixed(1)).join(" ")}`,
  ];
  return lines.join("\n");
}
