/**
 * `fluenzr-keys scan`: find leaked keys in files, folders, stdin, or what git is about to commit.
 *
 * @module
 */
import type { KeyFormat } from "../../index.js";
import type { CliCommand } from "../command.js";
import { FORMAT_FLAGS, formatFromFlags } from "../format-flags.js";
import type { CliIo } from "../io.js";
import { guardBinary } from "../scan/binary-guard.js";
import { createKeyScanner, type KeyFinding } from "../scan/key-scanner.js";
import { readFileChunks } from "../scan/read-file-chunks.js";
import { GitError, listStagedFiles, readStagedBlobs } from "../scan/staged-files.js";
import { describeFsError, walkFiles } from "../scan/walk-files.js";
import { displayPath, jsonText, pathOrPlaceholder, safeText } from "../redact.js";
import { UsageError } from "../usage-error.js";

/** Running totals of one scan. */
interface Tally {
  keys: number;
  filesWithKeys: number;
  files: number;
  binary: number;
  bytes: number;
  problems: number;
}

/** One file (or stdin) being scanned: bytes in, findings printed as they are confirmed. */
interface SourceScan {
  push(chunk: Uint8Array): void;
  /** The source ended; `problem` says why it could not be read to its end, if so. */
  end(problem?: string): void;
}

function openSource(path: string, io: CliIo, json: boolean, tally: Tally, format: KeyFormat): SourceScan {
  const name = displayPath(path, format);
  const file = pathOrPlaceholder(path, format);
  let found = 0;
  const report = (f: KeyFinding): void => {
    found++;
    if (json) io.out(`${jsonText({ file, line: f.line, endLine: f.endLine, hint: f.hint, environment: f.environment })}\n`);
    else io.out(`${name}:${f.line}: ${f.hint}${f.endLine > f.line ? ` (split across lines ${f.line}-${f.endLine})` : ""}\n`);
  };
  const scanner = guardBinary(createKeyScanner({ onFinding: report, format }));
  return {
    push(chunk) {
      tally.bytes += chunk.length;
      scanner.push(chunk);
    },
    end(problem) {
      if (problem !== undefined) {
        tally.problems++;
        io.err(`fluenzr-keys scan: cannot read ${name}: ${problem}\n`);
      }
      scanner.end(); // after a read error too: keys in the part that was read still count
      if (problem === undefined) {
        if (scanner.binary) tally.binary++;
        else tally.files++;
      }
      tally.keys += found;
      if (found > 0) tally.filesWithKeys++;
    },
  };
}

/** Scan one source, fed by `feed`. */
async function scanSource(
  name: string,
  feed: (push: (chunk: Uint8Array) => void) => void | Promise<void>,
  io: CliIo,
  json: boolean,
  tally: Tally,
  format: KeyFormat,
): Promise<void> {
  const source = openSource(name, io, json, tally, format);
  let problem: string | undefined;
  try {
    await feed((chunk) => source.push(chunk));
  } catch (error) {
    problem = describeFsError(error);
  }
  source.end(problem);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** `scan [paths... | -] [--staged] [--json]`. */
export const scanCommand: CliCommand = {
  name: "scan",
  summary: "Find leaked API keys in files, folders, stdin or the staged changes of a git commit.",
  usage: ["fluenzr-keys scan [--json] [<path>... | -]", "fluenzr-keys scan --staged [--json]"],
  flags: [
    { name: "staged", description: "scan what git is about to commit (the staged version of each file)" },
    { name: "json", description: "print one JSON object per key found: file, line, endLine, hint, environment" },
    ...FORMAT_FLAGS,
  ],
  details: `Folders are scanned recursively (default: the current folder), skipping node_modules,
.git, symbolic links inside folders, and binary files (a NUL byte in the first 8000 bytes).
"-" reads stdin; a path that is not a folder is read as it is (a file, or a pipe: scan <(cmd)).
Keys are confirmed by their checksum, so look-alike strings are not reported
(with --no-checksum every string of the format's shape is).
A key broken by line breaks (LF or CRLF, each followed by up to 40 spaces or tabs of
indentation) is found too, and reported at the line where it starts.

Each key is printed as file:line and its hint (prefix and last 4 characters), never the key.

Exit codes: 0 no key found, 1 key(s) found, 2 usage error or a path that could not be read.

Git pre-commit hook (.git/hooks/pre-commit, or husky's .husky/pre-commit):
  npx fluenzr-keys scan --staged
CI step:
  npx fluenzr-keys scan .`,
  async run(args, io) {
    const staged = args.switches.has("staged");
    const json = args.switches.has("json");
    const format = formatFromFlags(args, "scan");
    if (staged && args.positionals.length > 0) {
      throw new UsageError('"--staged" scans the staged files; it takes no paths', "scan");
    }
    if (args.positionals.filter((p) => p === "-").length > 1) throw new UsageError('"-" (stdin) given twice', "scan");
    const tally: Tally = { keys: 0, filesWithKeys: 0, files: 0, binary: 0, bytes: 0, problems: 0 };
    const started = performance.now();

    if (staged) {
      let listing;
      try {
        listing = listStagedFiles(io.cwd);
      } catch (error) {
        if (error instanceof GitError) throw new UsageError(`"--staged" needs a git repository: ${error.message}`, "scan");
        throw error;
      }
      let current: SourceScan | undefined;
      try {
        await readStagedBlobs(listing.root, listing.files, {
          start: (file) => (current = openSource(file.path, io, json, tally, format)),
          chunk: (bytes) => current?.push(bytes),
          end: (problem) => {
            current?.end(problem);
            current = undefined;
          },
        });
      } catch (error) {
        if (!(error instanceof GitError)) throw error;
        current?.end(error.message);
        tally.problems++;
        io.err(`fluenzr-keys scan: cannot read the staged files: ${safeText(error.message)}\n`);
      }
    } else {
      const targets = args.positionals.length > 0 ? args.positionals : ["."];
      for (const target of targets) {
        if (target === "-") {
          await scanSource("<stdin>", async (push) => {
            for await (const chunk of io.stdin) push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array));
          }, io, json, tally, format);
          continue;
        }
        const onProblem = (p: { path: string; message: string }): void => {
          tally.problems++;
          io.err(`fluenzr-keys scan: cannot read ${displayPath(p.path, format)}: ${p.message}\n`);
        };
        for (const file of walkFiles(target, onProblem)) {
          await scanSource(file, (push) => readFileChunks(file, push), io, json, tally, format);
        }
      }
    }

    const seconds = (performance.now() - started) / 1000;
    const scanned = `${plural(tally.files, "file")} scanned (${(tally.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s)` +
      (tally.binary > 0 ? `, ${tally.binary} binary skipped` : "");
    if (tally.keys > 0) {
      io.err(
        `fluenzr-keys scan: ${plural(tally.keys, "API key")} found in ${plural(tally.filesWithKeys, "file")}; ${scanned}.\n` +
          "Remove keys from files: load them from the environment or a secrets manager.\n" +
          "A key that was ever committed, pushed or shared must be revoked and replaced.\n",
      );
      return 1;
    }
    io.err(`fluenzr-keys scan: no API keys found; ${scanned}.\n`);
    return tally.problems > 0 ? 2 : 0;
  },
};
