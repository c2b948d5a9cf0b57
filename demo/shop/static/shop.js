// The shop's own script: it reads the session token that embed.js stored,
// shows who is signed in, and signs out. The demo token is the phone's demo
// session, "demo." + base64url(JSON {"user": ...}); a real site would hand
// the token to its own API instead of reading it here.
"use strict";
(function () {
  const KEY = "session";
  const storage = new URLSearchParams(location.search).get("storage") || "localStorage";

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

  function show() {
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
    login.addEventListener("scanin:result", function () { show(); });
    document.getElementById("sign-out").addEventListener("click", function () {
      localStorage.removeItem(KEY);
      sessionStorage.removeItem(KEY);
      document.cookie = KEY + "=; Max-Age=0; Path=/; SameSite=Lax";
      location.reload();
    });
    show();
  });
})();
