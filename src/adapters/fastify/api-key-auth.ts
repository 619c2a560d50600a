/**
 * Fastify 5 plugin: one hook (`onRequest` by default, so the body of a refused request is never
 * parsed) that reads every raw Authorization line, asks the core, and either decorates
 * `request.apiKey` or answers the envelope. Wrapped with fastify-plugin so the hook
 * applies to the routes of the context that registers it.
 *
 * @module
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import fp from "fastify-plugin";
import type { ApiKeyAuth, ApiKeyAuthRequest, ApiKeyAuthResult, AuthenticatedApiKey } from "../../auth/create-api-key-auth.js";
import type { ApiKeyAuthFailure } from "../../auth/responses.js";
import { invalidOption } from "../../errors.js";
import {
  ClientAddressFacts,
  FALLBACK_FAILURE,
  authorizationLines,
  failureJson,
  optionalFunction,
  optionsObject,
  rejectUnknownOptions,
  requireAuth,
  runAuth,
  shouldSkip,
} from "../shared/request-facts.js";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * The verified key on routes `apiKeyAuth` protects; `null` on the open routes of the context
     * it is registered in (route config `apiKeyAuth: false`, `skip`). Fastify decorates requests
     * per context: on routes outside that context, which the plugin never sees, it is `undefined`
     * (register the plugin at the root, opening routes by config, to have `null` there too).
     */
    apiKey: AuthenticatedApiKey | null;
  }
  interface FastifyContextConfig {
    /** `false` leaves this route open (health checks, public docs). */
    apiKeyAuth?: boolean | undefined;
  }
}

/**
 * Fastify hooks the check can run in. `onRequest` (the default) runs before the body is read.
 *
 * @example
 * ```ts
 * import { apiKeyAuth } from "@fluenzr/api-keys/fastify";
 * await fastify.register(apiKeyAuth, { auth, hook: "preHandler" }); // after body parsing and validation
 * ```
 */
export type FastifyApiKeyAuthHook = "onRequest" | "preParsing" | "preValidation" | "preHandler";

/**
 * Options of the Fastify {@link apiKeyAuth} plugin. The object you pass is never modified.
 *
 * @example
 * ```ts
 * import { apiKeyAuth, type FastifyApiKeyAuthOptions } from "@fluenzr/api-keys/fastify";
 * const options: FastifyApiKeyAuthOptions = { auth, skip: (request) => request.url.startsWith("/docs") };
 * await fastify.register(apiKeyAuth, options);
 * ```
 */
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

/** The request as the core sees it; ip, user agent and path are read only if events need them. */
class FastifyRequestFacts extends ClientAddressFacts implements ApiKeyAuthRequest {
  readonly authorization: string | string[] | undefined;
  readonly method: string;
  constructor(private readonly request: FastifyRequest) {
    super();
    this.authorization = authorizationLines(request.raw.rawHeaders, request.raw.socket);
    this.method = request.method;
  }
  protected readIp(): string | undefined {
    return this.request.ip;
  }
  get userAgent(): string | undefined {
    const ua = this.request.headers["user-agent"];
    return typeof ua === "string" ? ua : undefined;
  }
  get path(): string | undefined {
    return this.request.url; // the core drops the query string
  }
}

// Fastify appends `; charset=utf-8` to a JSON string it serialises itself; with a serializer of
// our own it sends the prepared text as is, so every adapter answers the same bytes (and the head
// and body leave in one write).
const asIs = (payload: unknown): string => payload as string;

function send(reply: FastifyReply, failure: ApiKeyAuthFailure): void {
  if (reply.sent) return;
  reply
    .code(failure.status)
    .headers(failure.headers)
    .header("content-type", "application/json")
    .serializer(asIs)
    .send(failureJson(failure));
}

const plugin: FastifyPluginCallback<FastifyApiKeyAuthOptions> = (fastify, options, done) => {
  // Bad options fail the register() call (through `done`), never as an uncaught exception.
  try {
    setup(fastify, options);
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
};

function settle(result: ApiKeyAuthResult, request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
  if (result.ok) {
    request.apiKey = result.key;
    next();
  } else {
    send(reply, result);
  }
}

function setup(fastify: FastifyInstance, options: FastifyApiKeyAuthOptions): void {
  const o = optionsObject(options, "options");
  // `fastify.register(apiKeyAuth, auth)`: the authenticator where its options object goes.
  if (o["auth"] === undefined && typeof o["authenticate"] === "function")
    invalidOption("auth", "pass the authenticator inside the options: fastify.register(apiKeyAuth, { auth })");
  // The plugin shares the context it is registered in (fastify-plugin), so Fastify ignores a
  // `prefix` given with it, and every route of that context would be protected, not those under
  // the prefix. Refused, pointing to the form that does what it seems to ask.
  if (o["prefix"] !== undefined)
    invalidOption(
      "prefix",
      "the plugin protects the context it is registered in; register it inside a prefixed context: fastify.register(async (api) => { await api.register(apiKeyAuth, { auth }); … }, { prefix })",
    );
  // register() passes its own log options through; only ours are checked.
  rejectUnknownOptions(
    Object.fromEntries(Object.entries(o).filter(([k]) => k !== "logLevel" && k !== "logSerializers")),
    ["auth", "hook", "skip"],
  );
  const auth = requireAuth(o["auth"], "auth");
  const hook = (o["hook"] === undefined ? "onRequest" : o["hook"]) as FastifyApiKeyAuthHook;
  if (!HOOKS.includes(hook)) invalidOption("hook", `expected one of ${HOOKS.join(", ")}`);
  const skip = optionalFunction<(request: FastifyRequest) => boolean>(o["skip"], "skip");

  if (!fastify.hasRequestDecorator("apiKey")) fastify.decorateRequest("apiKey", null);

  // The callback form: no promise is handed to Fastify, and `done` is called only to go on.
  function check(request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    if (request.routeOptions.config.apiKeyAuth === false || shouldSkip(skip, request)) {
      next();
      return;
    }
    let outcome: ApiKeyAuthResult | Promise<ApiKeyAuthResult>;
    try {
      outcome = runAuth(auth, new FastifyRequestFacts(request));
    } catch {
      outcome = FALLBACK_FAILURE;
    }
    // A ready answer goes on in the same tick (deferring `next` costs Fastify more than the check).
    if (outcome instanceof Promise) {
      outcome.then((result) => settle(result, request, reply, next)).catch(() => send(reply, FALLBACK_FAILURE));
    } else {
      settle(outcome, request, reply, next);
    }
  }

  // preParsing hooks get a third argument (the payload stream) before `done`.
  if (hook === "preParsing") {
    fastify.addHook("preParsing", (request, reply, payload, next) => check(request, reply, (err) => next(err ?? null, payload)));
  } else {
    fastify.addHook(hook, check);
  }
}

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
