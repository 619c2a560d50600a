/**
 * "Identify unused keys" (spec "Monitoring"): keys that still work but were never used, or not
 * since a date. Revoking them shrinks what a leak can expose.
 *
 * @module
 */
import { z } from "zod";
import { ApiKeyError } from "../errors.js";
import type { ApiKeyListItem, ManagerContext } from "./create-key-manager.js";
import { dateSchema, fieldError, parseInput, readInput, refuseUnknownFields } from "./parse-input.js";

/**
 * Input of {@link KeyManager.unused}.
 *
 * @example
 * ```ts
 * import type { UnusedApiKeysInput } from "@fluenzr/api-keys";
 * const input: UnusedApiKeysInput = { accountId: "acc_1", since: new Date(Date.now() - 90 * 864e5) };
 * const idle = await manager.unused(input); // working keys not used in 90 days, never-used ones included
 * await manager.unused({ accountId: "acc_1" }); // without since: keys never used
 * ```
 */
export interface UnusedApiKeysInput {
  accountId: string;
  /**
   * Omitted: keys never used. A date (a Date or an ISO 8601 string, read as `expiresAt` is; not in the future): keys not used at or
   * after it, never-used ones included.
   */
  since?: Date | string | undefined;
}

const unusedSchema = z.object({ since: dateSchema.optional() });

/** `manager.unused`. @internal */
export async function unusedApiKeys(ctx: ManagerContext, given: UnusedApiKeysInput): Promise<ApiKeyListItem[]> {
  if (typeof given !== "object" || given === null) throw fieldError("input", "an object is required");
  const input = readInput(given, ["accountId", "since"]) as unknown as UnusedApiKeysInput;
  const accountId = ctx.requireAccountId(input.accountId);
  refuseUnknownFields(input, ctx.format.head);
  const { since } = parseInput(unusedSchema, input);
  if (since !== undefined && since.getTime() > ctx.clock.now()) {
    throw fieldError("since", "must not be in the future");
  }
  const records = await ctx.store.listByAccount(accountId);
  const out: ApiKeyListItem[] = [];
  for (const record of records) {
    const item = ctx.toItem(record);
    // Revoked and expired keys are already harmless: only keys that still work are worth acting on.
    if (item.status !== "active") continue;
    const last = ctx.lastUsed(record);
    if (last === null || (since !== undefined && last.getTime() < since.getTime())) {
      out.push(last === item.lastUsedAt ? item : { ...item, lastUsedAt: last });
    }
  }
  return out;
}
