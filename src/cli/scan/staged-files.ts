/**
 * What `git commit` is about to record: the staged (index) version of each added, copied,
 * modified, renamed or type-changed file.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";

/** Git could not be asked (not a repository, git missing). */
export class GitError extends Error {
  override readonly name = "GitError";
}

/** One staged file: its path (relative to the repository's top folder) and its staged blob. */
export interface StagedFile {
  readonly path: string;
  /** Object id of the staged content (what the commit will record). */
  readonly blob: string;
}

/** The repository's top folder and the staged files. */
export interface StagedFiles {
  readonly root: string;
  readonly files: readonly StagedFile[];
}

function git(args: readonly string[], cwd: string): string {
  const result = spawnSync("git", args, { cwd, encoding: "buffer", maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new GitError(`could not run git: ${result.error.message}`);
  if (result.status !== 0) throw new GitError(result.stderr.toString("utf8").trim() || `git ${args[0]} failed`);
  return result.stdout.toString("utf8");
}

// Gitlinks (submodules) are commits of another repository, not content of this one.
const GITLINK_MODE = "160000";

/**
 * List staged files with `git diff --cached --raw -z --diff-filter=ACMRT`: added, copied,
 * modified, renamed and type-changed (a symbolic link replaced by a file is new content).
 * Deleted files have nothing to leak. The raw format gives each file's staged blob id, so the
 * contents are read by id (no `:<path>` revision syntax, which misreads names like `0:notes`).
 *
 * @example
 * ```ts
 * const { root, files } = listStagedFiles(process.cwd());
 * ```
 */
export function listStagedFiles(cwd: string): StagedFiles {
  const root = git(["rev-parse", "--show-toplevel"], cwd).replace(/\r?\n$/, "");
  const out = git(
    ["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--diff-filter=ACMRT", "--ignore-submodules", "--no-ext-diff"],
    root,
  );
  // Records are ":<old mode> <new mode> <old id> <new id> <status>\0<path>\0".
  const fields = out.split("\0");
  const files: StagedFile[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [, newMode, , newId] = (fields[i] as string).slice(1).split(" ");
    const path = fields[i + 1] as string;
    if (newMode === undefined || newId === undefined || newMode === GITLINK_MODE || path === "") continue;
    files.push({ path, blob: newId });
  }
  return { root, files };
}

/** Where {@link readStagedBlobs} delivers each file's bytes. */
export interface StagedBlobSink {
  /** A file's content begins. */
  start(file: StagedFile): void;
  /** More bytes of the current file (valid only during the call). */
  chunk(bytes: Uint8Array): void;
  /** The current file ended; `problem` says why it could not be read, if it could not. */
  end(problem?: string): void;
}

/**
 * Stream the staged blobs of `files`, in order, through one `git cat-file --batch` process (one
 * process per file made a commit of a thousand files take most of a minute).
 *
 * @example
 * ```ts
 * await readStagedBlobs(root, files, { start: (f) => …, chunk: (b) => scanner.push(b), end: () => scanner.end() });
 * ```
 */
export function readStagedBlobs(root: string, files: readonly StagedFile[], sink: StagedBlobSink): Promise<void> {
  if (files.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["cat-file", "--batch"], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let index = 0; // the file whose header or content is being read
    let header: Buffer[] = []; // bytes of a header line not yet complete
    let remaining = 0; // content bytes left of the current file
    let inContent = false; // between a blob's header and the newline after its content
    let stderr = "";
    let failed = false;

    const fail = (error: GitError): void => {
      if (failed) return;
      failed = true;
      child.kill();
      reject(error);
    };

    // "<id> blob <size>" (then the content and a newline), or "<id> missing".
    const onHeader = (line: string): void => {
      const file = files[index];
      if (file === undefined) return fail(new GitError("git cat-file printed more objects than asked for"));
      const [, type, size] = line.split(" ");
      sink.start(file);
      if (size !== undefined && /^\d+$/.test(size)) {
        remaining = Number(size);
        inContent = true;
        return;
      }
      sink.end(type === "missing" ? "the staged content is missing from the repository" : "git cat-file could not read it");
      index++;
    };

    child.stdout.on("data", (data: Buffer) => {
      let at = 0;
      while (at < data.length && !failed) {
        if (inContent && remaining > 0) {
          const take = Math.min(remaining, data.length - at);
          sink.chunk(data.subarray(at, at + take));
          at += take;
          remaining -= take;
        } else if (inContent) {
          at++; // the newline after the content
          inContent = false;
          sink.end();
          index++;
        } else {
          const newline = data.indexOf(0x0a, at);
          header.push(data.subarray(at, newline === -1 ? data.length : newline));
          if (newline === -1) break;
          at = newline + 1;
          const line = Buffer.concat(header).toString("utf8");
          header = [];
          onHeader(line);
        }
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.stdin.on("error", () => {
      // git exited early: its exit code and stderr tell why.
    });
    child.on("error", (error) => fail(new GitError(`could not run git: ${error.message}`)));
    child.on("close", (code) => {
      if (failed) return;
      if (code !== 0) return fail(new GitError(stderr.trim() || `git cat-file exited with ${code}`));
      if (index < files.length) return fail(new GitError("git cat-file stopped before every staged file was read"));
      resolve();
    });
    child.stdin.end(files.map((f) => `${f.blob}\n`).join(""));
  });
}
