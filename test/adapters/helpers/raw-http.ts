/**
 * A raw HTTP/1.1 client over node:net: the test decides every byte of the request, which a
 * normal client (fetch, http.request) would validate, normalise or refuse to send.
 */
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/** Send `bytes` to 127.0.0.1:`port` and read the response until the server closes. */
export function rawRequest(port: number, bytes: Buffer, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no complete response in time"));
    }, timeoutMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (error) => {
      // A server may reset after answering a request it refused; keep what arrived.
      if (chunks.length === 0) {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    socket.end(bytes);
  });
}

function parseResponse(data: Buffer): RawResponse {
  const text = data.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) throw new Error(`incomplete response: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (match === null) throw new Error(`bad status line: ${statusLine}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let body = data.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1"));
  if (headers["transfer-encoding"] === "chunked") body = dechunk(body);
  return { status: Number(match[1]), headers, body: body.toString("utf8") };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf("\r\n", at);
    if (eol === -1) break;
    const size = parseInt(data.subarray(at, eol).toString("latin1"), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Build request bytes: request line, Host, Connection: close, the given lines, and a body for POST. */
export function requestBytes(
  method: string,
  path: string,
  lines: readonly string[],
  encoding: "utf8" | "latin1" = "utf8",
  version = "1.1",
): Buffer {
  const body = method === "POST" ? "{}" : "";
  const head = [
    `${method} ${path} HTTP/${version}`,
    "Host: 127.0.0.1",
    "Connection: close",
    ...lines,
    ...(method === "POST" ? ["Content-Type: application/json", `Content-Length: ${body.length}`] : []),
  ].join("\r\n");
  return Buffer.concat([Buffer.from(head, encoding), Buffer.from(`\r\n\r\n${body}`, "latin1")]);
}

export interface RawExchange {
  /** The responses, in order, each parsed as {@link RawResponse}. */
  responses: RawResponse[];
  /** Bytes after the last complete response (a desynchronised connection leaves some). */
  rest: string;
}

/**
 * Send `bytes` (one or several requests, pipelined) on one connection and split what comes back
 * into responses until the server closes. `heads[i]` is true when the i-th request was a HEAD:
 * its response has no body, whatever its Content-Length says (RFC 9110 §9.3.2).
 */
export function rawExchange(port: number, bytes: Buffer, heads: readonly boolean[] = [], timeoutMs = 5000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("the server did not close the connection in time"));
    }, timeoutMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", () => {
      // A reset after the answers: keep what arrived ("close" follows).
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(splitResponses(Buffer.concat(chunks), heads));
    });
    socket.write(bytes);
  });
}

function splitResponses(data: Buffer, heads: readonly boolean[]): RawExchange {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf("\r\n\r\n", at);
    if (end === -1) break;
    const head = data.subarray(at, end + 4);
    const { status, headers } = parseResponse(head);
    let bodyEnd = end + 4;
    if (!heads[responses.length]) {
      if (headers["content-length"] !== undefined) bodyEnd += Number(headers["content-length"]);
      else if (headers["transfer-encoding"] === "chunked") bodyEnd = data.indexOf("0\r\n\r\n", bodyEnd) + 5;
      else bodyEnd = data.length; // delimited by the close
    }
    const body = data.subarray(end + 4, bodyEnd);
    const text = headers["transfer-encoding"] === "chunked" ? dechunk(body) : body;
    responses.push({ status, headers, body: text.toString("utf8") });
    at = bodyEnd;
  }
  return { responses, rest: data.subarray(at).toString("latin1") };
}
