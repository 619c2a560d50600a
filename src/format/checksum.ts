/**
 * CRC-32 (IEEE 802.3, as in zlib) over ASCII strings, written as 6 base62 digits.
 *
 * @module
 */
import { ALPHABET } from "../lib/random.js";

let table: Int32Array | undefined;

/** The CRC-32 table, built on first use; for loops that hoist it. @internal */
export function crcTable(): Int32Array {
  if (table) return table;
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return (table = t);
}

/** Feed `text` (char codes below 256) into a running CRC state. Start with `0xffffffff`. @internal */
export function crc32Update(state: number, text: string): number {
  const t = crcTable();
  let c = state;
  for (let i = 0; i < text.length; i++) c = (t[(c ^ text.charCodeAt(i)) & 0xff] as number) ^ (c >>> 8);
  return c;
}

/** Feed one char code into a running CRC state. @internal */
export function crc32UpdateCode(state: number, code: number): number {
  return ((crcTable()[(state ^ code) & 0xff] as number) ^ (state >>> 8)) | 0;
}

/** Finish a CRC state into the unsigned CRC-32 value. @internal */
export function crc32Final(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

/** CRC-32 of a string of char codes below 256. @internal */
export function crc32(text: string): number {
  return crc32Final(crc32Update(0xffffffff, text));
}

/** Length of the checksum in characters: 62^6 > 2^32, so every CRC has its own 6 digits. */
export const CHECKSUM_LENGTH = 6;

/** An unsigned 32-bit value as 6 base62 digits, zero-padded. @internal */
export function base62Checksum(value: number): string {
  let v = value;
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}
