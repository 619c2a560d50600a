/**
 * Rows of the keys table, and the records they become.
 *
 * @module
 */
import type { ApiKeyPermissions, ApiKeyRecord } from "../../store/key-store.js";

/** The columns, in the order every query selects them. @internal */
export const COLUMNS: string =
  "id, account_id, name, hash, hint, environment, permissions, created_at, created_by, last_used_at, revoked_at, revoked_reason, expires_at, rotated_from_id, metadata";

const TIME_COLUMNS = new Set(["created_at", "last_used_at", "revoked_at", "expires_at"]);

/**
 * The columns as every query reads them: timestamps as whole milliseconds since the epoch, in
 * text. Read that way they do not depend on the session's settings: a `DateStyle` other than ISO
 * (`SQL, DMY`) made the drivers read dates as null or with day and month swapped, and a time zone
 * with a seconds offset (Africa/Monrovia, before 1972) made PGlite read Invalid Dates. @internal
 */
export const SELECTED: string = COLUMNS.split(", ")
  .map((c) => (TIME_COLUMNS.has(c) ? `round(extract(epoch from ${c}) * 1000)::int8::text AS ${c}` : c))
  .join(", ");

/** A row as both clients return it (timestamps as milliseconds in text; a Date or ISO text also read). @internal */
export interface Row {
  id: string;
  account_id: string;
  name: string;
  hash: string;
  hint: string;
  environment: string | null;
  permissions: string;
  created_at: Date | string;
  created_by: string | null;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
  revoked_reason: string | null;
  expires_at: Date | string | null;
  rotated_from_id: string | null;
  metadata: Record<string, unknown> | string | null;
}

const WHOLE_NUMBER = /^-?\d+$/;

function toDate(value: Date | string | null): Date | null {
  if (value === null) return null;
  if (value instanceof Date) return new Date(value.getTime());
  return new Date(WHOLE_NUMBER.test(value) ? Number(value) : value);
}

/** A row as an ApiKeyRecord (fresh objects: callers get copies). @internal */
export function toRecord(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    hash: row.hash,
    hint: row.hint,
    environment: row.environment,
    permissions: row.permissions as ApiKeyPermissions,
    createdAt: toDate(row.created_at) as Date,
    createdBy: row.created_by,
    lastUsedAt: toDate(row.last_used_at),
    revokedAt: toDate(row.revoked_at),
    revokedReason: row.revoked_reason,
    expiresAt: toDate(row.expires_at),
    rotatedFromId: row.rotated_from_id,
    // Both clients parse jsonb; a string here means a custom type parser turned that off.
    metadata: typeof row.metadata === "string" ? (JSON.parse(row.metadata) as Record<string, unknown>) : row.metadata,
  };
}
