// Run: npx tsx examples/express/server.ts   (PORT=3000 by default)
import type { AddressInfo } from "node:net";
import { announce, closeOnSignal, createExampleSetup } from "../shared/setup.js";
import { createApp } from "./app.js";

const { auth, key, port } = await createExampleSetup();
const server = createApp(auth).listen(port, "127.0.0.1", () => {
  announce("Express", (server.address() as AddressInfo).port, key);
});
closeOnSignal(() => new Promise<void>((resolve) => server.close(() => resolve())), auth);
