/**
 * "Verify everything works, then revoke" (spec "Key rotation" step 3) made checkable: is the old
 * key still used since the rotation, and when does its grace end?
 *
 * @module
 */
import { z } from "zod";
import { ApiKeyError } from "../errors.js";
import { isLiveKey } from "../store/key-store.js";
import type { ApiKeyListItem, ManagerContext } from "./create-key-manager.js";
import { fieldError, keyIdSchema, parseInput, readInput, refuseUnknownFields } from "./parse-input.js";
import { endOf, stoppedAt } from "./rotate-api-key.js";

/**
 * Input of {@link KeyManager.rotationStatus}: the id of the key that was rotated out.
 *
 * @example
 * ```ts
 * import type { RotationStatusInput } from "@fluenzr/api-keys";
 * const input: RotationStatusInput = { accountId: "acc_1", id: oldId }; // the id given to rotate
 * const status = await manager.rotationStatus(input); // 404 "API key has not been rotated" otherwise
 * ```
 */
export interface RotationStatusInput {
  accountId: string;
  /** Id of the old key (the `id` given to `rotate`). */
  id: string;
}

/**
 * Where a rotation stands.
 *
 * @example
 * ```ts
 * import type { RotationStatus } from "@fluenzr/api-keys";
 * const status: RotationStatus = await manager.rotationStatus({ accountId: "acc_1", id: oldId });
 * if (status.nextLastUsedAt !== null && !status.previousUsedSinceRotation) {
 *   // Everything moved over: no need to wait for status.graceEndsAt.
 *   await manager.revoke({ accountId: "acc_1", actor, id: oldId });
 * }
 * ```
 */
export interface RotationStatus {
  /** The old key. `status` is `"active"` during the grace period, `"revoked"` after. */
  readonly previous: ApiKeyListItem;
  /** The key that replaced it. */
  readonly next: ApiKeyListItem;
  /** When the rotation happened (the new key's creation). */
  readonly rotatedAt: Date;
  /**
   * When the old key stops (stopped) working: the end of the grace, or its expiry if that comes
   * first; an administrator's revoke may have made it earlier. For a key that was revoked or expired before it was rotated (no grace), the
   * time it stopped. `null` for the moment, inside a rotation, between storing the new key and
   * scheduling the old one's end (then `inGrace` is true).
   */
  readonly graceEndsAt: Date | null;
  /** True while the old key still works. */
  readonly inGrace: boolean;
  /**
   * Last request seen with the old key: the store's last used (accepted requests, written at most
   * once per key per `lastUsedIntervalMs`, 60 s by default, per process), or, when the manager has a
   * `monitor`, the later of that and the monitor's last sighting (accepted or refused, immediate).
   */
  readonly previousLastUsedAt: Date | null;
  /** True when `previousLastUsedAt` is at or after `rotatedAt`: something still sends the old key. */
  readonly previousUsedSinceRotation: boolean;
  /** Last use of the new key, by the same rule. `null`: not used yet. */
  readonly nextLastUsedAt: Date | null;
}

const statusSchema = z.object({ id: keyIdSchema });

/** `manager.rotationStatus`. @internal */
export async function rotationStatus(ctx: ManagerContext, given: RotationStatusInput): Promise<RotationStatus> {
  if (typeof given !== "object" || given === null) throw fieldError("input", "an object is required");
  const input = readInput(given, ["accountId", "id"]) as unknown as RotationStatusInput;
  const accountId = ctx.requireAccountId(input.accountId);
  refuseUnknownFields(input, ctx.format.head);
  const { id } = parseInput(statusSchema, input);
  const old = await ctx.findOwned(accountId, id);
  const successors = (await ctx.store.listByAccount(accountId)).filter((r) => r.rotatedFromId === old.id);
  // At most one live successor (not revoked, or only by its own rotation); others were revoked by
  // a rotation that failed part-way and was retried. List order (creation time, then id, on the
  // creating server's clock) cannot tell them apart: a retry on another server, in the same
  // millisecond or with a clock behind, sorts before the failed attempt. So the live one first.
  const successor = successors.filter(isLiveKey).at(-1) ?? successors.at(-1);
  if (successor === undefined) throw new ApiKeyError("NOT_FOUND", "API key has not been rotated", { status: 404 });
  const now = ctx.clock.now();
  const previousLastUsedAt = ctx.lastUsed(old);
  const stopped = stoppedAt(old, now);
  return {
    previous: ctx.toItem(old),
    next: ctx.toItem(successor),
    rotatedAt: successor.createdAt,
    // Still working: it stops at its scheduled revocation, or at its expiry if that comes first.
    graceEndsAt: stopped ?? (old.revokedAt === null ? null : endOf(old)),
    // Not stopped yet, with a revocation on the way: the grace. Also the moment in a rotation
    // between storing the new key and scheduling the old one's end (a live successor, the old
    // key not revoked yet): the old key works and is on its way out.
    inGrace: stopped === null && (old.revokedAt !== null || isLiveKey(successor)),
    previousLastUsedAt,
    previousUsedSinceRotation: previousLastUsedAt !== null && previousLastUsedAt.getTime() >= successor.createdAt.getTime(),
    nextLastUsedAt: ctx.lastUsed(successor),
  };
}
