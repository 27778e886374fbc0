// AWS Signature Version 4 in the browser, with WebCrypto (SubtleCrypto
// exists on https pages and on http://127.0.0.1 and localhost, which
// browsers count as secure). It follows the canonical form of AWS's SDKs
// for every service but S3: the path encoded a second time, the query
// decoded and encoded again in RFC 3986 style, header values trimmed.

const encoder = new TextEncoder();

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytes(data) {
  if (data == null) return new Uint8Array(0);
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError("sigv4: body must be a string, Uint8Array or ArrayBuffer");
}

async function sha256(data) {
  return hex(await crypto.subtle.digest("SHA-256", bytes(data)));
}

async function hmac(key, data) {
  const k = await crypto.subtle.importKey("raw", bytes(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, bytes(data)));
}

// escape percent-encodes every byte (of s's UTF-8, or of a Uint8Array)
// but the unreserved ones (and "/" in a path), with upper-case hex.
function escape(s, path) {
  let out = "";
  for (const b of typeof s === "string" ? encoder.encode(s) : s) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (path && c === "/")) out += c;
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

// unescape decodes a query component ("+" is a space) to its bytes; one
// with a malformed escape is kept as sent, as the server does.
function unescape(s) {
  if (!/[%+]/.test(s)) return s;
  const out = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "+") out.push(0x20);
    else if (s[i] === "%") {
      if (!/^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) return s;
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(...encoder.encode(s[i]));
  }
  return new Uint8Array(out);
}

// sentPath is the path as the server reads it (Go's URL.EscapedPath):
// the path as sent when it is a valid encoding, else re-encoded. A page's
// URL may carry characters such as "|" or "^" unencoded, which the
// server's reading encodes.
function sentPath(raw) {
  if (/^(?:[A-Za-z0-9\-_.~!$&'()*+,;=:@\[\]/]|%[0-9A-Fa-f]{2})*$/.test(raw)) return raw;
  const decoded = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
      decoded.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      decoded.push(...encoder.encode(raw[i]));
    }
  }
  let out = '';
  for (const b of decoded) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// canonicalPath removes empty, "." and ".." segments, keeping a leading
// and a trailing slash, then encodes the (already encoded) path again.
export function canonicalPath(raw) {
  const p = sentPath(raw);
  if (p === "" || p === "/") return "/";
  const segs = [];
  for (const s of p.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") segs.pop();
    else segs.push(s);
  }
  let out = segs.join("/");
  if (p.startsWith("/")) out = "/" + out;
  if (segs.length > 0 && p.endsWith("/")) out += "/";
  return escape(out, true);
}

export function canonicalQuery(search) {
  const raw = search.startsWith("?") ? search.slice(1) : search;
  if (raw === "") return "";
  const pairs = [];
  for (const piece of raw.split("&")) {
    if (piece === "") continue;
    const i = piece.indexOf("=");
    const k = i < 0 ? piece : piece.slice(0, i);
    const v = i < 0 ? "" : piece.slice(i + 1);
    pairs.push([escape(unescape(k), false), escape(unescape(v), false)]);
  }
  // Sorted by the encoded bytes, key first: plain comparison does that,
  // since encoded strings are ASCII.
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => k + "=" + v).join("&");
}

// canonicalValue trims a header value and makes each run of spaces one.
function canonicalValue(v) {
  return String(v).replace(/^[ \t]+|[ \t]+$/g, "").replace(/ +/g, " ");
}

// amzDate is t as 20060102T150405Z.
export function amzDate(t) {
  return t.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

const keyCache = new Map();

// signingKey derives the day's key; derived keys are kept, few as they
// are (one per day, region and service).
export async function signingKey(secret, day, region, service) {
  const id = [secret, day, region, service].join("\n");
  let k = keyCache.get(id);
  if (!k) {
    k = await hmac("AWS4" + secret, day);
    k = await hmac(k, region);
    k = await hmac(k, service);
    k = await hmac(k, "aws4_request");
    if (keyCache.size > 32) keyCache.clear();
    keyCache.set(id, k);
  }
  return k;
}

// sign returns the headers to send: req.headers plus X-Amz-Date,
// X-Amz-Security-Token (with a session token) and Authorization. Every
// header in req.headers is signed, and so is Host, taken from the URL
// as the browser will send it. Leave out headers the browser sets itself
// (Content-Length, Origin): their values are not the page's to choose.
//
//   req:   {method, url, headers: {name: value}, body}
//   creds: {accessKeyId, secretAccessKey, sessionToken}
//   opts:  {service, region, date (a Date; now if absent)}
export async function sign(req, creds, opts) {
  const url = new URL(req.url);
  const date = amzDate(opts.date || new Date());
  const day = date.slice(0, 8);
  const headers = {};
  for (const [k, v] of Object.entries(req.headers || {})) headers[k] = String(v);
  headers["X-Amz-Date"] = date;
  if (creds.sessionToken) headers["X-Amz-Security-Token"] = creds.sessionToken;

  const canon = new Map([["host", canonicalValue(url.host)]]);
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    const prev = canon.get(name);
    canon.set(name, prev === undefined ? canonicalValue(v) : prev + "," + canonicalValue(v));
  }
  const names = [...canon.keys()].sort();
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    (req.method || "GET").toUpperCase(),
    canonicalPath(url.pathname),
    canonicalQuery(url.search),
    names.map((n) => n + ":" + canon.get(n) + "\n").join(""),
    signedHeaders,
    await sha256(req.body),
  ].join("\n");
  const scope = `${day}/${opts.region}/${opts.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, await sha256(canonicalRequest)].join("\n");
  const key = await signingKey(creds.secretAccessKey, day, opts.region, opts.service);
  const signature = hex(await hmac(key, stringToSign));
  headers["Authorization"] =
    `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
