/**
 * `npm run bench:http`: each framework's server in a child process, loaded by autocannon over
 * loopback, four ways: no authentication, ours with a valid key, ours with an invalid key (well
 * formed, not stored: the full path), and the framework's usual peer middleware with a valid key.
 * Rounds are interleaved (the order rotates each round) so drift in machine load spreads over all
 * variants. The server reports its own CPU time (process.cpuUsage) before and after each run;
 * CPU per request = server CPU / responses. Prints figures; asserts nothing.
 *
 *   npm run bench:http                                # 3 rounds x 4 s per variant, ~2.5 minutes
 *   npm run bench:http -- --rounds 5 --duration 10 --frameworks fastify,hono --json out.json
 */
import { fork, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import type { BenchFramework, ChildMessage, ParentMessage } from "./http-server.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "4" },
    connections: { type: "string", default: "10" },
    frameworks: { type: "string", default: "express,fastify,hono" },
    json: { type: "string" },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const FRAMEWORKS = (values.frameworks ?? "").split(",") as BenchFramework[];

type Variant = "none" | "ours-valid" | "ours-invalid" | "peer";
const VARIANTS: readonly Variant[] = ["none", "ours-valid", "ours-invalid", "peer"];
const PEERS: Record<BenchFramework, string> = {
  express: "passport-headerapikey",
  fastify: "@fastify/bearer-auth",
  hono: "hono/bearer-auth",
};

interface Sample {
  requests: number;
  seconds: number;
  cpuMicros: number;
  non2xx: number;
  errors: number;
}

class ServerChild {
  private readonly waiting: ((message: ChildMessage) => void)[] = [];
  private constructor(readonly child: ChildProcess) {
    child.on("message", (message: ChildMessage) => this.waiting.shift()?.(message));
  }

  static async start(framework: BenchFramework): Promise<{ server: ServerChild; ready: Extract<ChildMessage, { type: "ready" }> }> {
    const child = fork(join(import.meta.dirname, "http-server.ts"), [framework], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const server = new ServerChild(child);
    const ready = await server.next();
    if (ready.type !== "ready") throw new Error("server child did not start");
    return { server, ready };
  }

  private next(): Promise<ChildMessage> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async cpuMicros(): Promise<number> {
    const reply = this.next();
    this.child.send({ type: "cpu" } satisfies ParentMessage);
    const m = await reply;
    if (m.type !== "cpu") throw new Error("unexpected message");
    return m.user + m.system;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.send({ type: "stop" } satisfies ParentMessage);
    });
  }
}

async function measure(server: ServerChild, url: string, key: string, seconds: number): Promise<Sample> {
  const before = await server.cpuMicros();
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers: { authorization: `Bearer ${key}` } });
  const after = await server.cpuMicros();
  const requests = r["2xx"] + r.non2xx;
  return { requests, seconds: r.duration, cpuMicros: after - before, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

interface Row {
  framework: BenchFramework;
  variant: Variant;
  reqPerSec: number;
  cpuMicrosPerRequest: number;
  cpuRatio: number;
  cpuRatioMedian: number;
  reqRatio: number;
  non2xx: number;
  errors: number;
}

async function benchFramework(framework: BenchFramework): Promise<Row[]> {
  const { server, ready } = await ServerChild.start(framework);
  const base = `http://127.0.0.1:${ready.port}`;
  const target = (v: Variant): { url: string; key: string } => ({
    url: `${base}/${v === "none" ? "none" : v === "peer" ? "peer" : "ours"}`,
    // Every variant sends an Authorization line, so request sizes match.
    key: v === "ours-invalid" ? ready.invalidKey : ready.validKey,
  });
  const totals = new Map<Variant, Sample>(VARIANTS.map((v) => [v, { requests: 0, seconds: 0, cpuMicros: 0, non2xx: 0, errors: 0 }]));
  // Per round, each variant's CPU µs/request: ratios are taken within a round, then the median.
  const perRound: Map<Variant, number>[] = [];
  try {
    for (const v of VARIANTS) await measure(server, target(v).url, target(v).key, 1); // warm-up, not counted
    for (let round = 0; round < ROUNDS; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
      const thisRound = new Map<Variant, number>();
      perRound.push(thisRound);
      for (const v of order) {
        const s = await measure(server, target(v).url, target(v).key, DURATION);
        const t = totals.get(v) as Sample;
        t.requests += s.requests;
        t.seconds += s.seconds;
        t.cpuMicros += s.cpuMicros;
        t.non2xx += s.non2xx;
        t.errors += s.errors;
        thisRound.set(v, s.cpuMicros / s.requests);
        process.stderr.write(
          `  ${framework} round ${round + 1} ${v}: ${Math.round(s.requests / s.seconds)} req/s, ${(s.cpuMicros / s.requests).toFixed(1)} µs CPU/req\n`,
        );
      }
    }
  } finally {
    await server.stop();
  }
  const none = totals.get("none") as Sample;
  const cpuNone = none.cpuMicros / none.requests;
  const rpsNone = none.requests / none.seconds;
  return VARIANTS.map((variant) => {
    const t = totals.get(variant) as Sample;
    const cpu = t.cpuMicros / t.requests;
    const rps = t.requests / t.seconds;
    const ratios = perRound.map((r) => (r.get(variant) as number) / (r.get("none") as number)).sort((a, b) => a - b);
    const medianRatio = ratios[Math.floor(ratios.length / 2)] as number;
    return {
      framework,
      variant,
      reqPerSec: rps,
      cpuMicrosPerRequest: cpu,
      cpuRatio: cpu / cpuNone,
      cpuRatioMedian: medianRatio,
      reqRatio: rps / rpsNone,
      non2xx: t.non2xx,
      errors: t.errors,
    };
  });
}

function label(row: Row): string {
  if (row.variant === "peer") return `peer: ${PEERS[row.framework]}`;
  return { none: "no auth", "ours-valid": "ours, valid key", "ours-invalid": "ours, invalid key" }[row.variant as Exclude<Variant, "peer">];
}

const cpus = os.cpus();
console.log(
  `HTTP benchmark: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} x ${cpus[0]?.model ?? "?"}; ` +
    `${ROUNDS} rounds x ${DURATION} s per variant, ${CONNECTIONS} connections, loopback`,
);
const rows: Row[] = [];
for (const framework of FRAMEWORKS) rows.push(...(await benchFramework(framework)));

console.log("\n| framework | variant | req/s | × no-auth req/s | server CPU µs/req | × no-auth CPU | × no-auth CPU, median of rounds | non-2xx |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.framework} | ${label(r)} | ${Math.round(r.reqPerSec)} | ${r.reqRatio.toFixed(2)} | ${r.cpuMicrosPerRequest.toFixed(1)} | ${r.cpuRatio.toFixed(2)} | ${r.cpuRatioMedian.toFixed(2)} | ${r.non2xx}${r.errors > 0 ? ` (${r.errors} errors)` : ""} |`,
  );
}
if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ node: process.version, cpus: cpus.length, rows }, null, 2));
