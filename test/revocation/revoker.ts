// The third process of the revocation test: creates keys and revokes them through the key
// manager, and reports when revoke() resolved (wall clock, sub-millisecond).
import { createKeyManager } from "../../src/index.js";
import { openStore, preciseNow } from "./open-store.js";

const { store, listeners, close } = await openStore();
const manager = createKeyManager({ store });
const actor = { id: "usr_revoker", admin: true };
const accountId = `acc_${process.pid}`;

type Message = { type: "create" } | { type: "revoke"; id: string } | { type: "stop" };

process.on("message", (message: Message) => {
  void (async () => {
    if (message.type === "create") {
      // The plaintext goes to the parent over IPC only: it is the load generator's credential.
      const { key, record } = await manager.create({ accountId, actor, name: "Load test", environment: "prod" });
      process.send?.({ type: "created", key, id: record.id });
    } else if (message.type === "revoke") {
      const present = await listeners();
      const startedAt = preciseNow();
      await manager.revoke({ accountId, actor, id: message.id });
      process.send?.({ type: "revoked", startedAt, resolvedAt: preciseNow(), listeners: present });
    } else if (message.type === "stop") {
      await close();
      process.exit(0);
    }
  })().catch((error: unknown) => {
    process.send?.({ type: "error", message: String(error) });
  });
});
process.send?.({ type: "ready" });
