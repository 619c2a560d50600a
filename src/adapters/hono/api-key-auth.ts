/**
 * Hono 4 middleware: reads the Authorization line(s), asks the core, and either sets
 * `c.get("apiKey")` or returns the envelope response. Web APIs only, so it runs
 * wherever Hono runs.
 *
 * @module
 */
import type { Context, MiddlewareHandler, Next } from "hono";
import type { ApiKeyAuth, ApiKeyAuthRequest, ApiKeyAuthResult, AuthenticatedApiKey } from "../../auth/create-api-key-auth.js";
import type { ApiKeyAuthFailure } from "../../auth/responses.js";
import {
  ClientAddressFacts,
  FALLBACK_FAILURE,
  authorizationLines,
  dropRejection,
  failureJson,
  optionalFunction,
  optionsObject,
  rejectUnknownOptions,
  requireAuth,
  runAuth,
  shouldSkip,
} from "../shared/request-facts.js";

// Importing this adapter also types `c.get("apiKey")` on a plain `new Hono()` (the README's
// one-line form), as Hono's own middleware do: through its ContextVariableMap.
declare module "hono" {
  interface ContextVariableMap {
    /** The verified key, set by `apiKeyAuth` from `@fluenzr/api-keys/hono` on the routes it covers. */
    apiKey: AuthenticatedApiKey;
  }
}

/**
 * The Hono environment the middleware provides: `c.get("apiKey")` is the verified key.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { apiKeyAuth, type ApiKeyAuthEnv } from "@fluenzr/api-keys/hono";
 * const app = new Hono<ApiKeyAuthEnv>();
 * app.use("/v1/*", apiKeyAuth(auth));
 * app.get("/v1/me", (c) => c.json({ accountId: c.get("apiKey").accountId }));
 * ```
 */
export interface ApiKeyAuthEnv {
  Variables: {
    /** The verified key. Not set on requests `skip` left open. */
    apiKey: AuthenticatedApiKey;
  };
}

/**
 * Options of the Hono {@link apiKeyAuth}.
 *
 * @example
 * ```ts
 * // On Bun (on Node the adapter reads the socket's address itself):
 * import { getConnInfo } from "hono/bun";
 * import { apiKeyAuth } from "@fluenzr/api-keys/hono";
 * app.use("/v1/*", apiKeyAuth(auth, {
 *   skip: (c) => c.req.path === "/v1/status",
 *   getIp: (c) => getConnInfo(c).remote.address,
 * }));
 * ```
 */
export interface HonoApiKeyAuthOptions {
  /** Leave a request open when this returns `true`. If it throws, the request is authenticated. */
  skip?: ((c: Context) => boolean) | undefined;
  /**
   * The client address for events. Default: the Node socket's address when running on
   * `@hono/node-server`, else none. On other runtimes pass e.g. `getConnInfo(c).remote.address`.
   */
  getIp?: ((c: Context) => string | undefined) | undefined;
}

/** What @hono/node-server puts in `c.env`: the Node request, whose raw header lines keep duplicates. */
interface NodeBindings {
  incoming?: { rawHeaders?: unknown; url?: unknown; socket?: { remoteAddress?: unknown } };
}

function nodeIncoming(c: Context): NodeBindings["incoming"] {
  const env = c.env as NodeBindings | undefined;
  return typeof env === "object" && env !== null && typeof env.incoming === "object" ? env.incoming : undefined;
}

/** The request as the core sees it; ip, user agent and path are read only if events need them. */
// @hono/node-server keeps the Node request a Request was made from under a symbol of its own
// (described "incomingKey"); found once, on the first request that carries it.
let incomingSymbol: symbol | undefined;

/**
 * The Node request behind `c.req.raw`, if @hono/node-server made this very Request from it. The
 * Node request in `c.env` is the one the server received: a sub-request dispatched with
 * `app.fetch(new Request(…), c.env)` shares it, and must not be judged by its lines.
 */
function incomingOf(c: Context): NodeBindings["incoming"] {
  const incoming = nodeIncoming(c);
  if (incoming === undefined) return undefined;
  const request = c.req.raw as unknown as Record<symbol, unknown>;
  if (incomingSymbol === undefined) {
    incomingSymbol = Object.getOwnPropertySymbols(request).find((s) => s.description === "incomingKey" && request[s] === incoming);
    if (incomingSymbol === undefined) return undefined;
  }
  return request[incomingSymbol] === incoming ? incoming : undefined;
}

class HonoRequestFacts extends ClientAddressFacts implements ApiKeyAuthRequest {
  readonly authorization: string | string[] | undefined;
  readonly method: string;
  /** The Node request behind this very Request, on @hono/node-server (found once per request). */
  private readonly incoming: NodeBindings["incoming"];
  constructor(
    private readonly c: Context,
    private readonly getIp: ((c: Context) => string | undefined) | undefined,
  ) {
    super();
    // On @hono/node-server the Node request's raw lines keep repeated Authorization lines apart.
    // Anywhere else (and for a sub-request) the Web headers: there repeated lines arrive joined
    // with ", ", which no key contains, so they are refused as malformed all the same.
    const incoming = (this.incoming = incomingOf(c));
    const raw = incoming?.rawHeaders;
    this.authorization = Array.isArray(raw)
      ? authorizationLines(raw as string[], incoming?.socket)
      : (c.req.raw.headers.get("authorization") ?? undefined);
    this.method = c.req.method;
  }
  protected readIp(): string | undefined {
    const address: unknown = this.getIp !== undefined ? this.getIp(this.c) : nodeIncoming(this.c)?.socket?.remoteAddress;
    if (typeof address === "string") return address;
    dropRejection(address); // an async getIp: no address, and its rejection must not end the process
    return undefined;
  }
  get userAgent(): string | undefined {
    return this.c.req.raw.headers.get("user-agent") ?? undefined;
  }
  get path(): string | undefined {
    // As the client wrote it, like the other adapters: Hono's `c.req.path` is percent-decoded,
    // which would put a `%0D%0A` in the path into events as a real line break.
    const incoming = this.incoming;
    if (typeof incoming?.url === "string") return incoming.url; // the core drops the query string
    const url = this.c.req.url;
    const start = url.indexOf("/", url.indexOf(":") + 3);
    return start < 0 ? "/" : url.slice(start);
  }
}

// Failure results are frozen singletons per authenticator: their header lists are built once.
const headerLists = new WeakMap<ApiKeyAuthFailure, Record<string, string>>();
const headHeaderLists = new WeakMap<ApiKeyAuthFailure, Record<string, string>>();
const utf8 = new TextEncoder();

function respond(failure: ApiKeyAuthFailure, c: Context): Response {
  let headers = headerLists.get(failure);
  if (headers === undefined) {
    headers = { ...failure.headers, "content-type": "application/json" };
    headerLists.set(failure, headers);
  }
  // HEAD: Hono answers it by running the GET route and dropping the body, and with the body goes
  // the length the server would have written. HTTP asks for the headers a GET would get, as the
  // Express and Fastify adapters send them, so the length is stated here. Only for HEAD: on a GET
  // a later middleware may rewrite the body, and a stated length would then be wrong.
  if (c.req.method === "HEAD") {
    let head = headHeaderLists.get(failure);
    if (head === undefined) {
      head = { ...headers, "content-length": String(utf8.encode(failureJson(failure)).byteLength) };
      headHeaderLists.set(failure, head);
    }
    headers = head;
  }
  // Through the context, not a bare Response: headers an earlier middleware set with `c.header()`
  // (a request id, CORS, security headers) stay on the refusal, as they do on Express and Fastify
  // and with Hono's own bearer-auth; ours replace any of the same name. It also hands Hono a
  // Headers list, which middleware that run after `await next()` can still add to (a plain
  // record would be written out as it was on @hono/node-server's HEAD answers).
  // A copy each time: Hono may hand a one-entry record to the Response as it is, and
  // @hono/node-server may write into a response's header record.
  return c.newResponse(failureJson(failure), failure.status, { ...headers });
}

// Hono's compose takes what a middleware resolves to as the response unless the context is
// finalised, and `next()` resolves to the context itself: so resolve to nothing after it.
const nothing = (): void => undefined;

function proceed(result: ApiKeyAuthResult, c: Context<ApiKeyAuthEnv>, next: Next): Promise<Response | void> {
  if (!result.ok) return Promise.resolve(respond(result, c));
  c.set("apiKey", result.key);
  return next().then(nothing);
}

/**
 * Protect Hono routes with API keys; read the key with `c.get("apiKey")`.
 *
 * Repeated Authorization lines: on `@hono/node-server` every raw line is handed to the core (so two
 * lines are refused); elsewhere the Fetch `Headers` object joins them with `", "`, which the
 * header grammar refuses as malformed anyway.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createApiKeyAuth, MemoryKeyStore } from "@fluenzr/api-keys";
 * import { apiKeyAuth, type ApiKeyAuthEnv } from "@fluenzr/api-keys/hono";
 *
 * const auth = createApiKeyAuth({ store: new MemoryKeyStore() });
 * const app = new Hono<ApiKeyAuthEnv>();
 * app.get("/health", (c) => c.json({ ok: true }));
 * app.use("/v1/*", apiKeyAuth(auth));
 * app.get("/v1/contacts", (c) => c.json({ accountId: c.get("apiKey").accountId }));
 * ```
 */
export function apiKeyAuth(auth: ApiKeyAuth, options?: HonoApiKeyAuthOptions): MiddlewareHandler<ApiKeyAuthEnv> {
  const authenticator = requireAuth(auth, "auth");
  const o = optionsObject(options, "options");
  rejectUnknownOptions(o, ["skip", "getIp"], "apiKeyAuth (@fluenzr/api-keys/hono)");
  const skip = optionalFunction<(c: Context) => boolean>(o["skip"], "skip");
  const getIp = optionalFunction<(c: Context) => string | undefined>(o["getIp"], "getIp");

  // Not an async function: a ready answer continues with `next()` itself, no extra await.
  return function apiKeyAuthMiddleware(c, next) {
    if (shouldSkip(skip, c)) return next().then(nothing);
    let outcome: ApiKeyAuthResult | Promise<ApiKeyAuthResult>;
    try {
      outcome = runAuth(authenticator, new HonoRequestFacts(c, getIp));
    } catch {
      outcome = FALLBACK_FAILURE;
    }
    return outcome instanceof Promise ? outcome.then((result) => proceed(result, c, next)) : proceed(outcome, c, next);
  };
}
