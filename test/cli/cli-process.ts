// Runs the real `fluenzr-keys` binary (dist/cli.js) with node, as npx would.
//
// `npm test` builds before vitest runs, so dist/cli.js is normally fresh. When it is missing or
// older than a source file (running `npx vitest run test/cli` alone after an edit), only the CLI
// entry is rebuilt here, with the very config tsup.config.ts exports, into a private folder and
// then renamed over dist/cli.js (an atomic swap, so parallel test files never run a half-written file).
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(ROOT, "dist", "cli.js");

function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceTime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Make sure dist/cli.js exists and is newer than src/ (see the note at the top). */
export async function ensureCliBuilt(): Promise<void> {
  let builtAt = 0;
  try {
    builtAt = statSync(CLI).mtimeMs;
  } catch {
    // not built yet
  }
  if (builtAt >= newestSourceTime(join(ROOT, "src"))) return;
  const { build } = await import("tsup");
  const configs = (await import("../../tsup.config.js")).default;
  const cli = (Array.isArray(configs) ? configs : [configs]).find((c) => c.name === "cli");
  if (cli === undefined) throw new Error('tsup.config.ts has no config named "cli"');
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  const outDir = mkdtempSync(join(ROOT, "dist", ".cli-build-"));
  try {
    await build({ ...cli, outDir, silent: true, config: false });
    renameSync(join(outDir, "cli.js"), CLI);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /** Bytes or text on stdin (default: none, stdin closed). */
  input?: string | Uint8Array;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** Spawn `node dist/cli.js ...args` and collect its exit code and output. */
export function runCli(args: readonly string[], options: CliRunOptions = {}): CliRun {
  const result: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    input: options.input ?? "",
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
