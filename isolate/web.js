(function (h) {
"use strict";
// The web-standard classes fetch handlers use: Headers, Request, Response,
// URL, URLSearchParams, TextEncoder, TextDecoder, AbortController and
// AbortSignal. Built once per isolate, on first use; h holds the host's
// helpers, written in Go.
const S = Symbol("state");
const tokenRE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A header value is a ByteString: no code unit above U+00FF, and none of
// CR, LF and NUL. One scan finds either; the message names the first.
const badValueRE = /[\r\n\0\u0100-\uffff]/;
const crlfRE = /[\r\n]/;
const noInit = Object.freeze({});

function str(v) { return typeof v === "string" ? v : String(v); }
function hname(n) {
  n = str(n);
  if (!tokenRE.test(n)) throw new TypeError("invalid header name: " + JSON.stringify(n.slice(0, 64)));
  return n.toLowerCase();
}
// hvalue checks and normalises a value of header name (already checked).
function hvalue(name, v) {
  v = str(v);
  const n = v.length;
  if (n > 0 && (v.charCodeAt(0) <= 32 || v.charCodeAt(n - 1) <= 32)) v = v.replace(/^[ \t]+|[ \t]+$/g, "");
  const bad = badValueRE.exec(v);
  if (bad !== null) {
    const what = bad[0].charCodeAt(0) > 0xff ? "a character above U+00FF is not allowed (header values are bytes)" : "CR, LF and NUL are not allowed";
    throw new TypeError("invalid value of header " + JSON.stringify(name.slice(0, 64)) + ": " + what);
  }
  return v;
}
// setKnown sets header n to v where both are the library's own constants,
// already valid and lower case: no checks, no copies.
function setKnown(hs, n, v, onlyIfAbsent) {
  const l = hs[S];
  for (let i = 0; i < l.length; i++) {
    if (l[i][0] !== n) continue;
    if (onlyIfAbsent) return;
    hs.set(n, v);
    return;
  }
  l.push([n, v]);
}
function isIterable(o) { return o != null && typeof o[Symbol.iterator] === "function"; }

class Headers {
  constructor(init) {
    this[S] = [];
    if (init == null) return;
    if (init instanceof Headers) { for (const [k, v] of init[S]) this[S].push([k, v]); return; }
    if (typeof init !== "object") throw new TypeError("Headers: init must be an object or a sequence of pairs");
    if (isIterable(init)) {
      for (const p of init) {
        const a = Array.from(p);
        if (a.length !== 2) throw new TypeError("Headers: each pair needs a name and a value");
        this.append(a[0], a[1]);
      }
      return;
    }
    for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  append(n, v) { n = hname(n); this[S].push([n, hvalue(n, v)]); }
  set(n, v) {
    n = hname(n); v = hvalue(n, v);
    const l = this[S]; let done = false;
    for (let i = 0; i < l.length; i++) {
      if (l[i][0] !== n) continue;
      if (!done) { l[i][1] = v; done = true; } else { l.splice(i, 1); i--; }
    }
    if (!done) l.push([n, v]);
  }
  get(n) {
    n = hname(n); const vs = [];
    for (const [k, v] of this[S]) if (k === n) vs.push(v);
    return vs.length ? vs.join(", ") : null;
  }
  getSetCookie() { const vs = []; for (const [k, v] of this[S]) if (k === "set-cookie") vs.push(v); return vs; }
  has(n) { n = hname(n); return this[S].some(p => p[0] === n); }
  delete(n) { n = hname(n); const l = this[S]; for (let i = l.length - 1; i >= 0; i--) if (l[i][0] === n) l.splice(i, 1); }
  forEach(fn, self) { for (const [k, v] of this.entries()) fn.call(self, v, k, this); }
  *entries() {
    const names = [...new Set(this[S].map(p => p[0]))].sort();
    for (const n of names) {
      if (n === "set-cookie") { for (const v of this.getSetCookie()) yield [n, v]; }
      else yield [n, this.get(n)];
    }
  }
  *keys() { for (const [k] of this.entries()) yield k; }
  *values() { for (const [, v] of this.entries()) yield v; }
  [Symbol.iterator]() { return this.entries(); }
}

function bytesOf(v) {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (v instanceof ArrayBuffer) return new Uint8Array(v.slice(0));
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  return null;
}

// body turns a body init into bytes and the content type it implies.
function body(init) {
  if (init == null) return [null, null];
  if (typeof init === "string") return [h.enc(init), "text/plain;charset=UTF-8"];
  if (init instanceof URLSearchParams) return [h.enc(init.toString()), "application/x-www-form-urlencoded;charset=UTF-8"];
  const b = bytesOf(init);
  if (b) return [b, null];
  return [h.enc(String(init)), "text/plain;charset=UTF-8"];
}

const Body = {
  take(o) {
    const s = o[S];
    if (s.used) return Promise.reject(new TypeError("body already used"));
    s.used = true;
    return null;
  },
};
function bodyMethods(C) {
  Object.defineProperty(C.prototype, "bodyUsed", { get() { return this[S].used; } });
  Object.defineProperty(C.prototype, "body", { get() { return this[S].body; } });
  C.prototype.arrayBuffer = async function () {
    const r = Body.take(this); if (r) return r;
    const b = this[S].body; return b ? b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) : new ArrayBuffer(0);
  };
  C.prototype.bytes = async function () {
    const r = Body.take(this); if (r) return r;
    const b = this[S].body; return b ? new Uint8Array(b) : new Uint8Array(0);
  };
  C.prototype.text = async function () {
    const r = Body.take(this); if (r) return r;
    const b = this[S].body; return b ? h.dec(b, false, false) : "";
  };
  C.prototype.json = async function () {
    const r = Body.take(this); if (r) return r;
    const b = this[S].body; return JSON.parse(b ? h.dec(b, false, false) : "");
  };
  C.prototype.formData = function () { return Promise.reject(new TypeError("formData is not supported")); };
}

const methods = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"]);

class Request {
  constructor(input, init) {
    init = init || {};
    let s;
    if (input instanceof Request) {
      const o = input[S];
      s = { url: o.url, method: o.method, headers: new Headers(input.headers), body: o.body, signal: o.signal, used: false };
    } else {
      s = { url: new URL(str(input)).href, method: "GET", headers: new Headers(), body: null, signal: null, used: false };
    }
    if (init.method !== undefined) {
      const m = str(init.method);
      if (!tokenRE.test(m)) throw new TypeError("invalid method: " + JSON.stringify(m.slice(0, 32)));
      s.method = methods.has(m.toUpperCase()) ? m.toUpperCase() : m;
    }
    if (init.headers !== undefined) s.headers = new Headers(init.headers);
    if (init.signal !== undefined) s.signal = init.signal;
    if (init.body !== undefined && init.body !== null) {
      if (s.method === "GET" || s.method === "HEAD") throw new TypeError("a GET or HEAD request has no body");
      const [b, type] = body(init.body);
      s.body = b;
      if (type) setKnown(s.headers, "content-type", type, true);
    }
    this[S] = s;
  }
  get url() { return this[S].url; }
  get method() { return this[S].method; }
  get headers() {
    const s = this[S];
    if (!s.headers) {
      const h = new Headers(), l = h[S], raw = s.raw;
      for (let i = 0; i + 1 < raw.length; i += 2) l.push([raw[i].toLowerCase(), raw[i + 1]]);
      s.headers = h;
      s.raw = null;
    }
    return s.headers;
  }
  get signal() {
    const s = this[S];
    if (!s.signal) { // made on first use: most handlers never look
      const c = new AbortController();
      if (s.aborted) c.abort();
      s.signal = c.signal;
    }
    return s.signal;
  }
  get redirect() { return "follow"; }
  clone() {
    if (this[S].used) throw new TypeError("body already used");
    return new Request(this);
  }
}
bodyMethods(Request);

class Response {
  constructor(b, init) {
    init = init || noInit;
    const status = init.status === undefined ? 200 : Number(init.status);
    if (init.webSocket !== undefined && init.webSocket !== null) {
      if (!(init.webSocket instanceof WebSocket)) throw new TypeError("webSocket must be a WebSocket from ctx.acceptWebSocket");
      if (status !== 101) throw new RangeError("a Response with a webSocket has status 101");
    } else if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError("status must be an integer from 200 to 599, got " + String(init.status));
    const s = { status, statusText: init.statusText === undefined ? "" : str(init.statusText), headers: new Headers(init.headers), body: null, used: false, webSocket: init.webSocket || null };
    if (s.statusText !== "" && crlfRE.test(s.statusText)) throw new TypeError("invalid statusText");
    if (b != null) {
      if (status === 204 || status === 205 || status === 304) throw new TypeError("a " + status + " response has no body");
      const [bytes, type] = body(b);
      s.body = bytes;
      if (type) setKnown(s.headers, "content-type", type, true);
    }
    this[S] = s;
  }
  static json(data, init) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Response.json: the value cannot be serialised");
    const r = new Response(text, init);
    setKnown(r[S].headers, "content-type", "application/json", false);
    return r;
  }
  static redirect(url, status) {
    status = status === undefined ? 302 : status;
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError("invalid redirect status " + status);
    return new Response(null, { status, headers: { location: new URL(str(url)).href } });
  }
  static error() { return new Response(null, { status: 500 }); }
  get status() { return this[S].status; }
  get statusText() { return this[S].statusText; }
  get ok() { return this[S].status >= 200 && this[S].status < 300; }
  get headers() { return this[S].headers; }
  get redirected() { return false; }
  get url() { return this[S].url || ""; }
  get type() { return "default"; }
  get webSocket() { return this[S].webSocket; }
  clone() {
    if (this[S].used) throw new TypeError("body already used");
    const s = this[S];
    return new Response(s.body, { status: s.status, statusText: s.statusText, headers: s.headers });
  }
}
bodyMethods(Response);

class URLSearchParams {
  constructor(init) {
    this[S] = { list: [], url: null };
    if (init == null) return;
    if (init instanceof URLSearchParams) { this[S].list = init[S].list.map(p => [p[0], p[1]]); return; }
    if (typeof init === "object") {
      if (isIterable(init)) {
        for (const p of init) {
          const a = Array.from(p);
          if (a.length !== 2) throw new TypeError("URLSearchParams: each pair needs a name and a value");
          this[S].list.push([str(a[0]), str(a[1])]);
        }
      } else {
        for (const k of Object.keys(init)) this[S].list.push([k, str(init[k])]);
      }
      return;
    }
    let q = str(init);
    if (q.startsWith("?")) q = q.slice(1);
    this[S].list = h.formParse(q);
  }
  _update() { const u = this[S].url; if (u) u[S].search = this[S].list.length ? "?" + this.toString() : ""; }
  get size() { return this[S].list.length; }
  append(k, v) { this[S].list.push([str(k), str(v)]); this._update(); }
  delete(k, v) { k = str(k); this[S].list = this[S].list.filter(p => !(p[0] === k && (v === undefined || p[1] === str(v)))); this._update(); }
  get(k) { k = str(k); const p = this[S].list.find(p => p[0] === k); return p ? p[1] : null; }
  getAll(k) { k = str(k); return this[S].list.filter(p => p[0] === k).map(p => p[1]); }
  has(k, v) { k = str(k); return this[S].list.some(p => p[0] === k && (v === undefined || p[1] === str(v))); }
  set(k, v) {
    k = str(k); v = str(v);
    const l = this[S].list; const i = l.findIndex(p => p[0] === k);
    if (i < 0) l.push([k, v]);
    else { l[i][1] = v; this[S].list = l.filter((p, j) => j <= i || p[0] !== k); }
    this._update();
  }
  sort() { this[S].list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this._update(); }
  forEach(fn, self) { for (const [k, v] of this[S].list) fn.call(self, v, k, this); }
  *entries() { for (const p of this[S].list) yield [p[0], p[1]]; }
  *keys() { for (const p of this[S].list) yield p[0]; }
  *values() { for (const p of this[S].list) yield p[1]; }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this[S].list.map(p => h.formEncode(p[0]) + "=" + h.formEncode(p[1])).join("&"); }
}

const urlParts = ["href", "protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"];
class URL {
  constructor(input, base) {
    const a = h.url(str(input), base === undefined ? undefined : str(base));
    const s = {};
    for (let i = 0; i < urlParts.length; i++) s[urlParts[i]] = a[i];
    s.params = null;
    this[S] = s;
  }
  static canParse(input, base) { try { new URL(input, base); return true; } catch (e) { return false; } }
  get href() {
    const s = this[S];
    const auth = s.username || s.password ? s.username + (s.password ? ":" + s.password : "") + "@" : "";
    const host = this.host;
    const special = host !== "" || s.protocol === "file:";
    return s.protocol + (special ? "//" + auth + host : "") + s.pathname + s.search + s.hash;
  }
  get origin() { const s = this[S]; return s.hostname ? s.protocol + "//" + this.host : "null"; }
  get protocol() { return this[S].protocol; }
  get username() { return this[S].username; }
  get password() { return this[S].password; }
  get host() { const s = this[S]; return s.hostname + (s.port ? ":" + s.port : ""); }
  get hostname() { return this[S].hostname; }
  get port() { return this[S].port; }
  get pathname() { return this[S].pathname; }
  get search() { return this[S].search.length > 1 ? this[S].search : ""; }
  set search(v) {
    v = str(v); if (v.startsWith("?")) v = v.slice(1);
    const n = new URL("?" + v, this.href);
    this[S].search = n[S].search;
    if (this[S].params) this[S].params[S].list = h.formParse(this[S].search.slice(1));
  }
  get hash() { return this[S].hash.length > 1 ? this[S].hash : ""; }
  set hash(v) { v = str(v); if (v.startsWith("#")) v = v.slice(1); this[S].hash = v ? new URL("#" + v, this.href)[S].hash : ""; }
  get searchParams() {
    const s = this[S];
    if (!s.params) { s.params = new URLSearchParams(s.search.slice(1)); s.params[S].url = this; }
    return s.params;
  }
  toString() { return this.href; }
  toJSON() { return this.href; }
}

class TextEncoder {
  get encoding() { return "utf-8"; }
  encode(s) { return h.enc(s === undefined ? "" : str(s)); }
  encodeInto(s, dest) {
    const b = h.enc(str(s));
    const n = Math.min(b.length, dest.length);
    // Do not split a UTF-8 sequence.
    let end = n;
    while (end > 0 && end < b.length && (b[end] & 0xc0) === 0x80) end--;
    dest.set(b.subarray(0, end));
    return { read: str(s).length, written: end };
  }
}

class TextDecoder {
  constructor(label, opts) {
    label = label === undefined ? "utf-8" : str(label).trim().toLowerCase();
    if (label !== "utf-8" && label !== "utf8" && label !== "unicode-1-1-utf-8") throw new RangeError("TextDecoder: only utf-8 is supported, got " + JSON.stringify(label.slice(0, 32)));
    opts = opts || {};
    this[S] = { fatal: !!opts.fatal, ignoreBOM: !!opts.ignoreBOM };
  }
  get encoding() { return "utf-8"; }
  get fatal() { return this[S].fatal; }
  get ignoreBOM() { return this[S].ignoreBOM; }
  decode(b) {
    if (b === undefined) return "";
    const u = b instanceof Uint8Array ? b : bytesOf(b);
    if (!u) throw new TypeError("TextDecoder.decode: expects an ArrayBuffer or a view of one");
    return h.dec(u, this[S].fatal, this[S].ignoreBOM);
  }
}

class AbortSignal {
  constructor(key) {
    if (key !== S) throw new TypeError("Illegal constructor");
    this[S] = { aborted: false, reason: undefined, listeners: [] };
    this.onabort = null;
  }
  static abort(reason) { const c = new AbortController(); c.abort(reason); return c.signal; }
  get aborted() { return this[S].aborted; }
  get reason() { return this[S].reason; }
  throwIfAborted() { if (this[S].aborted) throw this[S].reason; }
  addEventListener(type, fn) { if (type === "abort" && typeof fn === "function") this[S].listeners.push(fn); }
  removeEventListener(type, fn) { if (type === "abort") this[S].listeners = this[S].listeners.filter(f => f !== fn); }
}
function abortSignal(signal, reason) {
  const s = signal[S];
  if (s.aborted) return;
  s.aborted = true;
  s.reason = reason === undefined ? new DOMException("The operation was aborted.", "AbortError") : reason;
  const ev = { type: "abort", target: signal };
  const fns = s.listeners; s.listeners = [];
  let first = null;
  for (const fn of [signal.onabort, ...fns]) {
    if (typeof fn !== "function") continue;
    try { fn.call(signal, ev); } catch (e) { if (first === null) first = e; }
  }
  if (first !== null) throw first;
}
class AbortController {
  constructor() { this[S] = new AbortSignal(S); }
  get signal() { return this[S]; }
  abort(reason) { abortSignal(this[S], reason); }
}

class DOMException extends Error {
  constructor(message, name) { super(message === undefined ? "" : str(message)); this.name = name === undefined ? "Error" : str(name); }
}

// WebSocket is a connection the host holds; scripts get them from
// ctx.acceptWebSocket and ctx.getWebSockets, never construct them.
class WebSocket {
  constructor(key, id, tags) {
    if (key !== S) throw new TypeError("Illegal constructor: use ctx.acceptWebSocket(request)");
    this[S] = { id, tags: Object.freeze(tags.slice()), state: 1 };
  }
  get readyState() { return this[S].state; }
  get tags() { return this[S].tags; }
  send(data) {
    if (this[S].state !== 1) throw new TypeError("WebSocket is not open");
    if (typeof data === "string") { h.wsSend(this[S].id, h.enc(data), true); return; }
    const b = bytesOf(data);
    if (!b) throw new TypeError("send takes a string, an ArrayBuffer or a view of one");
    h.wsSend(this[S].id, b, false);
  }
  close(code, reason) {
    if (this[S].state >= 2) return;
    if (code !== undefined && !(code === 1000 || (code >= 3000 && code <= 4999))) throw new RangeError("close code must be 1000 or from 3000 to 4999");
    reason = reason === undefined ? "" : str(reason);
    if (h.enc(reason).length > 123) throw new SyntaxError("close reason is longer than 123 bytes");
    this[S].state = 2;
    h.wsClose(this[S].id, code === undefined ? 1000 : code, reason);
  }
}
WebSocket.CONNECTING = 0; WebSocket.OPEN = 1; WebSocket.CLOSING = 2; WebSocket.CLOSED = 3;
function socket(id, tags) { return new WebSocket(S, id, tags); }
function socketClosed(ws) { ws[S].state = 3; }

// The host's side of a fetch turn.
function request(method, url, headers, b) {
  // The Headers are made on first use from the host's flat [name, value, ...].
  const s = { url, method, headers: null, raw: headers, body: b == null ? null : new Uint8Array(b), signal: null, aborted: false, used: false };
  const r = Object.create(Request.prototype);
  r[S] = s;
  return r;
}
// abortRequest aborts a request's signal, or marks it for a signal made later.
function abortRequest(req) {
  const s = req[S];
  if (s.aborted) return;
  s.aborted = true;
  if (s.signal) abortSignal(s.signal);
}
// serve runs fetch; a handler that answers at once is answered in the same
// turn without a promise.
function serve(fetch, req, ctx) {
  const res = fetch(req, ctx);
  if (res !== null && typeof res === "object" && typeof res.then === "function") return Promise.resolve(res).then(wire);
  return wire(res);
}
function wire(res) {
  const s = res instanceof Response ? res[S] : undefined;
  // Object.create(Response.prototype) passes instanceof but was never built.
  if (s === undefined || s === null || typeof s !== "object") return { bad: res === undefined ? "undefined" : res === null ? "null" : res instanceof Response ? "an unconstructed Response" : typeof res };
  const hs = s.headers[S]; // pairs of strings, copied by the host as it reads them
  if (s.webSocket) return { status: 101, headers: hs, ws: s.webSocket[S].id };
  return { status: s.status, headers: hs, body: s.body };
}

// Outgoing fetch through an HTTP grant: what the host needs of a request,
// and the Response (or the error) made of what came back.
function outgoing(input, init) {
  const r = new Request(input, init);
  const hs = [];
  for (const p of r[S].headers[S]) hs.push([p[0], p[1]]);
  return [r.method, r.url, hs, r[S].body];
}
function incoming(raw) {
  if (raw.denied) { const e = new TypeError(raw.denied); e.name = "CapabilityError"; throw e; }
  if (raw.failed) throw new TypeError("fetch failed: " + raw.failed);
  const s = { status: raw.status, statusText: "", headers: new Headers(), body: raw.body || null, used: false, webSocket: null, url: raw.url };
  const l = s.headers[S];
  for (const p of raw.headers || []) l.push([p[0], p[1]]);
  const r = Object.create(Response.prototype);
  r[S] = s;
  return r;
}
function rejected(name, message) { const e = new TypeError(message); e.name = name; return Promise.reject(e); }

return {
  outgoing, incoming, rejected,
  Headers, Request, Response, URL, URLSearchParams, TextEncoder, TextDecoder,
  AbortController, AbortSignal, DOMException, WebSocket,
  request, serve, socket, socketClosed, abortRequest,
};
})
