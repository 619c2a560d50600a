/**
 * The regular expression that finds key candidates in text, including keys broken by line breaks.
 *
 * @module
 */
import { BODY_LENGTH, type KeyFormat } from "../../index.js";

/** Most indentation allowed after a line break inside a key (spaces or tabs). */
export const MAX_INDENT = 40;

// A line break inside a key: LF or CRLF, then the continuation line's indentation.
const BREAK = `(?:\\r?\\n[ \\t]{0,${MAX_INDENT}})?`;
const BREAK_ANYWHERE = new RegExp(`\\r?\\n[ \\t]{0,${MAX_INDENT}}`, "g");

/** Candidate finder for one format. */
export interface KeyPattern {
  /** Global, ASCII-only regex (no `i`/`u` flags): a candidate, possibly with line breaks inside. */
  readonly regex: RegExp;
  /** Longest text one candidate can span, line breaks and indentation included. */
  readonly maxSpan: number;
}

function escapeChar(c: string): string {
  return /[A-Za-z0-9_]/.test(c) ? c : `\\${c}`;
}

/** `text` with an optional line break between any two characters. */
function breakable(text: string): string {
  return [...text].map(escapeChar).join(BREAK);
}

/**
 * Build the candidate regex of `<prefix>_<type>_[<env>_]<32 alphanumerics>`, where a line break
 * (with indentation) may fall between any two characters. Candidates still need `parseApiKey`
 * (the checksum), and for a format without checksum the boundary check (no alphanumeric right
 * before or after).
 *
 * @example
 * ```ts
 * keyPattern(getDefaultKeyFormat()).regex.exec("token: flz_sk_dev_Ab…"); // a candidate
 * ```
 */
export function keyPattern(format: KeyFormat): KeyPattern {
  let pattern = patterns.get(format);
  if (pattern === undefined) patterns.set(format, (pattern = buildPattern(format)));
  return pattern;
}

// Built once per format, not once per scanned file.
const patterns = new WeakMap<KeyFormat, KeyPattern>();

function buildPattern(format: KeyFormat): KeyPattern {
  const envs = format.environments.map(breakable).join("|");
  const env = envs === "" ? "" : `(?:(?:${envs})${BREAK}_${BREAK})?`;
  const body = `[A-Za-z0-9](?:${BREAK}[A-Za-z0-9]){${BODY_LENGTH - 1}}`;
  const regex = new RegExp(`${breakable(format.head)}${BREAK}${env}${body}`, "g");
  const longestEnv = Math.max(0, ...format.environments.map((e) => e.length + 1));
  const chars = format.head.length + longestEnv + BODY_LENGTH;
  return { regex, maxSpan: chars + (chars - 1) * (2 + MAX_INDENT) };
}

/**
 * The candidate with its line breaks and indentation removed.
 *
 * @example
 * ```ts
 * joinBrokenKey("flz_sk_prod_abc\n    def…"); // "flz_sk_prod_abcdef…"
 * ```
 */
export function joinBrokenKey(candidate: string): string {
  return candidate.includes("\n") ? candidate.replace(BREAK_ANYWHERE, "") : candidate;
}
