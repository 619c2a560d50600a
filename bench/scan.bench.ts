// `npm run bench:scan`: throughput of `fluenzr-keys scan` on generated trees of ~100 MB of text
// (source-like lines, planted keys, look-alikes with bad checksums, a node_modules folder to skip),
// in two shapes: a few large files, and many small ones (where per-file cost shows).
// Runs the built binary (dist/cli.js: run `npx tsup` first), as a user or a CI step would;
// the time includes starting Node. Options: BENCH_SCAN_MB (default 100), BENCH_SCAN_RUNS (default 3).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { generateApiKey } from "../src/index.js";
import { createSeededRandom } from "../src/testing/index.js";

const totalBytes = Number(process.env.BENCH_SCAN_MB ?? 100) * 1e6;
const runs = Number(process.env.BENCH_SCAN_RUNS ?? 3);
const cli = new URL("../dist/cli.js", import.meta.url).pathname;
if (!existsSync(cli)) throw new Error("dist/cli.js is missing: run `npx tsup` first");

const random = createSeededRandom("bench-scan");
// Words that start like the key prefix make the candidate regex work, as real code would.
const words = ["const", "format", "flag", "filter", "flz", "flz_sk", "function", "return", "await", "key", "value", "sk_", "buffer"];
let seed = 1;
const next = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
function line(): string {
  let text = "  ";
  for (let i = 0, n = 4 + next(8); i < n; i++) text += `${words[next(words.length)]}${next(3) === 0 ? "_" : " "}`;
  return `${text}= "abcdefghijklmnopqrstuvwxyz0123456789";\n`;
}
// One 256 KiB block of lines, sliced and repeated: generating 100 MB line by line would dominate.
const block = Array.from({ length: 4000 }, line).join("").slice(0, 256 * 1024);

function plantKey(text: string, at: number): string {
  const { key } = generateApiKey({ environment: "prod", random });
  const lookalike = `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`; // bad checksum: not reported
  const cut = text.indexOf("\n", at) + 1;
  return `${text.slice(0, cut)}const key = "${key}"; // ${lookalike}\n${text.slice(cut)}`;
}

interface Shape {
  readonly name: string;
  readonly fileSize: number;
}
const shapes: readonly Shape[] = [
  { name: "large files (1 MiB)", fileSize: 1 << 20 },
  { name: "small files (5 KB)", fileSize: 5_000 },
];
const planted = 20;

console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), Node ${process.versions.node}`);
console.log("| tree | files | MB | median time | throughput |");
console.log("|---|---|---|---|---|");
for (const shape of shapes) {
  const dir = mkdtempSync(join(tmpdir(), "fluenzr-scan-bench-"));
  try {
    const files = Math.ceil(totalBytes / shape.fileSize);
    const content = block.repeat(Math.ceil(shape.fileSize / block.length)).slice(0, shape.fileSize);
    let bytes = 0;
    for (let f = 0; f < files; f++) {
      const folder = join(dir, `pkg-${f % 20}`, "src", `m-${f % 7}`);
      mkdirSync(folder, { recursive: true });
      // Spread the planted keys over the tree; shift the text so files are not all identical.
      const shift = (f * 977) % block.length;
      let text = (content.slice(shift) + content.slice(0, shift)).slice(0, shape.fileSize);
      if (f % Math.floor(files / planted) === 0 && f / Math.floor(files / planted) < planted) text = plantKey(text, text.length >> 1);
      writeFileSync(join(folder, `file-${f}.ts`), text);
      bytes += Buffer.byteLength(text);
    }
    mkdirSync(join(dir, "node_modules", "dep"), { recursive: true });
    writeFileSync(join(dir, "node_modules", "dep", "index.js"), block.repeat(8)); // skipped

    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      const result = spawnSync(process.execPath, [cli, "scan", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
      times.push((performance.now() - started) / 1000);
      const found = result.stdout.split("\n").filter(Boolean).length;
      if (result.status !== 1 || found !== planted) throw new Error(`expected ${planted} keys and exit 1, got ${found} and ${result.status}`);
    }
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)] as number;
    const mb = bytes / 1e6;
    console.log(`| ${shape.name} | ${files} | ${mb.toFixed(1)} | ${median.toFixed(2)} s | ${(mb / median).toFixed(0)} MB/s |`);
    console.error(`  runs: ${times.map((t) => t.toFixed(2)).join(", ")} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
