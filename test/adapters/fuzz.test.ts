/**
 * DESIGN §9, "nothing the client sends makes a handler throw, hang, or answer outside the
 * envelopes": at least 10,000 random Authorization values per adapter. Express (4 and 5) is
 * driven over keep-alive HTTP, Fastify through `inject`, Hono through `app.request`.
 *
 * Values are made of the bytes HTTP can carry in a field value (Latin-1, no controls but tab)
 * and never start or end with spaces or tabs, which every transport strips (RFC 9110 §5.5), so
 * each adapter receives exactly the generated value.
 */
import { Agent, request as httpRequest } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyAuthResult } from "../../src/index.js";
import { createFixture, type Fixture } from "./helpers/fixture.js";
import { createFastifyApp, createHonoApp, startServer, type AdapterName } from "./helpers/servers.js";

const RUNS = Number(process.env["FUZZ_RUNS"] ?? 10_000);
const CONCURRENCY = 8;

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

type Send = (authorization: string) => Promise<Reply>;

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});

/** UTF-8 bytes read as Latin-1 (what a Node server sees), minus what HTTP cannot carry. */
function toFieldValue(s: string): string {
  return Buffer.from(s, "utf8")
    .toString("latin1")
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, "")
    .replace(/^[ \t]+|[ \t]+$/g, "");
}

/** Mutations of a key: a character dropped, replaced, inserted, or the case changed. */
function mutatedKey(keys: string[]): fc.Arbitrary<string> {
  const chars = fc.constantFrom(..."aZ09_-=+/.~ \t\u00a0\u200b\u0430\uff11\"',;é".split(""));
  return fc
    .tuple(fc.constantFrom(...keys), fc.nat(), chars, fc.constantFrom("drop", "replace", "insert", "lower", "upper", "none"))
    .map(([key, n, c, how]) => {
      const i = n % key.length;
      if (how === "drop") return key.slice(0, i) + key.slice(i + 1);
      if (how === "replace") return key.slice(0, i) + c + key.slice(i + 1);
      if (how === "insert") return key.slice(0, i) + c + key.slice(i);
      if (how === "lower") return key.toLowerCase();
      if (how === "upper") return key.toUpperCase();
      return key;
    });
}

function headerValues(): fc.Arbitrary<string> {
  const k = fixture.keys;
  const keys = [k.pro, k.readOnly, k.starter, k.revoked, k.expired, k.otherEnvironment, k.unknown];
  const scheme = fc.constantFrom("Bearer", "bearer", "BEARER", "BeArEr", "Basic", "Token", "Bearer:", "Bearer\t", "", "\u0412earer");
  const gap = fc.constantFrom(" ", "  ", "     ", "\t", "\u00a0", "", " \u200b", ", ");
  const token = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...keys) },
    { weight: 4, arbitrary: mutatedKey(keys) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,40}=*$/) },
  );
  const tail = fc.constantFrom("", "", "", " x", "=", ",", "\u200b", ` Bearer ${k.pro}`);
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.tuple(scheme, gap, token, tail).map((parts) => parts.join("")) },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
      { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1000, maxLength: 1100 }) },
    )
    .map(toFieldValue);
}

/** Independent of the core: only `Bearer` + spaces + a good key is let in (GET, so read-only too). */
function shouldAccept(value: string): boolean {
  const m = /^bearer +([^ ]+)$/i.exec(value);
  return m !== null && /^[Bb][Ee][Aa][Rr][Ee][Rr]/.test(value) && (m[1] === fixture.keys.pro || m[1] === fixture.keys.readOnly);
}

/** Outcomes seen, so a draw that never reaches some answer (a useless generator) fails the test. */
type Tally = Map<string, number>;

async function check(send: Send, value: string, tally?: Tally): Promise<void> {
  const reply = await send(value);
  const label = `${reply.status} ${reply.headers["www-authenticate"] ?? ""}`;
  tally?.set(label, (tally.get(label) ?? 0) + 1);
  const expected: ApiKeyAuthResult = await fixture.auth.authenticate({ authorization: value === "" ? undefined : value, method: "GET" });
  if (shouldAccept(value)) {
    expect(reply.status).toBe(200);
  }
  if (reply.status === 200) {
    expect(shouldAccept(value)).toBe(true);
    expect(expected.ok).toBe(true);
    expect(JSON.parse(reply.body)).toEqual({ keyId: expected.ok ? expected.key.id : "?" });
    return;
  }
  // Refused: exactly the envelope the core decided, never anything else.
  expect(expected.ok).toBe(false);
  if (expected.ok) return;
  expect(reply.status).toBe(expected.status);
  expect(reply.body).toBe(JSON.stringify(expected.body));
  expect(reply.headers["content-type"]).toBe("application/json");
  expect(reply.headers["www-authenticate"]).toBe(expected.headers["WWW-Authenticate"]);
}

function httpSender(port: number, agent: Agent): Send {
  return (authorization) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = authorization === "" ? {} : { authorization };
      const req = httpRequest({ host: "127.0.0.1", port, path: "/v1/contacts", agent, headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body }));
      });
      req.on("error", reject);
      req.end();
    });
}

/**
 * Drawn with fast-check, sent CONCURRENCY at a time (HTTP round trips dominate; one at a time
 * takes minutes). A failure names the value and the seed that reproduces the draw.
 */
async function fuzz(send: Send): Promise<void> {
  const seed = Number(process.env["FUZZ_SEED"] ?? Date.now() % 2 ** 31);
  const values = fc.sample(headerValues(), { numRuns: RUNS, seed });
  expect(values).toHaveLength(RUNS);
  const tally: Tally = new Map();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < values.length) {
      const value = values[next++] as string;
      try {
        await check(send, value, tally);
      } catch (error) {
        throw new Error(`fuzz failure (FUZZ_SEED=${seed}) for Authorization ${JSON.stringify(value)}: ${String(error)}`, { cause: error });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  for (const answer of [
    "200 ",
    '401 Bearer realm="api"',
    '401 Bearer realm="api", error="invalid_request"',
    '401 Bearer realm="api", error="invalid_token"',
    "403 ",
  ]) {
    expect(tally.get(answer) ?? 0, `no draw was answered ${answer}`).toBeGreaterThan(0);
  }
  // Still serving after everything it was sent.
  await check(send, `Bearer ${fixture.keys.pro}`);
}

describe("fuzz: never accepted unless valid, never outside the envelopes, never a crash", () => {
  describe.each(["express5", "express4"] as const satisfies readonly AdapterName[])("%s over HTTP", (name) => {
    let close: () => Promise<void> = async () => {};
    let send: Send;
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    beforeAll(async () => {
      const server = await startServer(name, fixture);
      close = server.close;
      send = httpSender(server.port, agent);
    });
    afterAll(async () => {
      agent.destroy();
      await close();
    });
    it(`${RUNS} random Authorization values`, async () => {
      await fuzz(send);
    }, 180_000);
  });

  it(`fastify (inject): ${RUNS} random Authorization values`, async () => {
    const fastify = await createFastifyApp(fixture);
    try {
      await fuzz(async (authorization) => {
        const res = await fastify.inject({ method: "GET", url: "/v1/contacts", headers: authorization === "" ? {} : { authorization } });
        return { status: res.statusCode, headers: res.headers as Record<string, string>, body: res.body };
      });
    } finally {
      await fastify.close();
    }
  }, 180_000);

  it(`hono (app.request): ${RUNS} random Authorization values`, async () => {
    const app = createHonoApp(fixture);
    await fuzz(async (authorization) => {
      const res = await app.request("/v1/contacts", { headers: authorization === "" ? {} : { authorization } });
      return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    });
  }, 180_000);
});
