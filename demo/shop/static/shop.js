// The shop's own script. In token mode (the default) it reads the session
// token that embed.js stored, shows who is signed in, and signs out. The
// demo token is the phone's demo session, "demo." + base64url(JSON
// {"user": ...}); a real site would hand the token to its own API instead
// of reading it here. In backend mode the shop's server holds the session
// (an HttpOnly cookie this script cannot read): it asks the server who is
// signed in (GET /api/me) and signs out through it.
"use strict";
(function () {
  const KEY = "session";
  const storage = new URLSearchParams(location.search).get("storage") || "localStorage";
  const backend = document.body.dataset.mode === "backend";

  function readCookie(name) {
    for (const part of document.cookie.split(";")) {
      const [k, ...v] = part.trim().split("=");
      if (k === name) return decodeURIComponent(v.join("="));
    }
    return null;
  }

  function findToken() {
    if (storage === "cookie") return readCookie(KEY);
    try { return window[storage].getItem(KEY); } catch (e) { return null; }
  }

  function userOf(token) {
    try {
      const body = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(body)))).user || "someone";
    } catch (e) {
      return "someone";
    }
  }

  function render(signedIn, user, detail) {
    document.getElementById("signed-out").hidden = signedIn;
    document.getElementById("signed-in").hidden = !signedIn;
    const who = document.getElementById("who");
    who.hidden = !signedIn;
    if (signedIn) {
      document.getElementById("welcome").textContent = "Signed in as " + user + (detail ? " " + detail : "");
      who.textContent = user;
    }
  }

  // showBackend asks the shop's server who this browser is signed in as.
  async function showBackend() {
    let me = null;
    try {
      const r = await fetch("/api/me", { cache: "no-store" });
      if (r.ok) me = await r.json();
    } catch (e) {
      me = null;
    }
    if (me) render(true, me.name, "with " + me.device.name);
    else render(false);
  }

  function hint(text) {
    const h = document.getElementById("hint");
    h.textContent = text || "";
    h.hidden = !text;
  }

  function show() {
    if (backend) { showBackend(); return; }
    const token = findToken();
    const signedIn = !!token;
    document.getElementById("signed-out").hidden = signedIn;
    document.getElementById("signed-in").hidden = !signedIn;
    const who = document.getElementById("who");
    who.hidden = !signedIn;
    if (signedIn) {
      const user = userOf(token);
      document.getElementById("welcome").textContent = "Signed in as " + user;
      document.getElementById("where").textContent = storage;
      who.textContent = user;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const login = document.getElementById("login");
    const line = document.getElementById("status");
    // The widget says what is happening in its own words; the shop only
    // shows which scanin:state event it last heard, as an integrator's
    // page would react to it (and an error's message, which is for the
    // site's developer).
    login.addEventListener("scanin:state", function (e) {
      const d = e.detail || {};
      line.textContent = "scanin:state " + d.state + (d.state === "error" && d.message ? ": " + d.message : "");
    });
    login.addEventListener("scanin:state", function (e) {
      // In backend mode, a refused sign-in: embed.js shows the shop's
      // message in the widget's place; offer a new code.
      if (e.detail && e.detail.code === "exchange_failed") document.getElementById("again").hidden = false;
    });
    login.addEventListener("scanin:result", function (e) {
      const kind = e.detail && e.detail.kind;
      if (!backend && kind === "assertion") {
        hint("The phone signed an assertion (it is registered for the shop's backend): choose “Backend session” " +
          "above, then scan the new code.");
        return;
      }
      if (backend && (kind === "token" || kind === "data")) {
        hint("The phone sent a token: in the demo phone, tap “Register this phone” first, then scan a new code.");
        document.getElementById("again").hidden = false;
        return;
      }
      show();
    });
    document.getElementById("sign-out").addEventListener("click", async function () {
      if (backend) {
        await fetch("/api/sign-out", { method: "POST" }).catch(() => null);
        location.reload();
        return;
      }
      localStorage.removeItem(KEY);
      sessionStorage.removeItem(KEY);
      document.cookie = KEY + "=; Max-Age=0; Path=/; SameSite=Lax";
      location.reload();
    });
    show();
  });
})();
