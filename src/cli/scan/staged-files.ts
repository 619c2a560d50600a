/**
 * What `git commit` is about to record: the staged (index) version of each added, copied,
 * modified or renamed file.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";

/** Git could not be asked (not a repository, git missing). */
export class GitError extends Error {
  override readonly name = "GitError";
}

/** The repository's top folder and the staged paths (relative to it). */
export interface StagedFiles {
  readonly root: string;
  readonly paths: readonly string[];
}

function git(args: readonly string[], cwd: string): string {
  const result = spawnSync("git", args, { cwd, encoding: "buffer", maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new GitError(`could not run git: ${result.error.message}`);
  if (result.status !== 0) throw new GitError(result.stderr.toString("utf8").trim() || `git ${args[0]} failed`);
  return result.stdout.toString("utf8");
}

/**
 * List staged files with `git diff --cached --name-only -z --diff-filter=ACMR` (deleted files
 * have nothing to leak; submodules are not files).
 *
 * @example
 * ```ts
 * const { root, paths } = listStagedFiles(process.cwd());
 * ```
 */
export function listStagedFiles(cwd: string): StagedFiles {
  const root = git(["rev-parse", "--show-toplevel"], cwd).replace(/\r?\n$/, "");
  const out = git(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR", "--ignore-submodules"], root);
  return { root, paths: out.split("\0").filter((p) => p !== "") };
}

/**
 * Stream the staged blob of `path` (raw bytes, as committed: `git cat-file blob :<path>`, which
 * unlike `git show` never applies textconv filters) into `onChunk`.
 *
 * @example
 * ```ts
 * await readStagedBlob(root, "src/config.ts", (chunk) => scanner.push(chunk));
 * ```
 */
export function readStagedBlob(root: string, path: string, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["cat-file", "blob", `:${path}`], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => onChunk(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", (error) => reject(new GitError(`could not run git: ${error.message}`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new GitError(stderr.trim() || `git cat-file exited with ${code}`))));
  });
}
