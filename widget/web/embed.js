/*
 * scanin embed.js: put a "sign in with your phone" QR code on a page.
 *
 * No code:
 *   <script src="{{relay}}/embed.js" data-app="demo" data-target="#login"
 *           data-storage="localStorage" data-key="session"></script>
 *
 * From code:
 *   const w = Scanin.mount(element, {app: "demo", storage: {type: "cookie", key: "session"},
 *                                    onResult(r) {...}, onState(state, detail) {...}});
 *   const {kind, data, device} = await w.result;
 *
 * The code lives in an iframe served by the relay, on the relay's origin.
 * This script only creates it, talks to it and stores what it hands over.
 * It trusts a message only when it comes from that iframe's window AND from
 * the relay's origin; the widget in turn talks only to this page's origin.
 * Types: {{relay}}/embed.d.ts.
 */
(() => {
  "use strict";
  if (window.Scanin && window.Scanin.version === 1) return; // loaded twice

  const script = document.currentScript;
  // The relay fills these in when it serves this file.
  const defaultRelay = "{{relay}}";
  const wasmPath = "{{asset:dist/widget.wasm}}";

  const appPattern = /^[a-z0-9][a-z0-9-]{0,31}$/;
  const storageTypes = ["cookie", "localStorage", "sessionStorage"];

  function relayBase(relay) {
    let url;
    try {
      url = new URL(relay || defaultRelay, document.baseURI);
    } catch (e) {
      throw new TypeError("scanin: relay must be a URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError("scanin: relay must be an http(s) URL");
    }
    return url.href.replace(/[?#].*$/, "").replace(/\/+$/, "");
  }

  function checkStorage(s) {
    if (s === undefined || s === null) return null;
    if (typeof s !== "object" || !storageTypes.includes(s.type)) {
      throw new TypeError('scanin: storage.type must be "cookie", "localStorage" or "sessionStorage"');
    }
    if (typeof s.key !== "string" || s.key === "") {
      throw new TypeError("scanin: storage.key must be a non-empty string");
    }
    return s;
  }

  function cookieString(s, value) {
    let c = encodeURIComponent(s.key) + "=" + encodeURIComponent(value) + "; Path=" + (s.path || "/");
    if (s.domain) c += "; Domain=" + s.domain;
    if (s.maxAge !== undefined && s.maxAge !== null) c += "; Max-Age=" + Math.floor(Number(s.maxAge));
    if (s.expires) c += "; Expires=" + new Date(s.expires).toUTCString();
    c += "; SameSite=" + (s.sameSite || "Lax");
    if (s.secure !== undefined ? s.secure : location.protocol === "https:") c += "; Secure";
    return c;
  }

  // store keeps the token as the page asked: client-side session
  // extension, no backend change.
  function store(s, token) {
    if (!s) return;
    if (s.type === "cookie") document.cookie = cookieString(s, token);
    else window[s.type].setItem(s.key, token);
  }

  // sameSite guesses whether the relay is on this page's site (the last two
  // labels of the host name match). Only then does the browser share its
  // HTTP cache between this page and the relay's iframe: Chromium keys the
  // cache by the top-level site and whether the frame is cross-site, so a
  // preload from here for a cross-site relay downloads the widget twice
  // (measured: 1.25 s to the QR code on a 9 Mbit/s link without it, 1.65 s
  // with it). The iframe's own page preloads the wasm in any case.
  function sameSite(relay) {
    const a = new URL(relay), b = location;
    if (a.protocol !== b.protocol) return false;
    const site = (h) => h.split(".").slice(-2).join(".");
    return /[a-z]/i.test(a.hostname) && site(a.hostname) === site(b.hostname);
  }

  // preload starts the widget's download before the iframe asks for it.
  function preload(relay) {
    let href;
    try {
      href = new URL(wasmPath, relay + "/").href;
    } catch (e) {
      return;
    }
    for (const l of document.querySelectorAll('link[rel="preload"]')) {
      if (l.href === href) return;
    }
    const link = document.createElement("link");
    link.rel = "preload";
    link.as = "fetch";
    link.crossOrigin = "anonymous";
    link.href = href;
    document.head.appendChild(link);
  }

  function call(f, ...args) {
    if (typeof f !== "function") return;
    try {
      f(...args);
    } catch (e) {
      console.error("scanin: callback failed:", e);
    }
  }

  /**
   * mount puts the widget in element and returns {result, refresh(), destroy()}.
   */
  function mount(element, options) {
    const el = typeof element === "string" ? document.querySelector(element) : element;
    if (!el || typeof el.appendChild !== "function") throw new TypeError("scanin: mount needs an element");
    const opts = options || {};
    if (typeof opts.app !== "string" || !appPattern.test(opts.app)) {
      throw new TypeError("scanin: app must be an app id such as \"demo\"");
    }
    const relay = relayBase(opts.relay);
    const widgetOrigin = new URL(relay).origin;
    const storage = checkStorage(opts.storage);
    if (widgetOrigin === location.origin) {
      // The sandbox below keeps allow-same-origin, so it isolates the widget
      // only from pages of another origin.
      console.warn("scanin: the relay shares this page's origin; serve it from another origin so the page cannot reach into the widget");
    }

    const src = new URL(relay + "/widget.html");
    src.searchParams.set("app", opts.app);
    if (opts.ttl) src.searchParams.set("ttl", String(opts.ttl));
    if (opts.limit) src.searchParams.set("limit", String(opts.limit));
    if (opts.verify) src.searchParams.set("verify", "1");
    if (opts.theme) src.searchParams.set("theme", String(opts.theme));

    if (opts.preload === true || (opts.preload !== false && sameSite(relay))) preload(relay);
    const iframe = document.createElement("iframe");
    iframe.src = src.href;
    iframe.title = opts.title || "Sign in with your phone";
    // allow-same-origin keeps the widget's own origin (without it the page
    // would see "null" and could verify nothing); the widget's origin is the
    // relay's, not this page's, so it still cannot touch this page.
    iframe.setAttribute("sandbox", "allow-scripts allow-same-origin");
    iframe.setAttribute("referrerpolicy", "origin");
    iframe.style.cssText = "border:0;display:block;width:100%;max-width:320px;height:372px;color-scheme:normal;";

    let settle;
    const result = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    result.catch(() => {}); // destroy() rejects; not awaiting that is fine
    let done = false;

    const state = (name, detail) => {
      call(opts.onState, name, detail || {});
      el.dispatchEvent(new CustomEvent("scanin:state", { detail: { state: name, ...(detail || {}) } }));
    };

    const onMessage = (event) => {
      // Both checks: the origin proves who sent it, the source that it is
      // this widget and not another frame of the same relay.
      if (event.source !== iframe.contentWindow || event.origin !== widgetOrigin) return;
      const m = event.data;
      if (!m || typeof m !== "object" || typeof m.type !== "string") return;
      switch (m.type) {
        case "scanin:hello":
          // The widget asks who its page is; the answer's origin says it.
          iframe.contentWindow.postMessage({ type: "scanin:hello", v: 1 }, widgetOrigin);
          break;
        case "scanin:ready":
          state("waiting", { expiresAt: m.expires_at });
          break;
        case "scanin:scanned":
          state("scanned");
          break;
        case "scanin:expired":
          state("expired", { final: m.final === true });
          break;
        case "scanin:denied":
          state("denied");
          break;
        case "scanin:error":
          state("error", { code: String(m.code || ""), message: String(m.message || ""), retrying: m.retrying === true });
          break;
        case "scanin:result": {
          if (done || typeof m.kind !== "string" || typeof m.data !== "string") return;
          done = true;
          const device = m.device && typeof m.device === "object"
            ? { name: String(m.device.name || ""), type: String(m.device.type || "") }
            : null;
          const r = { kind: m.kind, data: m.data, device };
          if (r.kind === "token") {
            try {
              store(storage, r.data);
            } catch (e) {
              console.error("scanin: failed to store the token:", e);
            }
          }
          state("success", { kind: r.kind, device });
          call(opts.onResult, r);
          el.dispatchEvent(new CustomEvent("scanin:result", { detail: r }));
          settle.resolve(r);
          break;
        }
        case "scanin:resize": {
          const h = Number(m.height);
          if (h >= 50 && h <= 2000) iframe.style.height = Math.ceil(h) + "px";
          break;
        }
        case "scanin:open":
          // Same-device sign-in: the iframe's sandbox allows no windows.
          if (typeof m.link === "string" && /^https?:\/\//.test(m.link)) {
            window.open(m.link, "_blank", "noopener");
          }
          break;
      }
    };
    window.addEventListener("message", onMessage);
    // Introduce this page to the widget, which learns the page's origin
    // from the message itself (the browser vouches for it). The widget asks
    // early (scanin:hello above); the load event covers browsers where it
    // cannot tell whom to ask.
    iframe.addEventListener("load", () => {
      if (iframe.contentWindow) iframe.contentWindow.postMessage({ type: "scanin:hello", v: 1 }, widgetOrigin);
    });
    el.appendChild(iframe);

    return {
      result,
      iframe,
      /** refresh shows a new code now, and restarts the show limit. */
      refresh() {
        if (iframe.contentWindow) iframe.contentWindow.postMessage({ type: "scanin:refresh" }, widgetOrigin);
      },
      /** destroy removes the widget; a pending result rejects. */
      destroy() {
        window.removeEventListener("message", onMessage);
        iframe.remove();
        if (!done) {
          done = true;
          settle.reject(new Error("scanin: widget destroyed"));
        }
      },
    };
  }

  window.Scanin = Object.freeze({ version: 1, mount });

  // No-code use: <script src=".../embed.js" data-app="demo" ...>.
  if (script && script.dataset && script.dataset.app) {
    const d = script.dataset;
    const start = () => {
      let target = d.target ? document.querySelector(d.target) : null;
      if (!target) {
        // Right after the script tag, unless that is in <head>.
        target = document.createElement("div");
        if (script.parentNode && script.parentNode !== document.head && document.body) script.after(target);
        else document.body.appendChild(target);
      }
      const storage = d.storage
        ? {
            type: d.storage,
            key: d.key || "scanin",
            path: d.cookiePath,
            domain: d.cookieDomain,
            maxAge: d.cookieMaxAge !== undefined ? Number(d.cookieMaxAge) : undefined,
            sameSite: d.cookieSameSite,
          }
        : undefined;
      const w = mount(target, {
        relay: d.relay,
        app: d.app,
        storage,
        ttl: d.ttl ? Number(d.ttl) : undefined,
        verify: d.verify === "1" || d.verify === "true",
        theme: d.theme,
      });
      if (d.redirect) w.result.then(() => location.assign(d.redirect), () => {});
    };
    const placeable = d.target ? document.querySelector(d.target) : document.body;
    if (document.readyState === "loading" && !placeable) {
      document.addEventListener("DOMContentLoaded", start, { once: true });
    } else {
      start();
    }
  }
})();
