/**
 * Reading a file in fixed-size chunks with one reused buffer: memory stays flat whatever the
 * file size, and no per-chunk allocation slows a 100 MB tree.
 *
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";

/** Bytes read per call. */
export const CHUNK_SIZE = 1 << 20;

let shared: Buffer | undefined;

/**
 * Feed the file's bytes to `onChunk`, in order. The chunk is only valid during the call
 * (the buffer is reused), which suits the scanner: it decodes each chunk at once.
 *
 * @example
 * ```ts
 * readFileChunks("big.log", (chunk) => scanner.push(chunk));
 * ```
 */
export function readFileChunks(path: string, onChunk: (chunk: Uint8Array) => void): void {
  const buffer = (shared ??= Buffer.allocUnsafe(CHUNK_SIZE));
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      onChunk(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}
