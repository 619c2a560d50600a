/**
 * Rotation (docs/key-management.md): generate a new key with the old one's settings, keep
 * the old one working for a grace period, then it stops by itself. The grace is a revocation
 * scheduled in the future (`store.revoke(id, { at: now + grace, reason: "rotated" })`): stores keep
 * the earliest revocation time, so an administrator's later revoke can only cut the grace short.
 *
 * A key that already stopped working (revoked by `revoke`, or expired) can be replaced as well
 * (revoke, then rotate): the new key gets its settings and the old record is left
 * exactly as it is, so its revocation time never moves. A key is replaced at most once: one that
 * was rotated already (it has a successor) is 409 `CONFLICT`.
 *
 * @module
 */
import { z } from "zod";
import { revokedAtTime } from "../auth/revoked.js";
import { ApiKeyError, isApiKeyError } from "../errors.js";
import { isLiveKey, MAX_STORED_TIME, type ApiKeyRecord } from "../store/key-store.js";
import type { ApiKeyListItem, CreatedApiKey, KeyManagerActor, ManagerContext } from "./create-key-manager.js";
import { fieldError, nullableDateSchema, keyIdSchema, parseInput, readInput, refuseUnknownFields } from "./parse-input.js";

/**
 * Longest grace period `rotate` accepts: 30 days. Longer overlaps defeat the point of rotating.
 *
 * @example
 * ```ts
 * import { MAX_GRACE_PERIOD_MS } from "@fluenzr/api-keys";
 * await manager.rotate({ accountId, actor, id, gracePeriodMs: Math.min(requested, MAX_GRACE_PERIOD_MS) });
 * ```
 */
export const MAX_GRACE_PERIOD_MS = 30 * 24 * 3600 * 1000;

/**
 * Input of {@link KeyManager.rotate}.
 *
 * @example
 * ```ts
 * import type { RotateApiKeyInput } from "@fluenzr/api-keys";
 * const input: RotateApiKeyInput = {
 *   accountId: "acc_1", actor, id: "key_8Jd…",
 *   gracePeriodMs: 24 * 3600_000, // the old key works one more day; default 0 (stops now)
 *   expiresAt: null,              // the new key never expires; omitted: the old key's lifetime again
 * };
 * const { key, graceEndsAt } = await manager.rotate(input);
 * ```
 */
export interface RotateApiKeyInput {
  accountId: string;
  actor: KeyManagerActor;
  /** Id of the key to replace. */
  id: string;
  /**
   * How long the old key keeps working, in ms: 0 (the default) stops it now; at most
   * {@link MAX_GRACE_PERIOD_MS}. The end is a time on this server's clock, kept exactly by every
   * server (a grace is never cut short), so a server whose clock runs behind by a few seconds
   * accepts the old key for those seconds more; `revoke` allows for that (see docs/key-management.md).
   */
  gracePeriodMs?: number | undefined;
  /**
   * Expiry of the new key. Omitted: the old key's lifetime again, counted from now (a key created
   * for 90 days gets a fresh 90 days; one that never expired never expires). `null`: never expires.
   * A date (a Date or an ISO 8601 string, read as `create` reads it): that time, which must be in the future and at most 9999-12-31. A lifetime carried over
   * is capped at 9999-12-31 too.
   */
  expiresAt?: Date | string | null | undefined;
}

/**
 * The result of a rotation: the new key (plaintext shown once) and the old key's row.
 *
 * @example
 * ```ts
 * import type { RotatedApiKey } from "@fluenzr/api-keys";
 * const rotated: RotatedApiKey = await manager.rotate({ accountId: "acc_1", actor, id, gracePeriodMs: 3600_000 });
 * rotated.key;                  // the new plaintext: show it once
 * rotated.record.rotatedFromId; // === id: the key it replaced
 * rotated.previous.status;      // "active": the old key works until graceEndsAt
 * rotated.graceEndsAt;          // in an hour, then the old key stops by itself
 * ```
 */
export interface RotatedApiKey extends CreatedApiKey {
  /** The old key as stored after the rotation; its `revokedAt` is when it stops working. */
  readonly previous: ApiKeyListItem;
  /**
   * When the old key stops (stopped) working. For a working key: now plus the grace period, or
   * earlier if it expires before that (its `expiresAt`) or was already scheduled to be revoked
   * sooner. For a key that had already stopped
   * (revoked or expired) no grace applies: the time it stopped, its `revokedAt` or `expiresAt`
   * (the earlier of the two), which is never after the rotation.
   */
  readonly graceEndsAt: Date;
}

const rotateSchema = z.object({
  id: keyIdSchema,
  gracePeriodMs: z
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(0, "must be 0 or more")
    .max(MAX_GRACE_PERIOD_MS, `must be at most ${MAX_GRACE_PERIOD_MS} (30 days)`)
    .optional(),
  expiresAt: nullableDateSchema.optional(),
});

/** Ids being rotated in this process: a second rotation of the same key meanwhile is refused with 409. */
const inFlight = new WeakMap<ManagerContext, Set<string>>();

/** The new key's expiry per the documented policy. */
function nextExpiry(old: ApiKeyRecord, requested: Date | null | undefined, now: number): Date | null {
  if (requested === null) return null;
  if (requested !== undefined) {
    if (requested.getTime() <= now) {
      throw fieldError("expiresAt", "must be in the future");
    }
    if (requested.getTime() > MAX_STORED_TIME) throw fieldError("expiresAt", "must be at most 9999-12-31");
    return requested;
  }
  if (old.expiresAt === null) return null;
  const lifetime = old.expiresAt.getTime() - old.createdAt.getTime();
  // A lifetime of zero or less can only come from a hand-made record: keep the key usable for a day rather than dead on arrival.
  // Capped at the latest time a store keeps (a key made to last "forever" with a far expiry).
  return new Date(Math.min(MAX_STORED_TIME, now + (lifetime > 0 ? lifetime : 24 * 3600 * 1000)));
}

/**
 * When the key stopped working, if it has by `now`: the earlier of a past revocation and a past
 * expiry; `null` while it still works (a revocation scheduled in the future does not count yet).
 * @internal
 */
export function stoppedAt(record: ApiKeyRecord, now: number): Date | null {
  // The authenticator's rule (clock skew allowed for revocations that are not a rotation's grace).
  const revoked = revokedAtTime(record, now) ? record.revokedAt : null;
  const expired = record.expiresAt !== null && record.expiresAt.getTime() <= now ? record.expiresAt : null;
  if (revoked === null) return expired;
  if (expired === null) return revoked;
  return expired.getTime() < revoked.getTime() ? expired : revoked;
}

/**
 * When a key that still works will stop by itself: the earlier of its scheduled revocation and its
 * expiry, or `null` if it has neither. @internal
 */
export function endOf(record: ApiKeyRecord): Date | null {
  const { revokedAt, expiresAt } = record;
  if (revokedAt === null) return expiresAt;
  if (expiresAt === null) return revokedAt;
  return expiresAt.getTime() < revokedAt.getTime() ? expiresAt : revokedAt;
}

const ALREADY_ROTATED = "API key was already rotated; rotate its replacement instead";

/**
 * Refuse a key that was rotated already: one that has a live successor (not revoked, or only by
 * its own rotation's grace), or that an administrator scheduled for revocation. Resolves with the
 * time the key stopped working, or `null` if it still works.
 *
 * A key whose rotation failed part-way may carry that rotation's revocation (a schedule that
 * answered after its time limit) while the successor it was made for was revoked again, since
 * nobody was given its plaintext. No live successor: rotating it again is allowed, so retrying a
 * failed rotation is always possible. The key's revocation is never moved later by that.
 */
async function requireRotatable(ctx: ManagerContext, record: ApiKeyRecord, now: number): Promise<Date | null> {
  const scheduled = record.revokedAt !== null && !revokedAtTime(record, now);
  if (scheduled && record.revokedReason !== "rotated") {
    throw new ApiKeyError("CONFLICT", "API key is already scheduled for revocation", { status: 409 });
  }
  const stopped = stoppedAt(record, now);
  // A working key with no rotation on record has no successor (the store refuses a second live
  // one, so a concurrent rotation elsewhere is caught at insert): no list to read.
  if (!scheduled && stopped === null && record.revokedReason !== "rotated") return null;
  const successors = await ctx.store.listByAccount(record.accountId);
  const live = successors.some((r) => r.rotatedFromId === record.id && isLiveKey(r));
  if (live) {
    throw new ApiKeyError(
      "CONFLICT",
      scheduled ? "API key is already scheduled for revocation (rotated); rotate its replacement instead" : ALREADY_ROTATED,
      { status: 409 },
    );
  }
  return scheduled ? null : stopped;
}

/** `manager.rotate`. @internal */
export async function rotateApiKey(ctx: ManagerContext, given: RotateApiKeyInput): Promise<RotatedApiKey> {
  if (typeof given !== "object" || given === null) throw fieldError("input", "an object is required");
  const input = readInput(given, ["accountId", "actor", "id", "gracePeriodMs", "expiresAt"]) as unknown as RotateApiKeyInput;
  // Administrator first: a non-administrator learns nothing about the other fields.
  const createdBy = ctx.requireAdmin(input.actor);
  const accountId = ctx.requireAccountId(input.accountId);
  await ctx.requireApiPlan(accountId);
  refuseUnknownFields(input, ctx.format.head);
  const fields = parseInput(rotateSchema, input);

  let busy = inFlight.get(ctx);
  if (busy === undefined) inFlight.set(ctx, (busy = new Set()));
  if (busy.has(fields.id)) throw new ApiKeyError("CONFLICT", "API key is already being rotated", { status: 409 });
  busy.add(fields.id);
  try {
    const old = await ctx.findOwned(accountId, fields.id);
    // The successor keeps the old key's environment: a tag this manager's format no longer has
    // (a format changed since, a tag dropped from its set) cannot be kept. A 4xx saying so, not
    // the 503 of a store fault that retrying would never cure.
    if (old.environment !== null && !ctx.format.environments.includes(old.environment)) {
      throw new ApiKeyError(
        "VALIDATION_ERROR",
        `Invalid environment: the key's environment is not one of this manager's format (${ctx.format.environments.join(", ") || "none"}); create a new key instead`,
        { status: 400, field: "environment" },
      );
    }
    const now = ctx.clock.now();
    const stopped = await requireRotatable(ctx, old, now);
    const { key, record } = ctx.newRecord({
      accountId,
      name: old.name,
      environment: old.environment,
      permissions: old.permissions,
      createdBy,
      expiresAt: nextExpiry(old, fields.expiresAt, now),
      rotatedFromId: old.id,
      metadata: old.metadata,
    });
    // New key first: if storing it fails, the old key is untouched and nothing is lost.
    try {
      await ctx.store.insert(record);
    } catch (error) {
      // The store refused a second live successor (CONFLICT): another server's rotation of this
      // key, which read it at the same time, got its successor in first. The in-process guard
      // above cannot see other servers; the store's check-and-insert is what makes it one.
      if (isApiKeyError(error) && isApiKeyError(error.cause) && error.cause.code === "CONFLICT") {
        throw new ApiKeyError("CONFLICT", ALREADY_ROTATED, { status: 409, cause: error.cause });
      }
      throw error;
    }
    // Already revoked or expired: nothing to schedule, and the old record stays exactly as it is
    // (a revocation is never moved, an expired key never revived). No grace applies.
    if (stopped !== null) return { key, record, previous: ctx.toItem(old), graceEndsAt: stopped };
    const graceEndsAt = new Date(now + (fields.gracePeriodMs ?? 0));
    let previous: ApiKeyRecord | null;
    try {
      previous = await ctx.store.revoke(old.id, { at: graceEndsAt, reason: "rotated" });
      if (previous === null) throw new ApiKeyError("NOT_FOUND", "API key not found", { status: 404 });
    } catch (error) {
      // The caller never sees the new plaintext, so the new key must not stay usable.
      await ctx.store.revoke(record.id, { at: new Date(now), reason: "revoked" }).catch(() => null);
      throw error;
    }
    return { key, record, previous: ctx.toItem(previous), graceEndsAt: endOf(previous) ?? graceEndsAt };
  } finally {
    busy.delete(fields.id);
  }
}
