/**
 * The example API on Hono: GET /health is open, everything under /v1 needs an API key.
 * In your project, import from "@fluenzr/api-keys" and "@fluenzr/api-keys/hono"; this
 * repository imports the sources so the example runs without a build.
 */
import { Hono } from "hono";
import type { ApiKeyAuth } from "../../src/index.js";
import { apiKeyAuth, type ApiKeyAuthEnv } from "../../src/adapters/hono/index.js";
import { createContacts, INVALID_CONTACT } from "../shared/contacts.js";

export function createApp(auth: ApiKeyAuth): Hono<ApiKeyAuthEnv> {
  const contacts = createContacts();
  const app = new Hono<ApiKeyAuthEnv>();
  app.get("/health", (c) => c.json({ status: "ok" }));

  app.use("/v1/*", apiKeyAuth(auth));
  app.get("/v1/contacts", (c) => c.json({ success: true, data: contacts.list(c.get("apiKey").accountId) }));
  app.post("/v1/contacts", async (c) => {
    const input: unknown = await c.req.json().catch(() => null);
    const contact = contacts.add(c.get("apiKey").accountId, input);
    return contact === null ? c.json(INVALID_CONTACT, 400) : c.json({ success: true, data: contact }, 201);
  });
  return app;
}
