/**
 * Skipping binary content: like Git, a NUL byte in the first 8000 bytes means binary.
 *
 * @module
 */
import type { KeyScanner } from "./key-scanner.js";

/** Bytes looked at to decide (Git's own heuristic uses the same amount). */
export const BINARY_SNIFF_BYTES = 8000;

/** A scanner that first decides whether the stream is binary, and if so drops it. */
export interface GuardedScanner extends KeyScanner {
  /** True once the stream was found to be binary (nothing of it is scanned). */
  readonly binary: boolean;
}

/**
 * Wrap a scanner: hold chunks until 8000 bytes (or the end) are seen; a NUL among them marks the
 * stream binary and drops it, otherwise everything flows through.
 *
 * @example
 * ```ts
 * const scan = guardBinary(createKeyScanner({ onFinding }));
 * scan.push(chunk); scan.end();
 * if (scan.binary) skipped++;
 * ```
 */
export function guardBinary(scanner: KeyScanner): GuardedScanner {
  let pending: Uint8Array[] | undefined = [];
  let seen = 0;
  let binary = false;
  const decide = (): void => {
    const held = pending ?? [];
    pending = undefined;
    let checked = 0;
    for (const chunk of held) {
      const part = chunk.subarray(0, BINARY_SNIFF_BYTES - checked);
      if (part.includes(0)) binary = true;
      checked += part.length;
      if (checked >= BINARY_SNIFF_BYTES) break;
    }
    if (!binary) for (const chunk of held) scanner.push(chunk);
  };
  return {
    get binary() {
      return binary;
    },
    push(chunk) {
      if (binary) return;
      if (pending === undefined) return scanner.push(chunk);
      // Held chunks are copied: callers may reuse their buffer (readFileChunks does).
      pending.push(seen === 0 && chunk.length >= BINARY_SNIFF_BYTES ? chunk : chunk.slice());
      seen += chunk.length;
      if (seen >= BINARY_SNIFF_BYTES) decide();
    },
    end() {
      if (pending !== undefined) decide();
      if (!binary) scanner.end();
    },
  };
}
