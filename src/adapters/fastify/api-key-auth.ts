/**
 * Fastify 5 plugin: one hook (`onRequest` by default, so the body of a refused request is never
 * parsed) that reads every raw Authorization line, asks the core, and either decorates
 * `request.apiKey` or answers the envelope (DESIGN §5). Wrapped with fastify-plugin so the hook
 * applies to the routes of the context that registers it.
 *
 * @module
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import fp from "fastify-plugin";
import type { ApiKeyAuth, ApiKeyAuthResult, AuthenticatedApiKey } from "../../auth/create-api-key-auth.js";
import type { ApiKeyAuthFailure } from "../../auth/responses.js";
import { invalidOption } from "../../errors.js";
import {
  FALLBACK_FAILURE,
  authorizationLines,
  failureJson,
  optionalFunction,
  optionsObject,
  pathOf,
  rejectUnknownOptions,
  requireAuth,
  shouldSkip,
} from "../shared/request-facts.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The verified key on routes `apiKeyAuth` protects; `null` on open routes. */
    apiKey: AuthenticatedApiKey | null;
  }
  interface FastifyContextConfig {
    /** `false` leaves this route open (health checks, public docs). */
    apiKeyAuth?: boolean;
  }
}

/** Fastify hooks the check can run in. `onRequest` runs before the body is read. */
export type FastifyApiKeyAuthHook = "onRequest" | "preParsing" | "preValidation" | "preHandler";

/** Options of the Fastify {@link apiKeyAuth} plugin. The object you pass is never modified. */
export interface FastifyApiKeyAuthOptions {
  /** The authenticator from `createApiKeyAuth`. */
  auth: ApiKeyAuth;
  /** Hook to check in. Default `"onRequest"`. */
  hook?: FastifyApiKeyAuthHook | undefined;
  /**
   * Leave a request open when this returns `true`. Routes can also opt out with
   * `config: { apiKeyAuth: false }`. If it throws, the request is authenticated (fails closed).
   */
  skip?: ((request: FastifyRequest) => boolean) | undefined;
}

const HOOKS: readonly FastifyApiKeyAuthHook[] = ["onRequest", "preParsing", "preValidation", "preHandler"];

function send(reply: FastifyReply, failure: ApiKeyAuthFailure): void {
  if (reply.sent) return;
  reply.code(failure.status).headers(failure.headers).type("application/json").send(failureJson(failure));
}

const plugin: FastifyPluginCallback<FastifyApiKeyAuthOptions> = (fastify, options, done) => {
  const o = optionsObject(options, "options");
  // fastify-plugin and register() may add their own keys; only ours are checked.
  rejectUnknownOptions(
    Object.fromEntries(Object.entries(o).filter(([k]) => k !== "prefix" && k !== "logLevel" && k !== "logSerializers")),
    ["auth", "hook", "skip"],
  );
  const auth = requireAuth(o["auth"], "auth");
  const hook = (o["hook"] ?? "onRequest") as FastifyApiKeyAuthHook;
  if (!HOOKS.includes(hook)) invalidOption("hook", `expected one of ${HOOKS.join(", ")}`);
  const skip = optionalFunction<(request: FastifyRequest) => boolean>(o["skip"], "skip");

  if (!fastify.hasRequestDecorator("apiKey")) fastify.decorateRequest("apiKey", null);

  // The callback form: no promise is handed to Fastify, and `done` is called only to go on.
  function check(request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    if (request.routeOptions.config.apiKeyAuth === false || shouldSkip(skip, request)) {
      next();
      return;
    }
    let pending: Promise<ApiKeyAuthResult>;
    try {
      const ua = request.headers["user-agent"];
      pending = auth.authenticate({
        authorization: authorizationLines(request.raw.rawHeaders),
        method: request.method,
        ip: request.ip,
        userAgent: typeof ua === "string" ? ua : undefined,
        path: pathOf(request.url),
      });
    } catch {
      send(reply, FALLBACK_FAILURE);
      return;
    }
    pending
      .then(
        (result) => {
          if (result.ok) {
            request.apiKey = result.key;
            next();
          } else send(reply, result);
        },
        () => send(reply, FALLBACK_FAILURE),
      )
      .catch(() => send(reply, FALLBACK_FAILURE));
  }

  // preParsing hooks get a third argument (the payload stream) before `done`.
  if (hook === "preParsing") {
    fastify.addHook("preParsing", (request, reply, payload, next) => check(request, reply, (err) => next(err ?? null, payload)));
  } else {
    fastify.addHook(hook, check);
  }
  done();
};

/**
 * Protect Fastify routes with API keys. Register it in the context whose routes need a key;
 * accepted requests carry `request.apiKey`, refused ones are answered with the envelope.
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import { createApiKeyAuth, MemoryKeyStore } from "@fluenzr/api-keys";
 * import { apiKeyAuth } from "@fluenzr/api-keys/fastify";
 *
 * const auth = createApiKeyAuth({ store: new MemoryKeyStore() });
 * const fastify = Fastify();
 * await fastify.register(apiKeyAuth, { auth });
 * fastify.get("/health", { config: { apiKeyAuth: false } }, async () => ({ ok: true }));
 * fastify.get("/v1/contacts", async (request) => ({ accountId: request.apiKey?.accountId }));
 * ```
 */
export const apiKeyAuth: FastifyPluginCallback<FastifyApiKeyAuthOptions> = fp(plugin, {
  name: "@fluenzr/api-keys",
  fastify: "5.x",
});
