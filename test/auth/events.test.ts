import { describe, expect, it } from "vitest";
import { createApiKeyAuth, generateApiKey, isApiKeyError, MemoryKeyStore, type ApiKeyAuthEvent } from "../../src/index.js";
import { makeWorld } from "../support/world.js";

describe("events: one per outcome, never the key (DESIGN §8)", () => {
  it("a success event carries reason, key id, hint, account, ip, user agent, method, path and time", async () => {
    const w = await makeWorld();
    await w.auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET", ip: "203.0.113.9", userAgent: "curl/8", path: "/v1/contacts" });
    expect(w.events).toEqual([
      {
        ok: true,
        reason: "ok",
        status: 200,
        keyId: w.records.prod.id,
        hint: w.records.prod.hint,
        accountId: "acc_pro",
        revokedReason: null,
        ip: "203.0.113.9",
        userAgent: "curl/8",
        method: "GET",
        path: "/v1/contacts",
        time: new Date(w.clock.now()),
      },
    ]);
  });

  it("a failure event says why; the client's answer does not", async () => {
    const w = await makeWorld();
    await w.auth.authenticate({ authorization: `Bearer ${w.keys.revoked}`, method: "GET", ip: "198.51.100.1" });
    await w.auth.authenticate({ authorization: "Bearer\tx", method: "GET" });
    await w.auth.authenticate({ authorization: `Bearer ${w.keys.unknown}`, method: "GET" });
    expect(w.events.map((e) => [e.reason, e.status, e.keyId !== null])).toEqual([
      ["revoked", 401, true],
      ["malformed", 401, false],
      ["unknown", 401, false],
    ]);
    expect(w.events[0]).toMatchObject({ ok: false, accountId: "acc_pro", revokedReason: "revoked", ip: "198.51.100.1" });
    expect(w.events[2]?.hint).toBe(`flz_sk_prod_…${w.keys.unknown.slice(-4)}`);
  });

  it("redaction: after a run of authentications no event, result, error message or thrown error holds a plaintext key", async () => {
    const w = await makeWorld();
    const failing = new MemoryKeyStore();
    failing.getByHash = async () => {
      throw new Error("store exploded");
    };
    const events: ApiKeyAuthEvent[] = [];
    const broken = createApiKeyAuth({ store: failing, onEvent: (e) => events.push(e) });
    const presented = [...Object.values(w.keys), generateApiKey().key, `${w.keys.prod}x`, w.keys.prod.toLowerCase()];
    const outputs: unknown[] = [];
    for (const key of presented) {
      for (const authorization of [`Bearer ${key}`, `bearer  ${key}`, `Bearer\t${key}`, key, [`Bearer ${key}`, `Bearer ${key}`]]) {
        for (const method of ["GET", "POST"]) {
          outputs.push(await w.auth.authenticate({ authorization, method }));
          outputs.push(await broken.authenticate({ authorization, method }));
        }
      }
    }
    const thrown: unknown[] = [];
    for (const bad of [{ store: failing, timeouts: w.keys.prod as never }, { store: failing, environment: w.keys.prod }]) {
      try {
        createApiKeyAuth(bad);
      } catch (error) {
        expect(isApiKeyError(error)).toBe(true);
        thrown.push(error);
      }
    }
    expect(thrown).toHaveLength(2);
    const text = JSON.stringify([outputs, w.events, events, thrown.map((e) => [String(e), (e as Error).message, (e as Error).stack])]);
    expect(w.events.length).toBeGreaterThan(100);
    for (const key of presented) {
      // The body after the prefix, minus the 4 characters a hint shows.
      expect(text).not.toContain(key.slice(key.length - 32, key.length - 4));
    }
  });
});

describe("the 503 event", () => {
  it("says unavailable, at the configured clock's time", async () => {
    const { createFakeClock } = await import("../../src/testing/index.js");
    const clock = createFakeClock(Date.UTC(2024, 5, 1));
    const store = new MemoryKeyStore();
    store.getByHash = () => Promise.reject(new Error("down"));
    const events: ApiKeyAuthEvent[] = [];
    const auth = createApiKeyAuth({ store, clock, onEvent: (e) => events.push(e) });
    await auth.authenticate({ authorization: `Bearer ${generateApiKey().key}`, method: "GET", path: "/v1/x" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ok: false, reason: "unavailable", status: 503, path: "/v1/x", time: new Date(clock.now()) });
  });

  it.each([
    ["a plan lookup that throws", () => { throw new Error("billing down"); }],
    ["a plan lookup that rejects", () => Promise.reject(new Error("billing down"))],
    ["a plan lookup that answers something not a plan", () => 42 as unknown as string],
  ])("names the key that was found when %s (an outage is traced to its keys and accounts)", async (_how, getPlan) => {
    const w = await makeWorld({ accounts: { getPlan } });
    const result = await w.auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    expect(!result.ok && result.status).toBe(503);
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ reason: "unavailable", status: 503, keyId: w.records.prod.id, accountId: "acc_pro", hint: w.records.prod.hint });
  });

  it.each([
    ["throws", () => { throw new Error("down"); }],
    ["rejects", () => Promise.reject(new Error("down"))],
  ])("gives the presented key's hint (not the key) when the store %s", async (_how, getByHash) => {
    const w = await makeWorld();
    w.store.getByHash = getByHash as never;
    await w.auth.authenticate({ authorization: `Bearer ${w.keys.prod}`, method: "GET" });
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ reason: "unavailable", keyId: null, accountId: null, hint: w.records.prod.hint });
    expect(JSON.stringify(w.events)).not.toContain(w.keys.prod.slice(-32));
  });
});

describe("events carry no key the client put in its path, query or user agent (DESIGN §9)", () => {
  it("the query string is dropped from the path", async () => {
    const w = await makeWorld();
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: `/v1/contacts?api_key=${w.keys.prod}&x=1` });
    expect(w.events[0]?.path).toBe("/v1/contacts");
  });

  it("a key-shaped run in the path, the user agent or the method is redacted", async () => {
    const w = await makeWorld();
    await w.auth.authenticate({
      authorization: `Bearer ${w.keys.prod}`,
      method: "GET",
      path: `/v1/keys/${w.keys.dev}/usage#frag`,
      userAgent: `my-client/1.0 (key ${w.keys.unknown})`,
    });
    const event = w.events[0]!;
    expect(event.path).toBe("/v1/keys/[redacted API key]/usage");
    expect(event.userAgent).toBe("my-client/1.0 (key [redacted API key])");
    const text = JSON.stringify(w.events);
    for (const key of Object.values(w.keys)) expect(text).not.toContain(key.slice(-32));
  });

  it("a key written in capitals (by a proxy or a log pipeline) is redacted too: its checksum gives back the case", async () => {
    const w = await makeWorld();
    await w.auth.authenticate({
      authorization: undefined,
      method: "GET",
      path: `/v1/keys/${w.keys.dev.toUpperCase()}/usage`,
      userAgent: `client (${w.keys.prod.toUpperCase()}) ${w.keys.unknown.replace("flz_sk_", "Flz_Sk_")}`,
    });
    const event = w.events[0]!;
    expect(event.path).toBe("/v1/keys/[redacted API key]/usage");
    expect(event.userAgent).toBe("client ([redacted API key]) [redacted API key]");
  });

  it("a key-shaped run in the client address is redacted (an address read from a header the client wrote)", async () => {
    const w = await makeWorld();
    await w.auth.authenticate({ authorization: undefined, method: "GET", ip: `${w.keys.prod}, 203.0.113.9` });
    expect(w.events[0]?.ip).toBe("[redacted API key], 203.0.113.9");
    await w.auth.authenticate({ authorization: undefined, method: "GET", ip: "203.0.113.9" });
    expect(w.events[1]?.ip).toBe("203.0.113.9");
  });

  it("a key written with percent-escapes in the path is redacted; other escapes stay as written", async () => {
    const w = await makeWorld();
    const escaped = `%66lz%5Fsk%5f${w.keys.prod.slice("flz_sk_".length)}`;
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: `/v1/keys/${escaped}/usage` });
    expect(w.events[0]?.path).toBe("/v1/keys/[redacted API key]/usage");
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: "/v1/a%20b/%0A/%7e/%zz/%4" });
    expect(w.events[1]?.path).toBe("/v1/a%20b/%0A/~/%zz/%4");
  });

  it("a key whose head was escaped twice, or mangled, is still found by its checksummed body and redacted", async () => {
    const w = await makeWorld();
    const body = w.keys.prod.slice(-32);
    const cases = [
      `/v1/keys/%2566lz%255Fsk%255Fprod%255F${body}/usage`, // escaped twice: one decoding leaves %66…%5F
      `/v1/keys/FLZ-SK-PROD-${body}`, // head rewritten by hand
      `/v1/keys/${body}x/usage`, // body first, text glued after it
    ];
    for (const path of cases) await w.auth.authenticate({ authorization: undefined, method: "GET", path });
    await w.auth.authenticate({ authorization: undefined, method: "GET", userAgent: `bot (token=prod_${body})` });
    const text = JSON.stringify(w.events);
    expect(text).not.toContain(body.slice(0, 20));
    expect(w.events[0]?.path).toBe("/v1/keys/[redacted API key]/usage");
    expect(w.events[1]?.path).toBe("/v1/keys/FLZ-SK-PROD-[redacted API key]");
    expect(w.events[2]?.path).toBe("/v1/keys/[redacted API key]/usage");
    expect(w.events[3]?.userAgent).toBe("bot (token=prod_[redacted API key])");
  });

  it("a key whose head was rewritten and whose letters were all upper- or lower-cased is found by its body and redacted", async () => {
    const w = await makeWorld();
    for (const key of [w.keys.prod, w.keys.dev, w.keys.unknown]) {
      const body = key.slice(-32);
      const ua = `curl/8 FLZ-SK-PROD-${body.toUpperCase()} | PROD_${body.toUpperCase()} | flz-sk-prod-${body.toLowerCase()} | ${body.toUpperCase()}`;
      await w.auth.authenticate({ authorization: undefined, method: "GET", userAgent: ua, path: `/v1/${body.toLowerCase()}/x` });
      const event = w.events.at(-1);
      expect(event?.userAgent).toBe(
        "curl/8 FLZ-SK-PROD-[redacted API key] | PROD_[redacted API key] | flz-sk-prod-[redacted API key] | [redacted API key]",
      );
      expect(event?.path).toBe("/v1/[redacted API key]/x");
    }
    // One-case runs that are no key stay (hex hashes in capitals, ids of capitals and digits).
    const upperHex = "3F786850E387550FDAB836ED7E6DC881DE23001B";
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: `/v1/commits/${upperHex}` });
    expect(w.events.at(-1)?.path).toBe(`/v1/commits/${upperHex}`);
  });

  it("a key escaped twice (or three times) character by character in the path is redacted", async () => {
    const w = await makeWorld();
    const key = w.keys.prod;
    const once = [...key].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    const twice = once.replaceAll("%", "%25");
    const thrice = twice.replaceAll("%", "%25");
    for (const escaped of [once, twice, thrice]) {
      await w.auth.authenticate({ authorization: undefined, method: "GET", path: `/v1/${escaped}/x` });
      expect(w.events.at(-1)?.path).toBe("/v1/[redacted API key]/x");
    }
    // Other escaped escapes are read up to two levels further too, and stay otherwise as written.
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: "/v1/100%2525/a%252Fb" });
    expect(w.events.at(-1)?.path).toBe("/v1/100%/a%2Fb");
  });

  it("long runs of letters and digits that are no key stay as they are (ids, hashes)", async () => {
    const w = await makeWorld();
    const sha1 = "3f786850e387550fdab836ed7e6dc881de23001b";
    const uuid = "9b2d3c4e5f60718293a4b5c6d7e8f901";
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: `/v1/commits/${sha1}/files/${uuid}` });
    expect(w.events[0]?.path).toBe(`/v1/commits/${sha1}/files/${uuid}`);
  });

  it("client text is cut to 1024 characters (ending in …), and a key at the cut is never left in part", async () => {
    const w = await makeWorld();
    const key = w.keys.prod;
    // A 16 KB User-Agent: kept to its first 1024 characters; one 16 KB run of letters (where a
    // key could hide anywhere) is dropped whole rather than cut.
    await w.auth.authenticate({ authorization: undefined, method: "GET", userAgent: "ab ".repeat(6_000) });
    expect(w.events[0]?.userAgent).toBe(`${"ab ".repeat(400).slice(0, 1024)}…`);
    await w.auth.authenticate({ authorization: undefined, method: "GET", userAgent: `x ${"a".repeat(16_000)}` });
    expect(w.events.at(-1)?.userAgent).toBe("x …");
    w.events.splice(1, 1);
    // A key straddling the 1024th character is redacted whole before the cut.
    await w.auth.authenticate({ authorization: undefined, method: "GET", userAgent: `${"b".repeat(1000)} ${key} tail` });
    expect(w.events[1]?.userAgent).toBe(`${"b".repeat(1000)} [redacted API key] tail`);
    // Far past the cut, keys everywhere: nothing of any of them in the event.
    const many = Array.from({ length: 400 }, () => key).join("/");
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: `/${many}`, userAgent: many, ip: many });
    const text = JSON.stringify(w.events.slice(2));
    expect(text).not.toContain(key.slice(-32, -16));
    expect(text).not.toContain(key.slice(-16));
    expect(w.events[2]?.path?.length).toBeLessThanOrEqual(1025);
    expect(w.events[2]?.path?.endsWith("…")).toBe(true);
    // Escaped keys up to a long path's cut: the cut drops what is left of a half-read escape run.
    const escaped = Array.from({ length: 200 }, () => [...key].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("")).join("/");
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: `/${escaped}` });
    const last = JSON.stringify(w.events.at(-1));
    expect(last).not.toContain(key.slice(-32, -22));
    expect(last).not.toContain(key.slice(-10));
    // A key body (its head lost) cut by the read limit, behind keys whose redaction shortens the
    // text enough to bring it under the 1024 kept: what was read of it is dropped, not shown.
    const body = key.slice(-32);
    const full = `${key} `.repeat(38);
    const cutInBody = `${full}${" ".repeat(1792 - 20 - full.length - "prod_".length)}prod_${body} tail`;
    await w.auth.authenticate({ authorization: undefined, method: "GET", userAgent: cutInBody });
    expect(w.events.at(-1)?.userAgent).not.toContain(body.slice(0, 12));
    expect(w.events.at(-1)?.userAgent).toMatch(/\] +…$/);
    // A key body (head rewritten) inside a long run of key characters that reaches the read
    // limit, at every place around the kept 1024 and the read 1792: never shown in part.
    for (let at = 900; at <= 1830; at += 7) {
      const path = `/${"-".repeat(at)}FLZ-SK-PROD-${body}_${"a".repeat(800)}`;
      const ua = `flz_sk_${"a".repeat(600)}${" ".repeat(Math.max(0, at - 600))}FLZ-SK-PROD-${body}_${"b".repeat(400)}`;
      await w.auth.authenticate({ authorization: undefined, method: "GET", path, userAgent: ua, ip: ua });
      const e = JSON.stringify(w.events.at(-1));
      for (let from = 0; from + 8 <= 32; from += 4) expect(e, `at ${at}`).not.toContain(body.slice(from, from + 8));
    }
    // A long query string is dropped, not cut: the path is whole, with no "…".
    await w.auth.authenticate({ authorization: undefined, method: "GET", path: `/v1/x?q=${"z".repeat(5000)}` });
    expect(w.events.at(-1)?.path).toBe("/v1/x");
  });

  it("text without a key is passed through unchanged", async () => {
    const w = await makeWorld();
    await w.auth.authenticate({ authorization: undefined, method: "DELETE", path: "/v1/flz_docs/a_b", userAgent: "curl/8.5.0" });
    expect(w.events[0]).toMatchObject({ path: "/v1/flz_docs/a_b", userAgent: "curl/8.5.0", method: "DELETE" });
  });
});
