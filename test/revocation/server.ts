// One API server of the multi-process revocation test: plain node:http, our authenticator with
// (CACHE=on) or without the verification cache, over the shared store. Tells its parent its port.
import { createServer } from "node:http";
import { createApiKeyAuth } from "../../src/index.js";
import { openStore } from "./open-store.js";

const { store, close } = await openStore();
const auth = createApiKeyAuth({
  store,
  cache: process.env.CACHE === "on" ? { ttlMs: 60_000, max: 10_000 } : undefined,
  // The test measures revocation, not last-used writes.
  lastUsedIntervalMs: 60_000,
});

const server = createServer((req, res) => {
  auth.authenticate({ authorization: req.headers.authorization, method: req.method ?? "GET" }).then((result) => {
    res.writeHead(result.ok ? 200 : result.status, { "content-type": "application/json" });
    res.end(result.ok ? `{"ok":true}` : JSON.stringify(result.body));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address !== null ? address.port : 0 });
});

process.on("message", (message: { type?: string }) => {
  if (message.type !== "stop") return;
  server.closeAllConnections();
  server.close();
  void auth.close().then(close).finally(() => process.exit(0));
});
