/**
 * Express middleware (4 and 5): reads every raw Authorization line, asks the core, and either
 * sets `req.apiKey` and calls `next()`, or answers the envelope itself so no error
 * handler of the app is needed and no promise is left to Express 4, which would not catch it.
 *
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { ApiKeyAuth, ApiKeyAuthRequest, ApiKeyAuthResult, AuthenticatedApiKey } from "../../auth/create-api-key-auth.js";
import type { ApiKeyAuthFailure } from "../../auth/responses.js";
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

declare global {
  // Express's own types are declared through this global namespace (declaration merging).
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified key, set by `apiKeyAuth` on the routes it protects. */
      apiKey?: AuthenticatedApiKey | undefined;
    }
  }
}

/**
 * Options of the Express {@link apiKeyAuth}.
 *
 * @example
 * ```ts
 * import { apiKeyAuth, type ExpressApiKeyAuthOptions } from "@fluenzr/api-keys/express";
 * const options: ExpressApiKeyAuthOptions = { skip: (req) => req.path === "/health" };
 * app.use(apiKeyAuth(auth, options));
 * ```
 */
export interface ExpressApiKeyAuthOptions {
  /**
   * Leave a request open when this returns `true` (health checks, public docs). It runs before
   * anything else; if it throws, the request is authenticated as usual (fails closed).
   */
  skip?: ((req: Request) => boolean) | undefined;
}

/**
 * The request as the core sees it. ip, user agent and path are getters: the core reads them only
 * for events, and Express's `req.ip` (proxy-addr) is not free on every request.
 */
class ExpressRequestFacts extends ClientAddressFacts implements ApiKeyAuthRequest {
  readonly authorization: string | string[] | undefined;
  readonly method: string;
  constructor(private readonly req: Request) {
    super();
    this.authorization = authorizationLines(req.rawHeaders, req.socket);
    this.method = req.method;
  }
  protected readIp(): string | undefined {
    return this.req.ip ?? this.req.socket?.remoteAddress;
  }
  get userAgent(): string | undefined {
    const ua = this.req.headers["user-agent"];
    return typeof ua === "string" ? ua : undefined;
  }
  get path(): string | undefined {
    return this.req.originalUrl ?? this.req.url; // the core drops the query string
  }
}

function send(res: Response, failure: ApiKeyAuthFailure): void {
  if (res.headersSent) return;
  const body = failureJson(failure);
  res.statusCode = failure.status;
  for (const name in failure.headers) res.setHeader(name, failure.headers[name] as string);
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

function settle(result: ApiKeyAuthResult, req: Request, res: Response, next: NextFunction): void {
  if (result.ok) {
    req.apiKey = result.key;
    next();
    return;
  }
  try {
    send(res, result);
  } catch {
    send(res, FALLBACK_FAILURE);
  }
}

/**
 * Protect Express routes with API keys. Accepted requests carry `req.apiKey`; refused ones are
 * answered here with the status, `WWW-Authenticate`/`Retry-After` headers and JSON body of the
 * result. Works with Express 4 and 5.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { createApiKeyAuth, MemoryKeyStore } from "@fluenzr/api-keys";
 * import { apiKeyAuth } from "@fluenzr/api-keys/express";
 *
 * const auth = createApiKeyAuth({ store: new MemoryKeyStore() });
 * const app = express();
 * app.use("/v1", apiKeyAuth(auth, { skip: (req) => req.path === "/health" }));
 * app.get("/v1/contacts", (req, res) => res.json({ accountId: req.apiKey?.accountId }));
 * ```
 */
export function apiKeyAuth(auth: ApiKeyAuth, options?: ExpressApiKeyAuthOptions): RequestHandler {
  const authenticator = requireAuth(auth, "auth");
  const o = optionsObject(options, "options");
  rejectUnknownOptions(o, ["skip"], "apiKeyAuth (@fluenzr/api-keys/express)");
  const skip = optionalFunction<(req: Request) => boolean>(o["skip"], "skip");

  return function apiKeyAuthMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (shouldSkip(skip, req)) {
      next();
      return;
    }
    let outcome: ApiKeyAuthResult | Promise<ApiKeyAuthResult>;
    try {
      outcome = runAuth(authenticator, new ExpressRequestFacts(req));
    } catch {
      outcome = FALLBACK_FAILURE;
    }
    // A ready answer goes on in the same tick; a pending one is settled with every error kept
    // inside the chain and nothing returned to Express, so no rejection can escape (Express 4
    // would crash the process on an unhandled one on Node ≥ 15).
    if (outcome instanceof Promise) {
      outcome
        .then((result) => settle(result, req, res, next))
        .catch(() => {
          try {
            send(res, FALLBACK_FAILURE);
          } catch {
            // Nothing more can be done for this response; the rejection is still handled.
          }
        });
    } else {
      settle(outcome, req, res, next);
    }
  };
}
