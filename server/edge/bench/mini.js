// mini.js: the "typical developer" peer of `./build.sh bench edge`, a
// minimal relay on Durable Objects written for the benchmark the way one
// usually is: one object per session, no storage, no rules. It speaks just
// enough of scanin's Relay API for the same load driver: the receiver's
// WebSocket at /v1/sessions/<sid>/listen gets {"type":"ready"}; a POST to
// /v1/sessions/<sid> sends the body to it as {"type":"sealed"} and answers
// 200 when the receiver's {"type":"ack"} comes back (202 after 10 s).
import { DurableObject } from "cloudflare:workers";

export default {
  async fetch(request, env) {
    const m = new URL(request.url).pathname.match(/^\/v1\/sessions\/([\w-]+)(\/listen)?$/);
    if (!m) return new Response("not found", { status: 404 });
    return env.RELAY.get(env.RELAY.idFromName(m[1])).fetch(request);
  },
};

export class Relay extends DurableObject {
  waiter = null; // resolves the POST waiting for the ack

  async fetch(request) {
    if (request.headers.get("Upgrade") === "websocket") {
      const [client, server] = Object.values(new WebSocketPair());
      this.ctx.acceptWebSocket(server); // hibernatable
      const expires = Math.floor(Date.now() / 1000) + 300;
      server.send(JSON.stringify({ type: "ready", expires_at: expires, resume: "" }));
      return new Response(null, { status: 101, webSocket: client });
    }
    if (request.method !== "POST") return new Response("method not allowed", { status: 405 });
    const [ws] = this.ctx.getWebSockets();
    if (!ws) return new Response("no receiver", { status: 404 });
    const body = new Uint8Array(await request.arrayBuffer());
    let bin = "";
    for (const b of body) bin += String.fromCharCode(b);
    const data = btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    ws.send(JSON.stringify({ type: "sealed", data }));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(new Response("pending", { status: 202 }));
      }, 10000);
      this.waiter = (res) => {
        clearTimeout(timer);
        resolve(res);
      };
    });
  }

  webSocketMessage(ws, message) {
    const frame = JSON.parse(message);
    if (frame.type === "ping") return ws.send('{"type":"pong"}');
    if (frame.type === "ack" && this.waiter) {
      this.waiter(new Response("delivered"));
      this.waiter = null;
      ws.close(1000, "delivered");
    }
  }

  webSocketClose(ws, code, reason) {
    try {
      ws.close(code, reason); // completes the close handshake
    } catch {
      // already closed
    }
  }
}
