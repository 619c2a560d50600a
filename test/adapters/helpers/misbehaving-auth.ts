/**
 * Authenticators that break their contract (the real one never throws or rejects), to check that
 * each adapter still answers the 503 envelope and lets nothing escape (DESIGN §9).
 */
import type { ApiKeyAuth } from "../../../src/index.js";

export function throwingAuth(): ApiKeyAuth {
  return {
    realm: "api",
    authenticate: () => {
      throw new Error("boom");
    },
    close: async () => {},
  };
}

export function rejectingAuth(): ApiKeyAuth {
  return {
    realm: "api",
    authenticate: () => Promise.reject(new Error("boom")),
    close: async () => {},
  };
}

export const UNAVAILABLE_BODY = JSON.stringify({
  success: false,
  error: { code: "SERVICE_UNAVAILABLE", message: "Authentication is temporarily unavailable" },
});

/** Resolves with something that is not a result. */
export function garbageAuth(): ApiKeyAuth {
  return {
    realm: "api",
    authenticate: () => Promise.resolve({ ok: "yes" } as never),
    close: async () => {},
  };
}

/** Returns a non-promise non-result synchronously. */
export function notAPromiseAuth(): ApiKeyAuth {
  return {
    realm: "api",
    authenticate: () => null as never,
    close: async () => {},
  };
}

/** Resolves with a result whose fields throw when read (a getter, a revoked Proxy). */
export function throwingResultAuth(): ApiKeyAuth {
  return {
    realm: "api",
    authenticate: () =>
      Promise.resolve({
        get ok(): never {
          throw new Error("boom");
        },
      } as never),
    close: async () => {},
  };
}

/** Resolves with a result that says it is a pass on the first read of `ok` and throws after. */
export function fickleResultAuth(): ApiKeyAuth {
  let reads = 0;
  return {
    realm: "api",
    authenticate: () => {
      reads = 0;
      return Promise.resolve({
        get ok(): boolean {
          if (reads++ > 0) throw new Error("boom");
          return true;
        },
        get key(): never {
          throw new Error("boom");
        },
      } as never);
    },
    close: async () => {},
  };
}
