/**
 * DESIGN §5 over real HTTP: the shared header table, sent byte for byte through a raw socket to
 * Express 5, Express 4, Fastify and Hono (on @hono/node-server). Every adapter must give the
 * same status, body and challenge for every row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFixture, type Fixture } from "./helpers/fixture.js";
import { EXPECTED, HEADER_CASES } from "./helpers/header-cases.js";
import { rawRequest, requestBytes } from "./helpers/raw-http.js";
import { ADAPTERS, startServer, type RunningServer } from "./helpers/servers.js";

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});

it("the shared table has at least 50 header cases", () => {
  expect(HEADER_CASES.length).toBeGreaterThanOrEqual(50);
});

describe.each(ADAPTERS)("%s over HTTP", (adapter) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(adapter, fixture);
  });
  afterAll(async () => {
    await server.close();
  });

  it.each(HEADER_CASES.map((c) => [c.name, c] as const))("%s", async (_name, row) => {
    const k = fixture.keys;
    const method = row.method ?? "GET";
    const path = typeof row.path === "function" ? row.path(k) : (row.path ?? "/v1/contacts");
    const bytes = requestBytes(method, path, row.lines(k), row.encoding, row.version);
    const res = await rawRequest(server.port, bytes);
    const want = EXPECTED[row.expect];
    expect(res.status).toBe(want.status);

    if (row.expect === "parser-400" || row.expect === "parser-431") {
      // Refused by Node before the app: whatever the body, it never carries a key.
      expect(res.body).not.toContain("keyId");
      return;
    }
    if (row.expect === "ok" || row.expect === "open") {
      expect(res.headers["www-authenticate"]).toBeUndefined();
      if (method === "HEAD") return;
      const expected = row.expect === "open" ? { ok: true } : { keyId: fixture.ids[row.keyName ?? "pro"] };
      expect(JSON.parse(res.body)).toEqual(expected);
      return;
    }
    // The envelope: exact body, JSON content type, the challenge or none, Retry-After on 503.
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.body).toBe(JSON.stringify({ success: false, error: { code: want.code, message: want.message } }));
    if (want.challenge === null) expect(res.headers["www-authenticate"]).toBeUndefined();
    else expect(res.headers["www-authenticate"]).toBe(want.challenge);
    if (row.expect === "unavailable") expect(res.headers["retry-after"]).toBe("1");
  });
});
