// The AWS APIs the console calls, through the admin listener's API
// pass-through on this page's own origin. Every request is signed with
// SigV4, as the server always requires a signature: with --auth=none any
// key will do (the default one below, or the one given at sign-in, whose
// 12-digit id names the account); with --auth=sigv4 the key signed in
// with, whose policies then apply as they do to any client.

import { sign } from "./sigv4.js";

const services = {
  kinesis: { target: "Kinesis_20131202", json: "1.1" },
  firehose: { target: "Firehose_20150804", json: "1.1" },
  dynamodb: { target: "DynamoDB_20120810", json: "1.0" },
  // CloudWatch's JSON protocol (awsJson1_0, query-compatible):
  // timestamps are epoch seconds.
  monitoring: { target: "GraniteServiceVersion20100801", json: "1.0" },
};

const storageKey = "rivulet.console.credentials";

// defaultCredentials sign requests before anyone signs in; a server with
// --auth=none accepts them (as account 000000000000), one with
// --auth=sigv4 answers UnrecognizedClientException and the sign-in form
// appears.
export const defaultCredentials = Object.freeze({
  accessKeyId: "rivulet-console",
  secretAccessKey: "rivulet-console",
  sessionToken: "",
  region: "us-east-1",
});

// credentials are the signed-in key, or the default one.
export function credentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(storageKey) || "null");
    if (c && c.accessKeyId && c.secretAccessKey) {
      return { sessionToken: "", region: defaultCredentials.region, ...c };
    }
  } catch {
    // a damaged entry counts as none
  }
  return defaultCredentials;
}

// signedIn reports whether a key was given at sign-in.
export function signedIn() {
  return credentials() !== defaultCredentials;
}

export function region() {
  return credentials().region || defaultCredentials.region;
}

// setCredentials keeps c for this tab (sessionStorage: gone when the tab
// closes); null forgets it.
export function setCredentials(c) {
  if (c) sessionStorage.setItem(storageKey, JSON.stringify(c));
  else sessionStorage.removeItem(storageKey);
}

// AuthCodes are the errors that mean "this key does not work here", as
// opposed to "this key may not do that".
export const authCodes = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignatureException",
  "MissingAuthenticationTokenException",
  "MissingAuthenticationToken",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "ExpiredToken",
  "SignatureDoesNotMatch",
]);

export function isAuthError(err) {
  return !!err && authCodes.has(err.code);
}

// APIError is an AWS error answer: code is the bare error name
// ("ResourceNotFoundException"), message AWS's text.
export class APIError extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.name = "APIError";
    this.code = code;
    this.status = status;
  }
}

// errorCode reads "com.amazonaws.kinesis.v20131202#ResourceInUseException"
// and "ValidationException:http://..." as their last, bare name.
function errorCode(type) {
  let code = String(type || "");
  const hash = code.lastIndexOf("#");
  if (hash >= 0) code = code.slice(hash + 1);
  const colon = code.indexOf(":");
  if (colon >= 0) code = code.slice(0, colon);
  return code.trim();
}

// skew is the server's clock minus ours, learnt from a refused signature,
// so that a page on a machine with a wrong clock still works.
let skew = 0;

function skewed(resp, code, message) {
  if (code !== "InvalidSignatureException" && code !== "SignatureDoesNotMatch") return false;
  if (!/expired|not yet current|clock skew|time stamp/i.test(message || "")) return false;
  const server = Date.parse(resp.headers.get("Date") || "");
  if (Number.isNaN(server)) return false;
  skew = server - Date.now();
  return true;
}

// call sends one operation and returns its parsed JSON answer; an error
// answer throws an APIError. opts.credentials overrides the stored key
// (the sign-in form's probe).
export async function call(service, op, input = {}, opts = {}) {
  const svc = services[service];
  if (!svc) throw new Error(`unknown service ${service}`);
  if (!(globalThis.crypto && crypto.subtle)) {
    // Browsers offer WebCrypto only to secure pages: https, or http on a
    // loopback address.
    throw new APIError('InsecureContext', 'This browser signs requests only on https or on http://127.0.0.1 and localhost: ' +
      'open the console through a loopback address (an SSH tunnel: ssh -L 4568:127.0.0.1:4568 host).', 0);
  }
  const creds = opts.credentials || credentials();
  const body = JSON.stringify(input || {});
  const url = new URL("/", location.href).href;
  for (let attempt = 0; ; attempt++) {
    const headers = await sign(
      {
        method: "POST",
        url,
        headers: {
          "Content-Type": `application/x-amz-json-${svc.json}`,
          "X-Amz-Target": `${svc.target}.${op}`,
        },
        body,
      },
      creds,
      { service, region: creds.region || defaultCredentials.region, date: new Date(Date.now() + skew) },
    );
    if (service === "monitoring") headers["X-Amzn-Query-Mode"] = "true"; // as botocore sends it
    let resp;
    try {
      resp = await fetch(url, { method: "POST", headers, body, credentials: "omit", cache: "no-store", signal: opts.signal });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new APIError("NetworkError", `${op}: the server did not answer (${err.message})`, 0);
    }
    const text = await resp.text();
    let data = {};
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { message: text.slice(0, 500) };
      }
    }
    if (resp.ok) return data;
    // CloudWatch's query-compatible errors name their code in a header.
    const query = (resp.headers.get("x-amzn-query-error") || "").split(";")[0];
    const code =
      errorCode(data.__type || data.code || resp.headers.get("x-amzn-ErrorType")) ||
      query ||
      (resp.status === 403 ? "Forbidden" : `HTTP${resp.status}`);
    const message = data.message || data.Message || data.errorMessage || resp.statusText;
    if (attempt === 0 && skewed(resp, code, message)) continue;
    throw new APIError(code, message, resp.status);
  }
}

// callAll follows a paginated operation to its end and returns every
// item of the list named items: tokenIn names the request's token field,
// tokenOut the answer's (for DynamoDB, keys: pass next to build them).
export async function callAll(service, op, input, { items, tokenIn = "NextToken", tokenOut = "NextToken", next, max = 10000 }) {
  const out = [];
  let req = { ...input };
  for (;;) {
    const page = await call(service, op, req);
    out.push(...(page[items] || []));
    if (out.length >= max) return out;
    const more = next ? next(page, req) : page[tokenOut] ? { ...req, [tokenIn]: page[tokenOut] } : null;
    if (!more) return out;
    req = more;
  }
}
