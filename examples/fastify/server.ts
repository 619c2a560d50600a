// Run: npx tsx examples/fastify/server.ts   (PORT=3000 by default)
import type { AddressInfo } from "node:net";
import { announce, closeOnSignal, createExampleSetup } from "../shared/setup.js";
import { createApp } from "./app.js";

const { auth, key, port } = await createExampleSetup();
const fastify = await createApp(auth);
await fastify.listen({ port, host: "127.0.0.1" });
announce("Fastify", (fastify.server.address() as AddressInfo).port, key);
closeOnSignal(() => fastify.close(), auth);
