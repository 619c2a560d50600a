/**
 * What a command talks to: output streams, stdin, environment, working directory. Passed in so
 * commands hold no process globals.
 *
 * @module
 */
import { UsageError } from "./usage-error.js";

/** The process around a command. */
export interface CliIo {
  /** Write to stdout (results). */
  out(text: string): void;
  /** Write to stderr (messages, warnings, summaries). */
  err(text: string): void;
  /** Standard input. */
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** Environment variables. */
  readonly env: NodeJS.ProcessEnv;
  /** Working directory. */
  readonly cwd: string;
}

/** The real process; `closeOut()` once stdout's reader has gone (further results are dropped). */
export function processIo(): CliIo & { closeOut(): void } {
  let outOpen = true;
  return {
    out: (text) => {
      if (outOpen) process.stdout.write(text);
    },
    closeOut: () => {
      outOpen = false;
    },
    err: (text) => void process.stderr.write(text),
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}

// A key is at most 256 characters (MAX_KEY_LENGTH); stdin beyond a few KiB is not a key.
const KEY_INPUT_LIMIT = 4096;

/**
 * Read one key from stdin: the whole input, less one trailing line ending. More than one line,
 * or nothing, is a usage error. The text is returned, never printed.
 *
 * @example
 * ```ts
 * const key = await readKeyFromStdin(io, "check"); // echo "$KEY" | fluenzr-keys check
 * ```
 */
export async function readKeyFromStdin(io: CliIo, command: string): Promise<string> {
  if (io.stdin.isTTY) io.err("Paste the key, then press Enter and Ctrl-D:\n");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > KEY_INPUT_LIMIT) throw new UsageError(`stdin holds more than ${KEY_INPUT_LIMIT} bytes: expected one key`, command);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  if (text === "") throw new UsageError("no key on stdin", command);
  if (text.includes("\n")) throw new UsageError("stdin holds more than one line: expected one key", command);
  return text;
}
