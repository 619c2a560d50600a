/**
 * `npm run bench:http`: each framework's server in a child process, loaded by autocannon over
 * loopback, six ways: no authentication, one empty middleware (the framework's own price for
 * any middleware), a middleware that only hashes the presented token with Node's SHA-256 (the
 * floor of any scheme that stores hashes), ours with a valid key, ours with an invalid key (well
 * formed, not stored: the full path), and the framework's usual peer middleware with a valid key.
 *
 * Two phases per framework:
 * - throughput: each variant once at full speed (autocannon as fast as it goes): req/s;
 * - cost: rounds at a fixed offered load, by default half of what the no-auth server managed at
 *   full speed (`--load 0.5`; `--rate N` for a number of req/s), so every variant sees the same
 *   arrivals and batching. In each round every variant is paired with a no-auth run right next to
 *   it (before it in even rounds, after it in odd ones; the order of the pairs rotates), and its
 *   ratio is taken within the pair, so drift in the machine's speed hits both halves alike; the
 *   median of rounds is the figure, the quartiles show the spread. The server reports its own CPU
 *   time (process.cpuUsage: user + system) before and after each run; CPU per request = server
 *   CPU / responses.
 * On Linux with 2 or more CPUs the server is pinned to the last CPU and the load generator to the
 * first (taskset), so the two never compete for a core. Prints figures; asserts nothing.
 *
 * `--instructions` measures instead what a shared, speed-changing machine cannot blur: the server
 * runs under valgrind's callgrind, and each variant's user-space instructions per request are
 * counted (counters zeroed before a batch of requests, dumped after), in interleaved rounds. The
 * kernel's share (socket reads and writes, the same for every variant) is not counted, so these
 * ratios are, if anything, higher than CPU-time ratios. Needs valgrind; about 15 minutes.
 *
 *   npm run bench:http                                # 7 rounds x 3 s per run, ~10 minutes
 *   npm run bench:http -- --rounds 9 --duration 5 --load 0.7 --frameworks fastify,hono --json out.json
 *   npm run bench:http -- --instructions --rounds 3 --requests 2000
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import type { BenchFramework, ChildMessage, ParentMessage } from "./http-server.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    duration: { type: "string", default: "3" },
    connections: { type: "string", default: "10" },
    load: { type: "string", default: "0.5" },
    rate: { type: "string" },
    frameworks: { type: "string", default: "express,fastify,hono" },
    "no-pin": { type: "boolean", default: false },
    instructions: { type: "boolean", default: false },
    requests: { type: "string", default: "2000" },
    json: { type: "string" },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const LOAD = Number(values.load);
const RATE = values.rate === undefined ? undefined : Number(values.rate);
const FRAMEWORKS = (values.frameworks ?? "").split(",") as BenchFramework[];
const INSTRUCTIONS = values.instructions === true;
const REQUESTS = Number(values.requests);
for (const [name, value] of [["rounds", ROUNDS], ["duration", DURATION], ["connections", CONNECTIONS], ["rate", RATE ?? 1], ["requests", REQUESTS]] as const) {
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`--${name} must be a positive whole number`);
    process.exit(2);
  }
}
if (!(LOAD > 0 && LOAD <= 1)) {
  console.error("--load must be a fraction in (0, 1]");
  process.exit(2);
}
const unknown = FRAMEWORKS.filter((f) => !["express", "fastify", "hono"].includes(f));
if (unknown.length > 0) {
  console.error(`--frameworks: unknown ${unknown.join(", ")} (expected express, fastify, hono)`);
  process.exit(2);
}

/** Pin `pid` to one CPU with taskset; false where that is not possible (not Linux, 1 CPU, no taskset). */
function pin(pid: number, cpu: number): boolean {
  if (values["no-pin"] || os.platform() !== "linux" || os.cpus().length < 2) return false;
  try {
    execFileSync("taskset", ["-apc", String(cpu), String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const PINNED = pin(process.pid, 0);

type Variant = "none" | "empty" | "hash" | "ours-valid" | "ours-invalid" | "peer";
const VARIANTS: readonly Variant[] = ["none", "empty", "hash", "ours-valid", "ours-invalid", "peer"];
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

  static async start(
    framework: BenchFramework,
    callgrindOut?: string,
  ): Promise<{ server: ServerChild; ready: Extract<ChildMessage, { type: "ready" }> }> {
    // Under callgrind the child is valgrind running node (same pid; the IPC channel is inherited).
    const child = fork(join(import.meta.dirname, "http-server.ts"), [framework], {
      ...(callgrindOut === undefined
        ? { execArgv: ["--import", "tsx"] }
        : {
            execPath: "valgrind",
            execArgv: ["--tool=callgrind", "--quiet", `--callgrind-out-file=${callgrindOut}`, process.execPath, "--import", "tsx"],
          }),
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const server = new ServerChild(child);
    const ready = await server.next();
    if (PINNED) pin(child.pid as number, os.cpus().length - 1);
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

async function measure(server: ServerChild, url: string, key: string, seconds: number, rate?: number): Promise<Sample> {
  const before = await server.cpuMicros();
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${key}` },
    ...(rate === undefined ? {} : { overallRate: rate }),
  });
  const after = await server.cpuMicros();
  const requests = r["2xx"] + r.non2xx;
  return { requests, seconds: r.duration, cpuMicros: after - before, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

interface Row {
  framework: BenchFramework;
  variant: Variant;
  /** At full speed (the throughput phase). */
  reqPerSec: number;
  /** Served at the fixed offered rate (the cost phase). */
  offeredReqPerSec: number;
  /** The offered rate of the cost phase. */
  rate: number;
  cpuMicrosPerRequest: number;
  cpuRatio: number;
  cpuRatioMedian: number;
  /** Lower and upper quartile of the per-round ratios: how far rounds disagree. */
  cpuRatioQuartiles: [number, number];
  reqRatio: number;
  non2xx: number;
  errors: number;
}

async function benchFramework(framework: BenchFramework): Promise<Row[]> {
  const { server, ready } = await ServerChild.start(framework);
  const base = `http://127.0.0.1:${ready.port}`;
  const target = (v: Variant): { url: string; key: string } => ({
    url: `${base}/${v === "ours-valid" || v === "ours-invalid" ? "ours" : v}`,
    // Every variant sends an Authorization line, so request sizes match.
    key: v === "ours-invalid" ? ready.invalidKey : ready.validKey,
  });
  const totals = new Map<Variant, Sample>(VARIANTS.map((v) => [v, { requests: 0, seconds: 0, cpuMicros: 0, non2xx: 0, errors: 0 }]));
  const fullSpeed = new Map<Variant, number>();
  let rate = 0;
  // Per round, each variant's CPU per request divided by that of a no-auth run right next to it.
  const perRound: Map<Variant, number>[] = [];
  const run = async (v: Variant, round: number): Promise<number> => {
    const s = await measure(server, target(v).url, target(v).key, DURATION, rate);
    const t = totals.get(v) as Sample;
    t.requests += s.requests;
    t.seconds += s.seconds;
    t.cpuMicros += s.cpuMicros;
    t.non2xx += s.non2xx;
    t.errors += s.errors;
    process.stderr.write(
      `  ${framework} round ${round + 1} at ${rate} req/s ${v}: ${Math.round(s.requests / s.seconds)} req/s, ${(s.cpuMicros / s.requests).toFixed(1)} µs CPU/req\n`,
    );
    return s.cpuMicros / s.requests;
  };
  try {
    for (const v of VARIANTS) await measure(server, target(v).url, target(v).key, 1); // warm-up, not counted
    for (const v of VARIANTS) {
      const s = await measure(server, target(v).url, target(v).key, DURATION);
      fullSpeed.set(v, s.requests / s.seconds);
      process.stderr.write(`  ${framework} full speed ${v}: ${Math.round(s.requests / s.seconds)} req/s\n`);
    }
    rate = RATE ?? Math.max(100, Math.round(((fullSpeed.get("none") as number) * LOAD) / 100) * 100);
    const others = VARIANTS.filter((v) => v !== "none");
    for (let round = 0; round < ROUNDS; round++) {
      // Each variant is paired with its own no-auth run, before it in one round and after it in
      // the next, and the order of the pairs rotates: drift in the machine's speed hits both
      // halves of a pair alike.
      const thisRound = new Map<Variant, number>([["none", 1]]);
      perRound.push(thisRound);
      for (let i = 0; i < others.length; i++) {
        const v = others[(i + round) % others.length] as Variant;
        if (round % 2 === 0) {
          const none = await run("none", round);
          thisRound.set(v, (await run(v, round)) / none);
        } else {
          const mine = await run(v, round);
          thisRound.set(v, mine / (await run("none", round)));
        }
      }
    }
  } finally {
    await server.stop();
  }
  const none = totals.get("none") as Sample;
  const cpuNone = none.cpuMicros / none.requests;
  const rpsNone = fullSpeed.get("none") as number;
  return VARIANTS.map((variant) => {
    const t = totals.get(variant) as Sample;
    const cpu = t.cpuMicros / t.requests;
    const rps = fullSpeed.get(variant) as number;
    const ratios = perRound.map((r) => r.get(variant) as number).sort((a, b) => a - b);
    const medianRatio = ratios[Math.floor(ratios.length / 2)] as number;
    const quartile = (q: number): number => ratios[Math.round((ratios.length - 1) * q)] as number;
    return {
      framework,
      variant,
      reqPerSec: rps,
      offeredReqPerSec: t.requests / t.seconds,
      rate,
      cpuMicrosPerRequest: cpu,
      cpuRatio: cpu / cpuNone,
      cpuRatioMedian: medianRatio,
      cpuRatioQuartiles: [quartile(0.25), quartile(0.75)],
      reqRatio: rps / rpsNone,
      non2xx: t.non2xx,
      errors: t.errors,
    };
  });
}

function label(row: Row): string {
  if (row.variant === "peer") return `peer: ${PEERS[row.framework]}`;
  return { none: "no auth", empty: "empty middleware", hash: "hash only (SHA-256 of the token)", "ours-valid": "ours, valid key", "ours-invalid": "ours, invalid key" }[
    row.variant as Exclude<Variant, "peer">
  ];
}

interface InstructionRow {
  framework: BenchFramework;
  variant: Variant;
  /** Median over rounds of user-space instructions per request. */
  perRequest: number;
  /** Median over rounds of (this variant / no auth), taken within each round. */
  ratio: number;
  rounds: number[];
}

/** The total event count (Ir) of the newest callgrind dump in `dir`. */
function newestDumpTotal(dir: string): number {
  const dumps = readdirSync(dir)
    .filter((f) => /^cg\.\d+\.\d+$/.test(f))
    .sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2]));
  const text = readFileSync(join(dir, dumps[dumps.length - 1] as string), "utf8");
  const m = /^(?:summary|totals): (\d+)/m.exec(text);
  if (m === null) throw new Error("callgrind dump without a total");
  return Number(m[1]);
}

async function instructionsFramework(framework: BenchFramework): Promise<InstructionRow[]> {
  const dir = mkdtempSync(join(os.tmpdir(), "bench-http-cg-"));
  const { server, ready } = await ServerChild.start(framework, join(dir, "cg.%p"));
  const pid = server.child.pid as number;
  const base = `http://127.0.0.1:${ready.port}`;
  const load = async (v: Variant, amount: number): Promise<number> => {
    // `amount` (a fixed number of requests) is an autocannon option its typings leave out.
    const options = {
      url: `${base}/${v === "ours-valid" || v === "ours-invalid" ? "ours" : v}`,
      connections: CONNECTIONS,
      amount,
      headers: { authorization: `Bearer ${v === "ours-invalid" ? ready.invalidKey : ready.validKey}` },
    };
    const r = await autocannon(options as Parameters<typeof autocannon>[0]);
    return r["2xx"] + r.non2xx;
  };
  const control = (flag: string): void => {
    execFileSync("callgrind_control", [flag, String(pid)], { stdio: "ignore" });
  };
  const perRound: Map<Variant, number>[] = [];
  try {
    for (const v of VARIANTS) await load(v, 2 * REQUESTS); // warm-up (and JIT) under valgrind, not counted
    for (let round = 0; round < ROUNDS; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
      const thisRound = new Map<Variant, number>();
      perRound.push(thisRound);
      for (const v of order) {
        control("-z");
        const served = await load(v, REQUESTS);
        control("-d");
        const perRequest = newestDumpTotal(dir) / served;
        thisRound.set(v, perRequest);
        process.stderr.write(`  ${framework} round ${round + 1} ${v}: ${Math.round(perRequest)} instructions/request\n`);
      }
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return VARIANTS.map((variant) => ({
    framework,
    variant,
    perRequest: median(perRound.map((r) => r.get(variant) as number)),
    ratio: median(perRound.map((r) => (r.get(variant) as number) / (r.get("none") as number))),
    rounds: perRound.map((r) => r.get(variant) as number),
  }));
}

if (INSTRUCTIONS) {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    execFileSync("callgrind_control", ["--version"], { stdio: "ignore" });
  } catch {
    console.error("--instructions needs valgrind (with callgrind_control) on the PATH");
    process.exit(2);
  }
  console.log(
    `HTTP benchmark, instructions: Node ${process.version}, ${os.platform()} ${os.arch()}; ` +
    `user-space instructions per request (valgrind callgrind), ${ROUNDS} interleaved rounds of ${REQUESTS} requests per variant, ` +
      `${CONNECTIONS} connections; median of rounds; ratio taken within each round, then the median.`,
  );
  const irows: InstructionRow[] = [];
  for (const framework of FRAMEWORKS) irows.push(...(await instructionsFramework(framework)));
  console.log("\n| framework | variant | instructions / request | × no auth | rounds |");
  console.log("|---|---|---:|---:|---|");
  for (const r of irows) {
    const name = label({ framework: r.framework, variant: r.variant } as Row);
    const rounds = r.rounds.map((x) => `${Math.round(x / 100) / 10}k`).join(", ");
    console.log(`| ${r.framework} | ${name} | ${Math.round(r.perRequest).toLocaleString("en-US")} | ${r.ratio.toFixed(3)} | ${rounds} |`);
  }
  console.log("\ntarget: ours ≤ 1.05× no auth (valid and invalid keys), by instructions:");
  for (const framework of FRAMEWORKS) {
    const of = (v: Variant) => irows.find((r) => r.framework === framework && r.variant === v) as InstructionRow;
    const valid = of("ours-valid").ratio;
    const invalid = of("ours-invalid").ratio;
    console.log(
      `  ${framework}: valid ${valid.toFixed(3)}×, invalid ${invalid.toFixed(3)}× (${valid <= 1.05 && invalid <= 1.05 ? "met" : "NOT met"}); ` +
        `empty middleware ${of("empty").ratio.toFixed(3)}×, hash only ${of("hash").ratio.toFixed(3)}×, peer ${of("peer").ratio.toFixed(3)}×`,
    );
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ node: process.version, mode: "instructions", rows: irows }, null, 2));
  process.exit(0);
}

const cpus = os.cpus();
console.log(
  `HTTP benchmark: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} x ${cpus[0]?.model ?? "?"}; ` +
    `${CONNECTIONS} connections, loopback; throughput: ${DURATION} s per variant at full speed; ` +
    `cost: ${ROUNDS} rounds x ${DURATION} s per variant at ${RATE === undefined ? `${LOAD} x no-auth full speed` : `${RATE} req/s`}; ` +
    (PINNED ? "server and load generator pinned to separate CPUs" : "not pinned"),
);
const rows: Row[] = [];
for (const framework of FRAMEWORKS) rows.push(...(await benchFramework(framework)));

console.log(
  "\n| framework | variant | req/s, full speed | × no-auth req/s | offered req/s | server CPU µs/req | × no-auth CPU | × no-auth CPU, median of rounds | quartiles of rounds | non-2xx |",
);
console.log("|---|---|---:|---:|---:|---:|---:|---:|---|---:|");
for (const r of rows) {
  console.log(
    `| ${r.framework} | ${label(r)} | ${Math.round(r.reqPerSec)} | ${r.reqRatio.toFixed(2)} | ${r.rate} | ${r.cpuMicrosPerRequest.toFixed(1)} | ${r.cpuRatio.toFixed(2)} | ${r.cpuRatioMedian.toFixed(2)} | ${r.cpuRatioQuartiles[0].toFixed(2)}–${r.cpuRatioQuartiles[1].toFixed(2)} | ${r.non2xx}${r.errors > 0 ? ` (${r.errors} errors)` : ""} |`,
  );
}
console.log("\ntarget: ours ≤ 1.05× no-auth server CPU per request (valid and invalid keys), median of rounds:");
for (const framework of FRAMEWORKS) {
  const of = (v: Variant) => rows.find((r) => r.framework === framework && r.variant === v) as Row;
  const valid = of("ours-valid").cpuRatioMedian;
  const invalid = of("ours-invalid").cpuRatioMedian;
  console.log(
    `  ${framework}: valid ${valid.toFixed(2)}×, invalid ${invalid.toFixed(2)}× (${valid <= 1.05 && invalid <= 1.05 ? "met" : "NOT met"}); ` +
      `empty middleware ${of("empty").cpuRatioMedian.toFixed(2)}×, hash only ${of("hash").cpuRatioMedian.toFixed(2)}×; at full speed ours serves ${of("ours-valid").reqRatio.toFixed(2)}× ` +
      `(valid) and ${of("ours-invalid").reqRatio.toFixed(2)}× (invalid) the no-auth req/s, an empty middleware ${of("empty").reqRatio.toFixed(2)}×`,
  );
}
if (values.json !== undefined) {
  writeFileSync(values.json, JSON.stringify({ node: process.version, cpus: cpus.length, load: LOAD, rate: RATE ?? null, pinned: PINNED, rows }, null, 2));
}
