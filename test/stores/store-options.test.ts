// Store constructors refuse option names they do not know, as every other entry point does: a
// misspelt option must not silently fall back to its default (a database in memory, the default
// table or prefix).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isApiKeyError } from "../../src/index.js";
import { openPGliteKeyStore, PostgresKeyStore } from "../../src/stores/postgres/index.js";
import { RedisKeyStore } from "../../src/stores/redis/index.js";

function refusal(run: () => unknown): { code: string; field: unknown; message: string } {
  try {
    run();
  } catch (error) {
    if (isApiKeyError(error)) return { code: error.code, field: (error as { field?: unknown }).field, message: error.message };
    throw error;
  }
  throw new Error("accepted");
}

let db: PGlite;
beforeAll(async () => {
  db = await PGlite.create();
});
afterAll(async () => {
  await db?.close();
});

describe("store options", () => {
  it("PostgresKeyStore names an unknown option", () => {
    const r = refusal(() => new PostgresKeyStore({ client: db, tabel: "keys" } as never));
    expect(r).toMatchObject({ code: "INVALID_OPTIONS", field: "tabel" });
    expect(r.message).toContain('"tabel"');
    expect(r.message).toContain("table");
  });

  it("RedisKeyStore names an unknown option (before it looks at the client)", () => {
    const r = refusal(() => new RedisKeyStore({ client: {} as never, prefx: "a:" } as never));
    expect(r).toMatchObject({ code: "INVALID_OPTIONS", field: "prefx" });
  });

  it("openPGliteKeyStore refuses a misspelt dataDir before opening anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fluenzr-options-"));
    try {
      const error: unknown = await openPGliteKeyStore({ dataDr: join(dir, "data") } as never).then(
        async (opened) => {
          await opened.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(isApiKeyError(error) && error.code === "INVALID_OPTIONS" && (error as { field?: unknown }).field === "dataDr").toBe(true);
      const empty: unknown = await openPGliteKeyStore({ dataDir: "" }).then(() => undefined, (e: unknown) => e);
      expect(isApiKeyError(empty) && (empty as { field?: unknown }).field === "dataDir").toBe(true);
      expect(existsSync(join(dir, "data"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
