// The edge relay on Cloudflare Workers (workerd locally): a front Worker
// that sends each request to its session's Durable Object, and that
// Durable Object class. Every rule of docs/protocol.md is Go's (rules.wasm,
// built from server/edge/wasm); this file does only what the platform
// needs: routing, the WebSocket upgrade, the hibernation handlers, storage
// and alarms. Go is called synchronously, once per event, with the
// session's stored bytes and the time, and returns what to do.

// Both built by `./build.sh edge` into dist/; the same paths serve
// workerd.capnp and wrangler.jsonc.
import "../dist/wasm_exec.js"; // the Go toolchain's; sets globalThis.Go
import rulesModule from "../dist/rules.wasm";
import { DurableObject } from "cloudflare:workers";
import { apps, limits, serveStatic } from "./static.js"; // the browser files, without Go

// The isolate's one Go instance, shared by the front Worker and every
// Durable Object in the isolate. Started on first use, inside a request,
// where the platform allows crypto.getRandomValues.
let rules;
async function goRules() {
  if (!rules) {
    const go = new Go();
    globalThis.scaninEdgeApps = apps; // the config file's, read by main
    globalThis.scaninEdgeLimits = limits;
    const instance = await WebAssembly.instantiate(rulesModule, go.importObject);
    go.run(instance); // runs main until it blocks, having set scaninEdge
    rules = globalThis.scaninEdge;
  }
  return rules;
}

// decode reads one answer of Go's: a Uint8Array of tagged fields, whose
// layout (tags, values) is described once, at type out in wasm/main.go.
// Fields left out keep the defaults below.
const utf8 = new TextDecoder();
const FIELDS = {
  i: ["sid", "str"], F: ["forward", "str"], b: ["readBody", "num"],
  l: ["limit", "str"], k: ["limitKey", "str"],
  B: ["bucket", "bytes"], u: ["full", "num"], x: ["refused", "response"],
  s: ["session", "bytes"], D: ["delete", "flag"], a: ["alarm", "num"],
  A: ["accept", "flag"], p: ["replace", "close"], f: ["frames", "frame"],
  c: ["close", "close"], S: ["settle", "response"], r: ["response", "response"],
  w: ["wait", "num"], P: ["pending", "response"],
};
function decode(buf) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  const u32 = () => ((off += 4), view.getUint32(off - 4, true));
  const raw = () => {
    const n = u32();
    return buf.subarray(off, (off += n));
  };
  const str = () => utf8.decode(raw());
  const value = {
    flag: () => true,
    num: () => ((off += 8), view.getFloat64(off - 8, true)),
    str,
    bytes: () => raw().slice(), // a buffer of its own, for storage
    close: () => ({ code: u32(), reason: str() }),
    response: () => {
      const status = u32();
      const headers = [];
      for (let n = u32(); n > 0; n--) headers.push([str(), str()]);
      return { status, headers, body: str() };
    },
    frame: str,
  };
  const out = { frames: [], readBody: 0, alarm: 0, wait: 0, full: 0, session: null,
    bucket: null, response: null, settle: null, pending: null, refused: null,
    replace: null, close: null, sid: "", forward: "", limit: "", limitKey: "" };
  while (off < buf.length) {
    const [name, kind] = FIELDS[String.fromCharCode(buf[off++])];
    if (kind === "frame") out.frames.push(str());
    else out[name] = value[kind]();
  }
  return out;
}

// respond makes a Response from Go's {status, headers, body}.
function respond(r) {
  return new Response(r.status === 204 || r.body === "" ? null : r.body, {
    status: r.status,
    headers: r.headers,
  });
}

export default {
  async fetch(request, env) {
    const file = await serveStatic(request, env);
    if (file) return file;
    const go = await goRules();
    const url = new URL(request.url);
    const h = (name) => request.headers.get(name) ?? "";
    // One string, the fields in the order route in wasm/main.go reads.
    const r = decode(go.route([
      request.method, url.pathname, url.search.slice(1), url.origin,
      h("Origin"), h("Connection"), h("Upgrade"),
      h("Sec-WebSocket-Version"), h("Sec-WebSocket-Key"),
      h("Content-Length"), h("User-Agent"),
      // Set by Cloudflare; locally, workerd.capnp injects 127.0.0.1.
      h("CF-Connecting-IP"),
    ].join("\n")));
    // The per-client rate limit comes before every other check. Each
    // client's bucket is a Durable Object of its own, so that it is exact
    // across isolates (--no-rate-limit turns the limits off).
    if (r.limit && env.RATE_LIMIT !== "off") {
      const limiter = env.LIMITS.get(env.LIMITS.idFromName(r.limit + " " + r.limitKey));
      const refused = await limiter.take(r.limit);
      if (refused) return respond(refused);
    }
    if (r.response) return respond(r.response);
    // One object per session: its socket and its senders meet there.
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName(r.sid));
    const headers = new Headers(request.headers);
    headers.set("X-Scanin-Event", r.forward); // overwrites any a client sent
    headers.set("X-Scanin-Read-Body", String(r.readBody));
    return stub.fetch(new Request(request, { headers }));
  },
};

// readCapped reads a request body of at most max bytes.
async function readCapped(request, max) {
  const chunks = [];
  let total = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel();
        return { tooLarge: true };
      }
      chunks.push(value);
    }
  }
  const body = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    body.set(c, off);
    off += c.length;
  }
  return { body, tooLarge: false };
}

// CLOSED marks, in a socket's attachment, a socket the session no longer
// uses (closed by the relay, replaced, or closed by the peer), so its late
// events are ignored.
const CLOSED = "closed";

export class Session {
  constructor(ctx, env) {
    this.ctx = ctx;
    // Under SCANIN_EDGE_TRACE=on (tests only), every answer names this
    // object's life, so a test can see that an eviction rebuilt it.
    if (env.TRACE === "on") this.life = String(Math.random()).slice(2);
    this.waiters = []; // POSTs waiting for the receiver's answer
    // The receiver's keepalive is answered by the platform without waking
    // this object (docs/protocol.md, receiver pings).
    ctx.setWebSocketAutoResponse(
      new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  // event runs one Go event on the session: fn(go, sessionBytes). The
  // session is read from storage once per object life and cached; between
  // reading this.session and apply nothing awaits, so events never
  // interleave inside Go.
  async event(fn) {
    const go = await goRules();
    if (this.session === undefined) {
      const stored = (await this.ctx.storage.get("s")) ?? null;
      if (this.session === undefined) this.session = stored;
    }
    const r = fn(go, this.session);
    this.apply(r);
    return r;
  }

  // receiver is the attached receiver's socket, or undefined.
  receiver() {
    return this.ctx.getWebSockets().find((ws) => ws.deserializeAttachment() !== CLOSED);
  }

  closeSocket(ws, c) {
    ws.serializeAttachment(CLOSED);
    try {
      ws.close(c.code, c.reason);
    } catch {
      // already closed by the peer
    }
  }

  // apply carries out Go's result in the order package edge documents.
  apply(r) {
    const storage = this.ctx.storage;
    if (r.delete) {
      this.session = null;
      storage.deleteAll();
      storage.deleteAlarm();
    } else if (r.session) {
      this.session = r.session;
      storage.put("s", r.session); // output gates hold replies until it is written
    }
    if (r.alarm) storage.setAlarm(r.alarm);
    const ws = this.receiver();
    if (ws) {
      try {
        for (const f of r.frames) ws.send(f);
      } catch {
        // The peer is gone and its close event is on its way; that event
        // detaches it. A POST sent to it waits out the ack wait (pending).
      }
      if (r.close) this.closeSocket(ws, r.close);
    }
    if (r.settle) {
      for (const w of this.waiters) w(r.settle);
      this.waiters = [];
    }
  }

  async fetch(request) {
    const forward = request.headers.get("X-Scanin-Event");
    const max = Number(request.headers.get("X-Scanin-Read-Body"));
    const { body = null, tooLarge = false } = max > 0 ? await readCapped(request, max) : {};
    let pair;
    const r = await this.event((go, s) => {
      const r = decode(go.request(forward, s, body, tooLarge, Date.now()));
      if (r.accept) {
        // Attach the new socket before apply sends it its frames.
        const old = this.receiver();
        if (old && r.replace) this.closeSocket(old, r.replace);
        pair = new WebSocketPair();
        this.ctx.acceptWebSocket(pair[1]);
      }
      return r;
    });
    if (pair) return this.traced(new Response(null, { status: 101, webSocket: pair[0] }));
    if (!r.wait) return this.traced(respond(r.response));
    // Hold the POST until the receiver answers (apply's settle) or the
    // ack wait ends.
    return new Promise((resolve) => {
      const waiter = (settle) => {
        clearTimeout(timer);
        resolve(this.traced(respond(settle)));
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(this.traced(respond(r.pending)));
      }, Math.max(0, r.wait - Date.now()));
      this.waiters.push(waiter);
    });
  }

  // traced adds the object's life to an answer under SCANIN_EDGE_TRACE.
  traced(response) {
    if (this.life) response.headers.set("X-Scanin-Edge-Object-Life", this.life);
    return response;
  }

  async webSocketMessage(ws, data) {
    if (ws.deserializeAttachment() === CLOSED) return;
    // A binary frame goes to Go as a Uint8Array, a text one as a string.
    if (typeof data !== "string") data = new Uint8Array(data);
    await this.event((go, s) => decode(go.frame(s, data, Date.now())));
  }

  async webSocketClose(ws) {
    await this.detach(ws);
  }

  async webSocketError(ws) {
    await this.detach(ws);
  }

  async detach(ws) {
    if (ws.deserializeAttachment() === CLOSED) return;
    this.closeSocket(ws, { code: 1000, reason: "" }); // completes the close handshake
    await this.event((go, s) => decode(go.closed(s, Date.now())));
  }

  async alarm() {
    await this.event((go, s) => decode(go.alarm(s, Date.now())));
  }
}

// Limiter is one client's token bucket for one rate limit; the front
// Worker calls take over RPC. The bucket is stored, so eviction does not
// refill it, and deleted by the alarm once it is full again.
export class Limiter extends DurableObject {
  // take answers null when the client may go on, else the 429 to send.
  async take(kind) {
    const go = await goRules();
    if (this.bucket === undefined) {
      const stored = (await this.ctx.storage.get("b")) ?? null;
      if (this.bucket === undefined) this.bucket = stored;
    }
    const r = decode(go.limit(kind, this.bucket, Date.now()));
    this.bucket = r.bucket;
    // Not waiting for the disk: a bucket write lost in a crash costs a
    // client a few extra requests, while waiting costs every request.
    this.ctx.storage.put("b", r.bucket, { allowUnconfirmed: true });
    this.ctx.storage.setAlarm(r.full, { allowUnconfirmed: true }); // each take moves it later
    return r.refused;
  }

  async alarm() {
    this.bucket = null;
    await this.ctx.storage.deleteAll();
  }
}
