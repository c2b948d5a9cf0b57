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
 *   const {kind, data, device, sid} = await w.result;
 *   w.destroy(); // e.g. in a React effect's cleanup
 *
 * Server-side mode: with {exchange: {url: "/api/scanin/exchange"}} (or
 * data-exchange-url), an assertion is POSTed as JSON {assertion, sid} to that
 * URL on this page's origin, and `result` resolves with the backend's answer.
 *
 * The code lives in an iframe served by the relay, on the relay's origin.
 * This script only creates it, talks to it and stores what it hands over.
 * It trusts a message only when it comes from that iframe's window AND from
 * the relay's origin; the widget in turn talks only to this page's origin.
 *
 * Before the frame shows, it checks what it can: the options, the target,
 * the app (GET {relay}/v1/apps/{app}) and this page's origin against the
 * app's origins. Each misconfiguration is one code of `failures` below,
 * reported as a scanin:state "error" {code, message}, on the console, as a
 * message in the box instead of a broken frame, and as the rejection of
 * `result` (an Error with .code).
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
  const themes = ["light", "dark", "auto"];
  const defaultTimeout = 30; // seconds for the frame to show its first code (800 kB of wasm on slow 3G: ~20 s)

  // The options of Scanin.mount, and the storage option's members.
  const optionNames = ["app", "relay", "storage", "exchange", "ttl", "limit", "verify", "theme", "preload", "title", "timeout",
    "onResult", "onState"];
  const storageNames = ["type", "key", "path", "domain", "maxAge", "expires", "sameSite", "secure"];
  const exchangeNames = ["url"];
  // The script tag's data-* attributes, as dataset names them.
  const attributeNames = ["app", "target", "relay", "storage", "key", "cookiePath", "cookieDomain", "cookieMaxAge",
    "cookieSameSite", "exchangeUrl", "ttl", "limit", "verify", "theme", "timeout", "redirect"];
  // Attributes other tools put on script tags (Cloudflare, Turbo), which are
  // not ours to refuse.
  const foreignAttribute = /^(cf|turbo)/;

  // failures are every misconfiguration embed.js reports: code -> the
  // sentence that says what to change. p.name(option) is how the page spells
  // an option: data-ttl on a script tag, ttl in Scanin.mount's options.
  // docs/protocol.md (10.5) and the README list the same codes.
  const failures = {
    app_missing: (p) =>
      p.tag
        ? 'the script tag has no data-app: add data-app="your-app-id", the app id the relay knows this site by'
        : 'Scanin.mount has no app option: pass {app: "your-app-id"}, the app id the relay knows this site by',
    app_invalid: (p) =>
      `${p.name("app")} "${p.value}" is not an app id: use 1 to 32 lower-case letters, digits and "-", such as "shop"`,
    target_not_found: (p) =>
      `${p.tag ? "data-target" : "Scanin.mount's element"} ${JSON.stringify(p.target)} matches no element; ` +
      "point it at the element the widget goes in",
    unknown_option: (p) =>
      `${p.name(p.option)} is not a scanin ${p.tag ? "attribute" : "option"}` +
      (p.suggestion ? `, did you mean ${p.name(p.suggestion)}?` : `; remove it (known: ${p.known.map(p.name).join(", ")})`),
    option_invalid: (p) => `${p.name(p.option)} is ${p.value}: ${p.rule}`,
    app_not_found: (p) => `no app "${p.app}" on relay ${p.relay}; check ${p.name("app")} (and ${p.name("relay")})`,
    origin_not_allowed: (p) =>
      p.origin === "null"
        ? `this page has no origin (a file:// page or a sandboxed frame), which no app can allow; serve the page over http(s)`
        : `add "${p.origin}" to app "${p.app}"'s origins in the relay's config` +
          (p.origin === location.origin ? "" : " (a page that frames this one has that origin)"),
    relay_unreachable: (p) =>
      `could not reach the relay at ${p.relay} (${p.why}); check ${p.name("relay")}, and that the relay is running ` +
      "and reachable from this browser",
    relay_invalid: (p) =>
      `${p.relay} did not answer as a scanin relay (GET ${p.path}: ${p.why}); check ${p.name("relay")}`,
    csp_blocked: (p) =>
      `this page's Content-Security-Policy blocks ${p.relayOrigin} by its ${p.directive}: add ${p.relayOrigin} to ${p.directive}` +
      (p.directive === p.effective ? "" : ` (or add a ${p.effective} that lists it)`),
    load_timeout: (p) =>
      `the widget did not show a code within ${p.seconds} s: if this page has a Content-Security-Policy, add ` +
      `${p.relayOrigin} to its frame-src (and script-src and connect-src); check that ${p.relay}/widget.html?app=${p.app} ` +
      "opens in a browser",
  };

  // ScaninError is the rejection of a failed widget's result.
  function failure(code, message) {
    const e = new Error("scanin: " + code + ": " + message);
    e.name = "ScaninError";
    e.code = code;
    return e;
  }

  // normalizeOrigin is protocol.NormalizeOrigin (with wildcard, its
  // NormalizeOriginPattern): an http(s) origin in the form browsers
  // serialise it (scheme and host in lower case, no default port, no path),
  // or null for what is not one.
  function normalizeOrigin(origin, wildcard) {
    const s = String(origin);
    const i = s.indexOf("://");
    if (i < 0) return null;
    const scheme = s.slice(0, i).toLowerCase();
    if (scheme !== "https" && scheme !== "http") return null;
    const rest = s.slice(i + 3);
    if (/[/?#@\\ ]/.test(rest)) return null;
    let host = rest;
    let port = "";
    const c = rest.lastIndexOf(":");
    if (c >= 0 && c > rest.lastIndexOf("]")) {
      host = rest.slice(0, c);
      port = rest.slice(c + 1);
      if (port === "") return null;
    }
    host = host.toLowerCase();
    if (host === "" || host === "[]" || host.includes("*")) return null;
    if (host[0] === "[") {
      if (host[host.length - 1] !== "]" || !/^[0-9a-f:.]*$/.test(host.slice(1, -1))) return null;
    } else if (/[:[\]]/.test(host)) {
      return null;
    }
    if (port === "*") {
      if (!wildcard) return null;
    } else if (port !== "") {
      if (!/^[0-9]+$/.test(port) || port[0] === "0") return null;
      if (port.length > 5 || (port.length === 5 && port > "65535")) return null;
      if ((scheme === "http" && port === "80") || (scheme === "https" && port === "443")) port = "";
    }
    return scheme + "://" + host + (port ? ":" + port : "");
  }

  // originAllowed is protocol.OriginAllowed, the relay's rule: a pattern is
  // an exact origin or "scheme://host:*" (that scheme and host on any port,
  // or none), both compared in normalizeOrigin's form; an invalid one
  // matches nothing. protocol/testdata/origins.json is the table both
  // copies are tested with.
  function originAllowed(patterns, origin) {
    const o = normalizeOrigin(origin, false);
    if (o === null || !Array.isArray(patterns)) return false;
    for (const pattern of patterns) {
      const p = normalizeOrigin(pattern, true);
      if (p === null) continue;
      if (p === o) return true;
      if (p.endsWith(":*")) {
        const prefix = p.slice(0, -2);
        if (o === prefix || o.startsWith(prefix + ":")) return true;
      }
    }
    return false;
  }

  // closest is the known name nearest to name, if it is near enough to be
  // a typo (edit distance at most 2, or a third of its length).
  function closest(name, known) {
    const distance = (a, b) => {
      let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
      for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) {
          cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = cur;
      }
      return prev[b.length];
    };
    let best = null;
    let bestD = Infinity;
    for (const k of known) {
      const d = distance(name.toLowerCase(), k.toLowerCase());
      if (d < bestD) {
        best = k;
        bestD = d;
      }
    }
    return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
  }

  const kebab = (s) => s.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

  function relayBase(relay) {
    const url = new URL(relay || defaultRelay, document.baseURI); // throws for a non-URL
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("not http(s)");
    return url.href.replace(/[?#].*$/, "").replace(/\/+$/, "");
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

  // later runs f once the page's own scripts after this point have run (and
  // could add their listeners): after parsing, else in a microtask.
  function later(f) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", f, { once: true });
    else queueMicrotask(f);
  }

  // errorBox is what a failed widget shows in its place: readable in a
  // light and a dark page, styled through the CSSOM (which a page's CSP
  // style-src does not block).
  function errorBox(text, theme, heading) {
    const dark = theme === "dark" ||
      (theme !== "light" && typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches);
    const c = dark
      ? { bg: "#2a1a19", border: "#7a3630", fg: "#e8eaed", head: "#f28b82" }
      : { bg: "#fdf2f1", border: "#e8b4af", fg: "#1c1e21", head: "#b3261e" };
    const box = document.createElement("div");
    box.className = "scanin-error";
    box.setAttribute("role", "alert");
    box.style.cssText = "box-sizing:border-box;display:block;width:100%;max-width:320px;margin:0;padding:14px 16px;" +
      `border:1px solid ${c.border};border-radius:12px;background:${c.bg};color:${c.fg};text-align:left;` +
      'font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:anywhere;color-scheme:normal;';
    const head = document.createElement("strong");
    head.textContent = heading || "The sign-in code cannot be shown.";
    head.style.cssText = `display:block;margin:0 0 6px;color:${c.head};font-weight:600;`;
    const body = document.createElement("p");
    body.className = "scanin-error-text";
    body.textContent = text;
    body.style.cssText = "margin:0;font-size:13px;";
    box.append(head, body);
    return box;
  }

  // check reads the options; it returns [code, params] for the first
  // thing wrong, or the normalised options.
  function check(opts, tag) {
    const name = tag ? (k) => "data-" + kebab(k) : (k) => k;
    const p = (extra) => Object.assign({ tag, name }, extra);
    const value = (v) => JSON.stringify(tag ? String(v) : v) || String(v);
    const bad = (option, v, rule) => ({ fail: ["option_invalid", p({ option, value: value(v), rule })] });

    if (!tag) {
      for (const k of Object.keys(opts)) {
        if (!optionNames.includes(k)) {
          return { fail: ["unknown_option", p({ option: k, suggestion: closest(k, optionNames), known: optionNames })] };
        }
      }
      if (opts.storage && typeof opts.storage === "object") {
        for (const k of Object.keys(opts.storage)) {
          if (!storageNames.includes(k)) {
            const n = (s) => "storage." + s;
            return { fail: ["unknown_option", { tag, name: n, option: k, suggestion: closest(k, storageNames), known: storageNames }] };
          }
        }
      }
      if (opts.exchange && typeof opts.exchange === "object") {
        for (const k of Object.keys(opts.exchange)) {
          if (!exchangeNames.includes(k)) {
            const n = (s) => "exchange." + s;
            return { fail: ["unknown_option", { tag, name: n, option: k, suggestion: closest(k, exchangeNames), known: exchangeNames }] };
          }
        }
      }
    }
    if (opts.app === undefined || opts.app === null || opts.app === "") return { fail: ["app_missing", p({})] };
    if (typeof opts.app !== "string" || !appPattern.test(opts.app)) return { fail: ["app_invalid", p({ value: String(opts.app) })] };

    let relay;
    try {
      relay = relayBase(opts.relay);
    } catch (e) {
      return bad("relay", opts.relay, "it must be the relay's http(s) URL, such as https://relay.example");
    }
    if (location.protocol === "https:" && relay.startsWith("http:") && !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|\/|$)/.test(relay)) {
      return bad("relay", relay, "an https page cannot use an http relay (mixed content); use the relay's https URL");
    }
    const seconds = (k, lo, hi, def) => {
      const v = opts[k];
      if (v === undefined || v === null || v === "") return def;
      const n = typeof v === "string" && tag ? Number(v) : v;
      return Number.isInteger(n) && n >= lo && n <= hi ? n : null;
    };
    const ttl = seconds("ttl", 15, 300, 0);
    if (ttl === null) return bad("ttl", opts.ttl, "it must be a whole number of seconds from 15 to 300");
    const limit = seconds("limit", 15, 300, 0);
    if (limit === null) return bad("limit", opts.limit, "it must be a whole number of seconds from 15 to 300");
    const timeout = seconds("timeout", 1, 300, defaultTimeout);
    if (timeout === null) return bad("timeout", opts.timeout, "it must be a whole number of seconds from 1 to 300");
    let verify = opts.verify;
    if (tag && typeof verify === "string") verify = { "": true, 1: true, true: true, 0: false, false: false }[verify] ?? verify;
    if (verify !== undefined && typeof verify !== "boolean") {
      return bad("verify", opts.verify, tag ? 'it must be "true" or "false"' : "it must be true or false");
    }
    const theme = opts.theme === undefined || opts.theme === "" ? undefined : opts.theme;
    if (theme !== undefined && !themes.includes(theme)) return bad("theme", opts.theme, 'it must be "light", "dark" or "auto"');
    if (opts.preload !== undefined && typeof opts.preload !== "boolean") return bad("preload", opts.preload, "it must be true or false");
    if (opts.title !== undefined && typeof opts.title !== "string") return bad("title", opts.title, "it must be a string");
    for (const k of ["onResult", "onState"]) {
      if (opts[k] !== undefined && typeof opts[k] !== "function") return bad(k, opts[k], "it must be a function");
    }
    const s = opts.storage;
    if (s !== undefined && s !== null) {
      if (typeof s !== "object" || !storageTypes.includes(s.type)) {
        const v = s && typeof s === "object" ? s.type : s;
        return bad(tag ? "storage" : "storage.type", v, 'it must be "cookie", "localStorage" or "sessionStorage"');
      }
      if (typeof s.key !== "string" || s.key === "") return bad(tag ? "key" : "storage.key", s.key, "it must be a non-empty string");
      if (s.maxAge !== undefined && s.maxAge !== null && !Number.isFinite(Number(s.maxAge))) {
        return bad(tag ? "cookieMaxAge" : "storage.maxAge", s.maxAge, "it must be a number of seconds");
      }
      if (s.sameSite !== undefined && !["Strict", "Lax", "None"].includes(s.sameSite)) {
        return bad(tag ? "cookieSameSite" : "storage.sameSite", s.sameSite, 'it must be "Strict", "Lax" or "None"');
      }
    }
    // The exchange URL gets the assertion and the page's cookies: only this
    // page's own origin may have it.
    let exchange = null;
    const x = opts.exchange;
    if (x !== undefined && x !== null) {
      const option = tag ? "exchangeUrl" : "exchange.url";
      if (typeof x !== "object" || typeof x.url !== "string" || x.url === "") {
        return bad(tag ? option : "exchange", tag ? x.url : x, tag ? "it must be a URL on this page's origin, such as /api/scanin/exchange"
          : 'it must be {url: "..."}, with a URL on this page\'s origin, such as {url: "/api/scanin/exchange"}');
      }
      let u;
      try {
        u = new URL(x.url, document.baseURI);
      } catch (e) {
        return bad(option, x.url, "it must be a URL on this page's origin, such as /api/scanin/exchange");
      }
      if (u.origin !== location.origin) {
        return bad(option, x.url, `it is on ${u.origin === "null" ? "no origin" : u.origin}, not this page's origin ` +
          `${location.origin}: the assertion and this page's cookies go to it, so serve the exchange endpoint on this ` +
          `origin (a same-origin path such as /api/scanin/exchange, proxied to the backend if need be)`);
      }
      exchange = u.href;
    }
    return { relay, ttl, limit, timeout, verify: verify === true, theme, storage: s || null, exchange };
  }

  /**
   * create puts the widget in el (or reports why not) and returns the
   * widget's handle. form says how the page asked: form.tag for the script
   * tag (whose options are data-* attributes); form.target when the target
   * matched nothing (el is then the box in its place, or null);
   * form.unknown for an attribute that is none of ours.
   */
  function create(el, options, form) {
    const tag = form.tag;
    const opts = options && typeof options === "object" ? options : {};
    let settle;
    const result = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    result.catch(() => {}); // a page need not await a failure it also sees as a state
    let done = false; // the result is settled (or, in exchange mode, on its way)
    let destroyed = false;
    let exchanging = false; // an assertion is on its way to the backend
    let checked = false; // the app and the origin passed
    let iframe = null;
    let timer = 0;
    const queued = []; // the widget's messages before the check passed
    const cleanups = [];
    const widgetTheme = typeof opts.theme === "string" ? opts.theme : undefined;

    const state = (name, detail) => {
      call(opts.onState, name, detail || {});
      (el || document).dispatchEvent(
        new CustomEvent("scanin:state", { bubbles: true, detail: { state: name, ...(detail || {}) } }));
    };
    const teardown = () => {
      clearTimeout(timer);
      for (const f of cleanups.splice(0)) f();
      if (iframe) iframe.remove();
      iframe = null;
    };
    // fail reports a misconfiguration everywhere the page may look, once.
    const fail = (code, params) => {
      if (done) return;
      done = true;
      teardown();
      const message = failures[code](params);
      const text = code + ": " + message;
      console.error("scanin: " + text);
      if (el) el.appendChild(errorBox(text, widgetTheme));
      later(() => {
        state("error", { code, message, retrying: false });
        settle.reject(failure(code, message));
      });
    };

    const handle = {
      result,
      get iframe() {
        return iframe;
      },
      /** refresh shows a new code now, and restarts the show limit. */
      refresh() {
        if (iframe && iframe.contentWindow && checked) {
          iframe.contentWindow.postMessage({ type: "scanin:refresh" }, new URL(iframe.src).origin);
        }
      },
      /** destroy removes the widget (or its error message); a pending result rejects. */
      destroy() {
        destroyed = true;
        teardown();
        if (el) for (const b of el.querySelectorAll(":scope > .scanin-error")) b.remove();
        if (!done || exchanging) {
          done = true;
          exchanging = false;
          settle.reject(failure("destroyed", "the widget was destroyed before a result"));
        }
      },
    };

    if (form.target !== undefined) {
      fail("target_not_found", { tag, target: form.target });
      return handle;
    }
    if (form.unknown !== undefined) {
      const name = (k) => "data-" + kebab(k);
      fail("unknown_option", { tag, name, option: form.unknown, suggestion: closest(form.unknown, attributeNames), known: attributeNames });
      return handle;
    }
    const c = check(opts, tag);
    if (c.fail) {
      fail(c.fail[0], c.fail[1]);
      return handle;
    }
    const name = tag ? (k) => "data-" + kebab(k) : (k) => k;
    const relay = c.relay;
    const widgetOrigin = new URL(relay).origin;
    if (widgetOrigin === location.origin) {
      // The sandbox below keeps allow-same-origin, so it isolates the widget
      // only from pages of another origin.
      console.warn("scanin: the relay shares this page's origin; serve it from another origin so the page cannot reach into the widget");
    }

    // A page CSP that blocks the frame or the app check says so here.
    const onViolation = (e) => {
      let blocked = "";
      try {
        blocked = new URL(e.blockedURI).origin;
      } catch (err) {
        return;
      }
      if (blocked !== widgetOrigin) return;
      // The directive in force: the effective one, or what it falls back
      // to when the policy does not name it.
      const effective = e.effectiveDirective || e.violatedDirective;
      const named = String(e.originalPolicy || "").split(";").map((d) => d.trim().split(/\s+/)[0].toLowerCase());
      const chain = { "frame-src": ["frame-src", "child-src"], "script-src-elem": ["script-src-elem", "script-src"] }[effective] || [effective];
      const directive = chain.concat("default-src").find((d) => named.includes(d)) || effective;
      fail("csp_blocked", { relayOrigin: widgetOrigin, directive, effective });
    };
    document.addEventListener("securitypolicyviolation", onViolation);
    cleanups.push(() => document.removeEventListener("securitypolicyviolation", onViolation));

    // The app and this page's origin, checked while the frame loads.
    const appPath = "/v1/apps/" + opts.app;
    const ctl = typeof AbortController === "function" ? new AbortController() : null;
    cleanups.push(() => ctl && ctl.abort());
    fetch(relay + appPath, { credentials: "omit", cache: "no-cache", signal: ctl ? ctl.signal : undefined })
      .then(async (r) => {
        const type = r.headers.get("Content-Type") || "";
        let body = null;
        try {
          body = type.startsWith("application/json") ? await r.json() : null;
        } catch (e) {
          body = null;
        }
        if (done) return;
        if (r.status === 404 && body && body.error === "not_found") {
          fail("app_not_found", { tag, name, app: opts.app, relay });
          return;
        }
        if (r.status !== 200 || !body || !Array.isArray(body.origins)) {
          const why = r.status === 200 ? "not an app configuration" : r.status + (type ? " " + type.split(";")[0] : "");
          if (r.status === 429 || r.status >= 500) {
            fail("relay_unreachable", { tag, name, relay, why: "it answered " + why });
          } else {
            fail("relay_invalid", { tag, name, relay, path: appPath, why });
          }
          return;
        }
        const origins = [location.origin];
        if (location.ancestorOrigins) origins.push(...Array.from(location.ancestorOrigins));
        const denied = origins.find((o) => !originAllowed(body.origins, o));
        if (denied !== undefined) {
          fail("origin_not_allowed", { origin: denied, app: opts.app });
          return;
        }
        checked = true;
        if (iframe) iframe.style.opacity = "";
        for (const m of queued.splice(0)) onMessage(m);
      }, (err) => {
        if (done || (err && err.name === "AbortError")) return;
        // A CSP connect-src block fails the fetch too; its violation event
        // names the directive, so it may come first.
        const t = setTimeout(() => fail("relay_unreachable", { tag, name, relay, why: String((err && err.message) || err) }), 300);
        cleanups.push(() => clearTimeout(t));
      });

    const src = new URL(relay + "/widget.html");
    src.searchParams.set("app", opts.app);
    if (c.ttl) src.searchParams.set("ttl", String(c.ttl));
    if (c.limit) src.searchParams.set("limit", String(c.limit));
    if (c.verify) src.searchParams.set("verify", "1");
    if (c.theme) src.searchParams.set("theme", c.theme);

    if (opts.preload === true || (opts.preload !== false && sameSite(relay))) preload(relay);
    iframe = document.createElement("iframe");
    iframe.src = src.href;
    iframe.title = opts.title || "Sign in with your phone";
    // allow-same-origin keeps the widget's own origin (without it the page
    // would see "null" and could verify nothing); the widget's origin is the
    // relay's, not this page's, so it still cannot touch this page.
    iframe.setAttribute("sandbox", "allow-scripts allow-same-origin");
    iframe.setAttribute("referrerpolicy", "origin");
    // Transparent until the check passed: a frame the relay refuses is
    // replaced by the message, never seen broken.
    iframe.style.cssText = "border:0;display:block;width:100%;max-width:320px;height:372px;color-scheme:normal;" +
      (checked ? "" : "opacity:0;");

    const onMessage = (event) => {
      // Both checks: the origin proves who sent it, the source that it is
      // this widget and not another frame of the same relay.
      if (done || !iframe || event.source !== iframe.contentWindow || event.origin !== widgetOrigin) return;
      const m = event.data;
      if (!m || typeof m !== "object" || typeof m.type !== "string") return;
      if (m.type === "scanin:hello") {
        // The widget asks who its page is; the answer's origin says it.
        iframe.contentWindow.postMessage({ type: "scanin:hello", v: 1 }, widgetOrigin);
        return;
      }
      if (!checked) {
        queued.push(event);
        return;
      }
      switch (m.type) {
        case "scanin:ready":
          clearTimeout(timer);
          state("waiting", { expiresAt: m.expires_at });
          break;
        case "scanin:scanned":
          state("scanned");
          break;
        case "scanin:verifying":
          // Verify mode: the widget shows the check code and waits for a click.
          state("verifying");
          break;
        case "scanin:expired":
          state("expired", { final: m.final === true });
          break;
        case "scanin:denied":
          state("denied");
          break;
        case "scanin:error":
          // The widget runs and speaks for itself: no load timeout.
          clearTimeout(timer);
          state("error", { code: String(m.code || ""), message: String(m.message || ""), retrying: m.retrying === true });
          break;
        case "scanin:result": {
          if (typeof m.kind !== "string" || typeof m.data !== "string") return;
          done = true;
          const device = m.device && typeof m.device === "object"
            ? { name: String(m.device.name || ""), type: String(m.device.type || "") }
            : null;
          const r = { kind: m.kind, data: m.data, device, sid: typeof m.sid === "string" ? m.sid : "" };
          if (r.kind === "assertion" && c.exchange) {
            exchange(r);
            break;
          }
          if (r.kind === "token") {
            try {
              store(c.storage, r.data);
            } catch (e) {
              console.error("scanin: failed to store the token:", e);
            }
          }
          state("success", { kind: r.kind, device });
          call(opts.onResult, r);
          el.dispatchEvent(new CustomEvent("scanin:result", { bubbles: true, detail: r }));
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
    // exchange posts an assertion to the page's backend, which verifies it
    // and starts its own session (an HttpOnly cookie); `result` is the
    // backend's answer. The assertion stays in this closure: it is never
    // stored, nor handed to the page's callbacks.
    const exchange = (r) => {
      const url = c.exchange;
      exchanging = true;
      const refused = (error, status, message) => {
        if (destroyed) return;
        exchanging = false;
        teardown();
        const text = message || `the sign-in was refused (${error || status})`;
        console.error("scanin: exchange_failed: " + (error ? error + ": " : "") + text);
        if (el) el.appendChild(errorBox(text, widgetTheme, "Sign-in failed."));
        const e = failure("exchange_failed", text);
        e.error = error;
        e.status = status;
        state("error", { code: "exchange_failed", error, status, message: text, retrying: false });
        settle.reject(e);
      };
      fetch(url, {
        method: "POST",
        credentials: "include",
        cache: "no-store",
        redirect: "error", // the assertion goes to this URL and nowhere else
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ assertion: r.data, sid: r.sid }),
      }).then(async (res) => {
        const type = res.headers.get("Content-Type") || "";
        let body;
        try {
          body = /^application\/([\w.+-]+\+)?json/i.test(type) ? await res.json() : undefined;
        } catch (e) {
          body = undefined;
        }
        const what = `${url} answered ${res.status}${type ? " " + type.split(";")[0] : ""}`;
        if (!res.ok) {
          const ok = body && typeof body === "object";
          const error = ok && typeof body.error === "string" ? body.error : "";
          const message = ok && typeof body.message === "string" && body.message ? body.message
            : error ? `${url} refused the sign-in: ${error}` : what + ', not {"error", "message"}';
          refused(error, res.status, message);
          return;
        }
        if (body === undefined) {
          refused("", res.status, what + ": answer with JSON, such as {\"ok\": true}");
          return;
        }
        if (destroyed) return;
        exchanging = false;
        state("success", { kind: r.kind, device: r.device });
        call(opts.onResult, body);
        el.dispatchEvent(new CustomEvent("scanin:result", { bubbles: true, detail: body }));
        settle.resolve(body);
      }, (err) => refused("", 0, `could not reach ${url} (${String((err && err.message) || err)})`));
    };
    window.addEventListener("message", onMessage);
    cleanups.push(() => window.removeEventListener("message", onMessage));
    // Introduce this page to the widget, which learns the page's origin
    // from the message itself (the browser vouches for it). The widget asks
    // early (scanin:hello above); the load event covers browsers where it
    // cannot tell whom to ask.
    iframe.addEventListener("load", () => {
      if (iframe && iframe.contentWindow) iframe.contentWindow.postMessage({ type: "scanin:hello", v: 1 }, widgetOrigin);
    });
    timer = setTimeout(() => fail("load_timeout", { seconds: c.timeout, relayOrigin: widgetOrigin, relay, app: opts.app }),
      c.timeout * 1000);
    el.appendChild(iframe);
    return handle;
  }

  /**
   * mount puts the widget in element (an element or a CSS selector) and
   * returns {result, iframe, refresh(), destroy()}. It does not throw for
   * a misconfiguration: result rejects with it (see failures).
   */
  function mount(element, options) {
    let el = element;
    if (typeof element === "string") {
      try {
        el = document.querySelector(element);
      } catch (e) {
        el = null;
      }
    }
    if (!el || typeof el.appendChild !== "function") {
      return create(null, options, { tag: false, target: typeof element === "string" ? element : String(element) });
    }
    return create(el, options, { tag: false });
  }

  // mountTag is the no-code form: <script src=".../embed.js" data-app="demo" ...>.
  function mountTag(d) {
    const placeAfterScript = () => {
      // Right after the script tag, unless that is in <head>.
      const box = document.createElement("div");
      if (script.parentNode && script.parentNode !== document.head && document.body) script.after(box);
      else document.body.appendChild(box);
      return box;
    };
    let target = null;
    if (d.target) {
      try {
        target = document.querySelector(d.target);
      } catch (e) {
        target = null;
      }
      if (!target) {
        return create(placeAfterScript(), null, { tag: true, target: d.target });
      }
    } else {
      target = placeAfterScript();
    }
    for (const k of Object.keys(d)) {
      if (!attributeNames.includes(k) && !foreignAttribute.test(k)) {
        return create(target, null, { tag: true, unknown: k });
      }
    }
    const storage = d.storage !== undefined
      ? {
          type: d.storage,
          key: d.key === undefined ? "scanin" : d.key,
          path: d.cookiePath,
          domain: d.cookieDomain,
          maxAge: d.cookieMaxAge,
          sameSite: d.cookieSameSite,
        }
      : undefined;
    const exchange = d.exchangeUrl !== undefined ? { url: d.exchangeUrl } : undefined;
    const opts = { relay: d.relay, app: d.app, storage, exchange, ttl: d.ttl, limit: d.limit, verify: d.verify, theme: d.theme,
      timeout: d.timeout };
    for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
    const w = create(target, opts, { tag: true });
    if (d.redirect) w.result.then(() => location.assign(d.redirect), () => {});
    return w;
  }

  window.Scanin = Object.freeze({ version: 1, mount, originAllowed });

  // A script tag with data-* attributes but no data-app is a mistake; a
  // bare one loads embed.js for Scanin.mount.
  const d = script && script.dataset ? script.dataset : {};
  if (Object.keys(d).some((k) => !foreignAttribute.test(k))) {
    const start = () => mountTag(d);
    const placeable = d.target ? document.querySelector(d.target) : document.body;
    if (document.readyState === "loading" && !placeable) {
      document.addEventListener("DOMContentLoaded", start, { once: true });
    } else {
      start();
    }
  }
})();
