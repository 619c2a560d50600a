/**
 * Finding keys in a byte stream, chunk by chunk, with bounded memory.
 *
 * Bytes are decoded as Latin-1 (one char per byte), so offsets are byte offsets, the ASCII regex
 * sees every byte, and any non-ASCII byte counts as a boundary. Each round keeps the last
 * `maxSpan + 1` characters for the next one, so a key that straddles two chunks is found once.
 *
 * @module
 */
import { getDefaultKeyFormat, parseApiKey, type KeyFormat } from "../../index.js";
import { joinBrokenKey, keyPattern } from "./key-pattern.js";

/** A key found in a stream. Carries its hint, never the key. */
export interface KeyFinding {
  /** 1-based line where the key starts. */
  readonly line: number;
  /** 1-based line where it ends: greater than `line` when line breaks split the key. */
  readonly endLine: number;
  /** Display hint, e.g. `flz_sk_prod_…Xy4z`. */
  readonly hint: string;
  /** The environment tag, or `null`. */
  readonly environment: string | null;
}

/** Push bytes in, then `end()`; findings arrive through `onFinding`, in order. */
export interface KeyScanner {
  push(chunk: Uint8Array): void;
  end(): void;
}

/** Options of {@link createKeyScanner}. */
export interface KeyScannerOptions {
  /** Called once per confirmed key. */
  onFinding(finding: KeyFinding): void;
  /** The key format. Default: the package's default format. */
  format?: KeyFormat | undefined;
  /** Bytes gathered before each search, beyond the carried tail. Default 1 MiB; tests use 1 to hit every boundary. */
  roundSize?: number | undefined;
}

// Text is searched once it holds this much beyond the carried tail (fewer, larger regex runs).
const ROUND_SIZE = 1 << 20;

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

// An escaped line break or tab just before a key (`"a\\nflz_sk_…"` in JSON, a log line, a
// quoted .env) separates it from the text before, though `n`, `r` and `t` are letters.
function isEscapeBoundary(prev: number, beforePrev: number): boolean {
  return beforePrev === 92 && (prev === 110 || prev === 114 || prev === 116);
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * A streaming key finder: candidates from the ASCII regex, each confirmed by `parseApiKey` (so
 * look-alikes with a bad checksum are dropped); for a format without checksum, only candidates
 * bounded by non-alphanumerics.
 *
 * @example
 * ```ts
 * const scanner = createKeyScanner({ onFinding: (f) => console.log(f.line, f.hint) });
 * for await (const chunk of stream) scanner.push(chunk);
 * scanner.end();
 * ```
 */
export function createKeyScanner(options: KeyScannerOptions): KeyScanner {
  const format = options.format ?? getDefaultKeyFormat();
  const { regex: pattern, maxSpan } = keyPattern(format);
  const regex = new RegExp(pattern.source, pattern.flags); // own lastIndex per scanner
  const keep = maxSpan + 1;
  const roundSize = options.roundSize ?? ROUND_SIZE;
  let text = ""; // the carried tail plus new bytes
  let base = 0; // absolute offset of text[0]
  let before = -1; // char code just before text[0]; -1 at the start of the stream
  let beforePrev = -1; // and the one before that
  let line = 1; // line number at absolute offset `lineAt`
  let lineAt = 0;
  let consumedUntil = 0; // end of the last reported key: no candidate may start inside it

  const lineOf = (abs: number): number => {
    line += countNewlines(text, lineAt - base, abs - base);
    lineAt = abs;
    return line;
  };

  const search = (final: boolean): void => {
    // Candidates starting at or after `limit` wait for more bytes: they may be cut off.
    const limit = final ? text.length : text.length - keep;
    if (limit <= 0) return;
    regex.lastIndex = Math.max(0, consumedUntil - base);
    for (let m = regex.exec(text); m !== null && m.index < limit; m = regex.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      const prev = start === 0 ? before : text.charCodeAt(start - 1);
      const prevPrev = start === 0 ? beforePrev : start === 1 ? before : text.charCodeAt(start - 2);
      const next = end < text.length ? text.charCodeAt(end) : -1;
      // With a checksum, a candidate that passes it is a key whatever is glued to it (`%22flz_sk_…`,
      // `\u0022flz_sk_…`, a key pasted into a longer token): only a format without one needs
      // the boundaries to tell a key from part of a longer run.
      const glued = !format.checksum && ((isAlnum(prev) && !isEscapeBoundary(prev, prevPrev)) || isAlnum(next));
      const parsed = glued ? undefined : parseApiKey(joinBrokenKey(m[0]), { format });
      if (parsed === undefined || !parsed.ok) {
        regex.lastIndex = start + 1;
        continue;
      }
      const startLine = lineOf(base + start);
      options.onFinding({
        line: startLine,
        endLine: startLine + countNewlines(m[0], 0, m[0].length),
        hint: parsed.hint,
        environment: parsed.environment,
      });
      consumedUntil = base + end;
    }
    if (final) return;
    lineOf(base + limit);
    beforePrev = limit >= 2 ? text.charCodeAt(limit - 2) : before;
    before = text.charCodeAt(limit - 1);
    text = text.slice(limit);
    base += limit;
  };

  return {
    push(chunk) {
      if (chunk.length === 0) return;
      text += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
      if (text.length >= keep + roundSize) search(false);
    },
    end() {
      search(true);
      text = "";
    },
  };
}
