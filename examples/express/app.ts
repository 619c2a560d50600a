/**
 * The example API on Express: GET /health is open, everything under /v1 needs an API key.
 * In your project, import from "@fluenzr/api-keys" and "@fluenzr/api-keys/express"; this
 * repository imports the sources so the example runs without a build.
 */
import express, { type Express } from "express";
import type { ApiKeyAuth } from "../../src/index.js";
import { apiKeyAuth } from "../../src/adapters/express/index.js";
import { createContacts, INVALID_CONTACT } from "../shared/contacts.js";

export function createApp(auth: ApiKeyAuth): Express {
  const contacts = createContacts();
  const app = express();
  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.use("/v1", apiKeyAuth(auth));
  app.get("/v1/contacts", (req, res) => {
    res.json({ success: true, data: contacts.list(req.apiKey!.accountId) });
  });
  app.post("/v1/contacts", express.json(), (req, res) => {
    const contact = contacts.add(req.apiKey!.accountId, req.body);
    if (contact === null) res.status(400).json(INVALID_CONTACT);
    else res.status(201).json({ success: true, data: contact });
  });
  return app;
}
