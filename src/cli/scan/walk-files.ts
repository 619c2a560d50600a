/**
 * Listing the files under the paths given to `scan`.
 *
 * @module
 */
import { lstatSync, readdirSync, statSync, type Dirent } from "node:fs";
import { join } from "node:path";

/** Folder names never entered: dependencies and Git's own database. */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(["node_modules", ".git"]);

/** A path that could not be listed or read. */
export interface WalkProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Yield the regular files under `root` in name order, depth first, or `root` itself when it is not
 * a folder (a file, a pipe, a FIFO). Folders named `node_modules` or `.git` are skipped; symbolic
 * links inside folders are not followed (no loops, no scanning outside the tree); a link given on
 * the command line is.
 *
 * @example
 * ```ts
 * for (const file of walkFiles("src", (p) => console.error(p.message))) scanFile(file);
 * ```
 */
export function* walkFiles(root: string, onProblem: (problem: WalkProblem) => void): Generator<string> {
  let stat;
  try {
    stat = statSync(root);
  } catch (error) {
    onProblem({ path: root, message: describeFsError(error) });
    return;
  }
  if (stat.isDirectory()) yield* walkDirectory(root, onProblem);
  // Anything else named on the command line is read as it is: a file, or a pipe such as
  // `scan <(git show HEAD:config.env)` (/dev/fd/63) or a FIFO. Skipping those silently would
  // report "no API keys found" for content that was never read.
  else yield root;
}

function* walkDirectory(dir: string, onProblem: (problem: WalkProblem) => void): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    onProblem({ path: dir, message: describeFsError(error) });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (SKIPPED_DIRECTORIES.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkDirectory(path, onProblem);
    else if (entry.isFile()) yield path;
    else if (isUnknownType(entry)) {
      // Some file systems report no type in directory listings: ask lstat (links stay unfollowed).
      let type;
      try {
        type = lstatSync(path);
      } catch (error) {
        onProblem({ path, message: describeFsError(error) });
        continue;
      }
      if (type.isDirectory()) yield* walkDirectory(path, onProblem);
      else if (type.isFile()) yield path;
    }
  }
}

function isUnknownType(entry: Dirent): boolean {
  return !(entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice());
}

const FS_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "is a folder",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "name too long",
  EMFILE: "too many open files",
  ENFILE: "too many open files",
  EIO: "input/output error",
  EBUSY: "busy",
};

/**
 * "no such file or directory" from an fs error: fixed words per error code, never the error's own
 * message, which repeats the path (and a path may hold a key: `scan "dir/flz_sk_…"`).
 */
export function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return FS_ERRORS[code] ?? `cannot be read (${code.replace(/[^A-Z0-9_]/g, "")})`;
  return "cannot be read";
}
