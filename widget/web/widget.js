// widget.js starts scanin's widget inside its iframe. It is a file of its
// own because the page's Content-Security-Policy allows no inline script.
//
// While the WebAssembly downloads and compiles, it does what would otherwise
// wait for it: it fetches the app's configuration, says hello to the
// embedding page and opens the first session's WebSocket. The Go program
// then takes all of it over (globalThis.scaninBoot) and decides; nothing
// here trusts anything or shows anything. It also opens the Go program's
// sockets (socket), so that the widget learns why a relay refused one.
"use strict";
(() => {
  const root = document.documentElement;
  const params = new URLSearchParams(location.search);
  const app = params.get("app") || "";
  const ttl = params.get("ttl") || "";
  const appOK = /^[a-z0-9][a-z0-9-]{0,31}$/.test(app);

  // The colour scheme the page chose (embed.js's theme), set before the
  // WebAssembly runs so that the page never flashes the other one; "auto"
  // or none leaves it to prefers-color-scheme. The Go program refuses a
  // value that is none of these.
  const theme = params.get("theme");
  if (theme === "light" || theme === "dark") root.dataset.theme = theme;

  // The countdown ring's number: the whole seconds its animation, which
  // the Go program starts for each code, has left.
  const ring = document.querySelector("#ring .left");
  const remaining = document.getElementById("remaining");
  setInterval(() => {
    const a = ring.getAnimations()[0];
    let text = "";
    if (a && a.currentTime !== null) {
      text = Math.max(0, Math.ceil((a.effect.getComputedTiming().endTime - a.currentTime) / 1000)) + " s";
    }
    if (remaining.textContent !== text) remaining.textContent = text;
  }, 250);
  const relay = /^https?:\/\//.test(root.dataset.relay || "") ? root.dataset.relay.replace(/\/+$/, "") : location.origin;

  const config = appOK
    ? fetch(relay + "/v1/apps/" + app, { credentials: "omit" }).then(
        (r) => r.text().then((body) => ({ status: r.status, body })),
        (err) => ({ status: 0, body: String(err) }))
    : Promise.resolve({ status: 0, body: "missing or malformed app id" });

  // The app's logo in the code's centre. The Go program encodes the code
  // at error correction level H when the app has one; this draws it, so
  // that the drawing is not in the WebAssembly: over the modules of
  // qrsvg.Hole (an odd square about a quarter of the code's width, centred)
  // a light square, and the image inside it with a one-module margin. The
  // observer runs before the next paint, so no code shows without it.
  config.then((res) => {
    let logo = "";
    try {
      logo = res.status === 200 ? JSON.parse(res.body).logo : "";
    } catch (e) {}
    if (typeof logo !== "string" || !/^https?:\/\//.test(logo)) return;
    const qr = document.getElementById("qr");
    const ns = "http://www.w3.org/2000/svg";
    const add = (svg, name, attrs) => {
      const el = document.createElementNS(ns, name);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      svg.appendChild(el);
    };
    const draw = () => {
      const svg = qr.firstElementChild;
      if (!svg || !svg.viewBox || svg.querySelector(".qr-logo")) return;
      const n = svg.viewBox.baseVal.width;
      let side = Math.floor((n - 8) / 4);
      side -= 1 - (side % 2);
      const from = (n - side) / 2;
      add(svg, "rect", { class: "qr-bg qr-hole", fill: "#fff", x: from, y: from, width: side, height: side });
      add(svg, "image", { class: "qr-logo", href: logo, x: from + 1, y: from + 1, width: side - 2, height: side - 2 });
    };
    new MutationObserver(draw).observe(qr, { childList: true });
    draw();
  });

  // socket opens a WebSocket to a listen URL. Its close goes to
  // ws.scaninClose({code, reason, status, error, message}), if set then.
  // A browser does not tell why a socket failed before it opened, so for
  // such a socket it first GETs the same URL over http(s), which the relay
  // refuses with its JSON error by the same checks as the handshake
  // (policy.AfterProbe decides): status 0 when the GET failed, error and
  // message "" when the body is none. A socket closed by its owner, who
  // unset scaninClose first or called close, is not asked about.
  const socket = (url) => {
    const ws = new WebSocket(url);
    let opened = false;
    ws.addEventListener("open", () => (opened = true));
    const close = ws.close.bind(ws);
    ws.close = (code) => {
      ws.scaninClose = null;
      close(code);
    };
    ws.onclose = (e) => {
      const say = (status, b) =>
        ws.scaninClose && ws.scaninClose({ code: e.code, reason: e.reason, status, error: String((b && b.error) || ""), message: String((b && b.message) || "") });
      if (opened || !ws.scaninClose) return say(0);
      fetch(url.replace(/^ws/, "http"), { credentials: "omit", cache: "no-store" }).then(
        (r) => r.json().then((b) => say(r.status, b), () => say(r.status)),
        () => say(0));
    };
    return ws;
  };

  // The first session's socket, opened as soon as the page has said who it
  // is. The Go program adopts it with its queued events, or closes it.
  let first = null;
  const openSocket = (origin) => {
    const id = crypto.getRandomValues(new Uint8Array(16));
    const sid = btoa(String.fromCharCode(...id)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    let url = relay.replace(/^http/, "ws") + "/v1/sessions/" + sid + "/listen?app=" + encodeURIComponent(app);
    if (ttl) url += "&ttl=" + encodeURIComponent(ttl);
    url += "&origin=" + encodeURIComponent(origin);
    const events = [];
    let ws;
    try {
      ws = socket(url);
    } catch (e) {
      return null;
    }
    ws.onopen = () => events.push({ type: "open" });
    ws.onmessage = (e) => events.push({ type: "message", data: e.data });
    ws.scaninClose = (e) => events.push({ type: "close", ...e });
    return { sid, origin, ws, events };
  };

  // allowed is protocol.OriginAllowed: an exact origin, or "scheme://host:*"
  // for any port. The Go program checks again; this only avoids opening a
  // socket for a page the app does not allow.
  const allowed = (patterns, origin) => {
    origin = origin.toLowerCase();
    return patterns.some((p) => {
      p = String(p).toLowerCase();
      if (p === origin) return true;
      if (!p.endsWith(":*")) return false;
      const prefix = p.slice(0, -2);
      return origin === prefix || (origin.startsWith(prefix + ":") && /^[0-9]{1,5}$/.test(origin.slice(prefix.length + 1)));
    });
  };

  // The parent's messages are buffered until the Go program listens.
  // A hello from the parent window says which origin the page has (the
  // browser vouches for event.origin); the Go program checks it again.
  const early = [];
  let helloOrigin = "";
  const buffer = (event) => {
    early.push(event);
    const m = event.data;
    if (!helloOrigin && event.source === window.parent && m && m.type === "scanin:hello") {
      helloOrigin = event.origin;
      config.then(maybeOpen);
    }
  };
  addEventListener("message", buffer);

  const maybeOpen = (res) => {
    if (first || !appOK || res.status !== 200) return;
    let origins;
    try {
      origins = JSON.parse(res.body).origins;
    } catch (e) {
      return;
    }
    if (Array.isArray(origins) && allowed(origins, helloOrigin)) first = openSocket(helloOrigin);
  };

  // Ask the page for its hello now rather than at the iframe's load event,
  // which waits for the WebAssembly download. The message goes only to the
  // origin the browser names as the parent's (never "*"); embed.js also
  // says hello on load, for browsers that name none.
  let parentOrigin = "";
  if (location.ancestorOrigins && location.ancestorOrigins.length > 0) {
    parentOrigin = location.ancestorOrigins[0];
  } else if (document.referrer) {
    try {
      parentOrigin = new URL(document.referrer).origin;
    } catch (e) {}
  }
  if (parentOrigin && parentOrigin !== "null" && window.parent !== window) {
    window.parent.postMessage({ type: "scanin:hello", v: 1 }, parentOrigin);
  }

  globalThis.scaninBoot = {
    config,
    // takeMessages hands the buffered messages and all later ones to handler.
    takeMessages(handler) {
      removeEventListener("message", buffer);
      addEventListener("message", handler);
      for (const event of early.splice(0)) handler(event);
    },
    // socket opens every later socket of the Go program.
    socket,
    // takeSocket hands over the early socket, once: {sid, origin, ws, events}.
    takeSocket() {
      const s = first;
      first = { taken: true };
      return s && !s.taken ? s : null;
    },
  };

  const fail = (err) => {
    document.getElementById("scanin").dataset.state = "error";
    document.getElementById("status").textContent =
      "The sign-in code could not be loaded. Reload the page to try again.";
    console.error("scanin: failed to start the widget:", err);
  };

  const go = new Go();
  const url = root.dataset.wasm;
  const slow = () => fetch(url).then((r) => r.arrayBuffer()).then((b) => WebAssembly.instantiate(b, go.importObject));
  // A server that does not label the file application/wasm defeats
  // streaming compilation; fall back rather than fail.
  const start = WebAssembly.instantiateStreaming
    ? WebAssembly.instantiateStreaming(fetch(url), go.importObject).catch(slow)
    : slow();
  start.then((result) => {
    performance.mark("scanin:instantiated");
    return go.run(result.instance);
  }).catch(fail);
})();
