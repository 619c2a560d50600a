/**
 * A record as a Redis hash: the fields that never change as one JSON value, and the three that do
 * (`lastUsedAt`, `revokedAt`, `revokedReason`) as fields of their own, so the Lua scripts can
 * change them without decoding JSON (cjson would turn an empty metadata array into an object).
 *
 * @module
 */
import type { ApiKeyRecord } from "../../store/key-store.js";

/**
 * The immutable part of a record, as stored in the `record` field: the record without the three
 * changing fields, with its dates as ms since the epoch. @internal
 */
export type StoredFields = Omit<ApiKeyRecord, "createdAt" | "expiresAt" | "lastUsedAt" | "revokedAt" | "revokedReason"> & {
  createdAt: number;
  expiresAt: number | null;
};

function msOrNull(value: string | undefined): Date | null {
  return value === undefined || value === "" ? null : new Date(Number(value));
}

/** @internal A record from HGETALL: an object (ioredis' hgetall) or a flat [field, value, ...] list (from Lua). */
export function toRecord(reply: Record<string, string> | string[] | null): ApiKeyRecord | null {
  if (reply === null) return null;
  let fields: Record<string, string>;
  if (Array.isArray(reply)) {
    fields = {};
    for (let i = 0; i + 1 < reply.length; i += 2) fields[reply[i] as string] = reply[i + 1] as string;
  } else fields = reply;
  if (fields.record === undefined) return null;
  const s = JSON.parse(fields.record) as StoredFields;
  return {
    id: s.id,
    accountId: s.accountId,
    name: s.name,
    hash: s.hash,
    hint: s.hint,
    environment: s.environment,
    permissions: s.permissions,
    createdAt: new Date(s.createdAt),
    createdBy: s.createdBy,
    lastUsedAt: msOrNull(fields.lastUsedAt),
    revokedAt: msOrNull(fields.revokedAt),
    revokedReason: fields.revokedReason ?? null,
    expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt),
    rotatedFromId: s.rotatedFromId,
    metadata: s.metadata,
  };
}
