/**
 * The example API on Fastify: GET /health is open (route config), the rest needs an API key.
 * In your project, import from "@fluenzr/api-keys" and "@fluenzr/api-keys/fastify"; this
 * repository imports the sources so the example runs without a build.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { ApiKeyAuth } from "../../src/index.js";
import { apiKeyAuth } from "../../src/adapters/fastify/index.js";
import { createContacts, INVALID_CONTACT } from "../shared/contacts.js";

export async function createApp(auth: ApiKeyAuth): Promise<FastifyInstance> {
  const contacts = createContacts();
  const fastify = Fastify();
  await fastify.register(apiKeyAuth, { auth });

  fastify.get("/health", { config: { apiKeyAuth: false } }, async () => ({ status: "ok" }));
  fastify.get("/v1/contacts", async (request) => ({ success: true, data: contacts.list(request.apiKey!.accountId) }));
  fastify.post("/v1/contacts", async (request, reply) => {
    const contact = contacts.add(request.apiKey!.accountId, request.body);
    if (contact === null) return reply.code(400).send(INVALID_CONTACT);
    return reply.code(201).send({ success: true, data: contact });
  });
  return fastify;
}
