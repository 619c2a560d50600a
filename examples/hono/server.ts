// Run: npx tsx examples/hono/server.ts   (PORT=3000 by default)
import { serve } from "@hono/node-server";
import { announce, closeOnSignal, createExampleSetup } from "../shared/setup.js";
import { createApp } from "./app.js";

const { auth, key, port } = await createExampleSetup();
const server = serve({ fetch: createApp(auth).fetch, port, hostname: "127.0.0.1" }, (info) => {
  announce("Hono", info.port, key);
});
closeOnSignal(() => new Promise<void>((resolve) => server.close(() => resolve())), auth);
