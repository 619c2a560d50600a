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
