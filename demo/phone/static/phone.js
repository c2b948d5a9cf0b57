// The demo phone: it plays the Demo Shop's mobile app. The scanin logic (link
// parsing, reading the session, sealing, delivering, denying) is the Go
// mobile SDK compiled to WebAssembly (phone.wasm), exposed as
// globalThis.scaninPhone; this script is only the screens around it.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const script = document.currentScript;
  const DEMO_USER = "Ada Lovelace";

  // The demo user's session token, as the real app would hold one:
  // "demo." + base64url(JSON). The shop reads the user's name from it.
  function demoToken() {
    const body = JSON.stringify({ user: DEMO_USER, iat: Math.floor(Date.now() / 1000) });
    const b64 = btoa(unescape(encodeURIComponent(body))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return "demo." + b64;
  }

  function screen(name) {
    for (const s of ["scan", "confirm", "outcome"]) $(s).hidden = s !== name;
  }
  function message(text) { $("message").textContent = text || ""; }

  let ready;
  const wasmReady = new Promise((resolve) => { ready = resolve; });
  globalThis.scaninPhoneReady = () => ready();
  const go = new Go();
  WebAssembly.instantiateStreaming(fetch(script.dataset.wasm), go.importObject)
    .then((r) => go.run(r.instance))
    .catch((e) => message("Could not start the phone: " + e));

  // --- scanning -----------------------------------------------------------
  let stream = null;
  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("camera").hidden = true;
  }

  async function startCamera() {
    message("");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) {
      message("No camera available (" + e.name + "). Upload a picture or paste the link instead.");
      return;
    }
    const video = $("camera");
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const detector = "BarcodeDetector" in window ? new BarcodeDetector({ formats: ["qr_code"] }) : null;
    const canvas = document.createElement("canvas");
    const tick = async () => {
      if (!stream) return;
      let text = null;
      if (detector) {
        const codes = await detector.detect(video).catch(() => []);
        if (codes.length) text = codes[0].rawValue;
      } else if (video.videoWidth) {
        text = await decodeFrom(video, video.videoWidth, video.videoHeight, canvas);
      }
      if (text) { stopCamera(); inspect(text); } else { setTimeout(tick, 250); }
    };
    tick();
  }

  // decodeFrom draws an image or video frame and decodes it with the QR
  // decoder compiled from Go (for browsers without BarcodeDetector).
  async function decodeFrom(source, width, height, canvas) {
    await wasmReady;
    canvas = canvas || document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, width, height);
    const pixels = ctx.getImageData(0, 0, width, height);
    return scaninPhone.decodeQR(pixels.data, width, height);
  }

  async function fromPicture(file) {
    message("Reading the picture…");
    const bitmap = await createImageBitmap(file).catch(() => null);
    if (!bitmap) { message("That file is not a picture."); return; }
    const text = await decodeFrom(bitmap, bitmap.width, bitmap.height);
    if (!text) { message("No QR code found in that picture."); return; }
    inspect(text);
  }

  // --- confirming -----------------------------------------------------------
  let countdown = 0;
  async function inspect(link) {
    message("Reading the session…");
    await wasmReady;
    const r = await scaninPhone.inspect(link.trim());
    if (r.error) { message(r.error); return; }
    inspected = r;
    message("");
    $("c-app").textContent = r.appName;
    $("c-origin").textContent = r.origin || "(not told)";
    $("c-browser").textContent = r.browser;
    $("c-ip").textContent = r.requesterIP;
    $("c-our-ip").textContent = r.senderIP;
    $("c-network").hidden = r.sameNetwork;
    const expiresAt = Date.now() + r.secondsLeft * 1000;
    const tick = () => {
      const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
      $("c-left").textContent = left + " s";
      if (left === 0) { clearInterval(countdown); outcome(scaninPhone.expired.title, scaninPhone.expired.text); }
    };
    clearInterval(countdown);
    tick();
    countdown = setInterval(tick, 1000);
    screen("confirm");
    $("approve").focus();
  }

  function outcome(title, text) {
    clearInterval(countdown);
    $("o-title").textContent = title;
    $("o-text").textContent = text;
    screen("outcome");
    $("again").focus();
  }

  async function decide(approve) {
    $("approve").disabled = $("deny").disabled = true;
    message(approve ? "Signing in…" : "Declining…");
    const r = approve
      ? (signsIn()
        ? await scaninPhone.approveAssertion(device.deviceId, device.user, device.name, device.type, signerOf(device))
        : await scaninPhone.approve("token", demoToken(), "Demo phone", "web"))
      : await scaninPhone.deny();
    $("approve").disabled = $("deny").disabled = false;
    message("");
    outcome(r.title, r.text);
  }

  // --- the shop's backend mode ---------------------------------------------------
  // The shop (this app's backend in the demo) is at data-shop. Registered,
  // this phone keeps an ECDSA P-256 key that WebCrypto made non-extractable
  // in IndexedDB; the shop gets only its public JWK. Signing in to the shop,
  // the SDK (phone.wasm) makes the assertion's claims from the session it
  // read and this key signs them: WebCrypto's ECDSA signature is R||S already,
  // as JWS wants it.
  const SHOP = script.dataset.shop && !script.dataset.shop.includes("{{") ? script.dataset.shop.replace(/\/+$/, "") : "";
  let device = null; // {deviceId, name, type, user, token, privateKey, publicRaw}
  let inspected = null; // what the last code's session said

  // signsIn: this phone signs an assertion for the code it approves when
  // it is registered and the code is the shop's (its aud).
  function signsIn() {
    return !!(device && SHOP && inspected && inspected.origin === new URL(SHOP).origin);
  }

  function signerOf(d) {
    return {
      publicKey: d.publicRaw,
      sign: (bytes) => crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, d.privateKey, bytes),
    };
  }

  function store(mode, f) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open("scanin-demo-phone", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("devices");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction("devices", mode);
        const req = f(tx.objectStore("devices"));
        tx.oncomplete = () => { open.result.close(); resolve(req.result); };
        tx.onerror = () => { open.result.close(); reject(tx.error); };
      };
    });
  }

  const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  function guessName() {
    const ua = navigator.userAgent;
    const m = ua.match(/Android [\d.]+; ([^;)]+?)(?: Build[^;)]*)?\)/);
    if (m && m[1] !== "K") return m[1];
    if (/iPhone/.test(ua)) return "iPhone";
    if (/iPad/.test(ua)) return "iPad";
    return /Android/.test(ua) ? "Android phone" : "Demo phone";
  }
  const deviceType = () => (/Android/.test(navigator.userAgent) ? "android" : /iPhone|iPad/.test(navigator.userAgent) ? "ios" : "web");

  async function register() {
    const name = $("b-name").value.trim();
    if (!name) { message("Give this phone a name first."); $("b-name").focus(); return; }
    $("b-register").disabled = true;
    message("Registering…");
    try {
      const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
      const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
      const d = { deviceId: b64url(crypto.getRandomValues(new Uint8Array(16))), name, type: deviceType(),
        privateKey: keys.privateKey, publicRaw };
      const reg = { device_id: d.deviceId, public_key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, name, type: d.type };
      const r = await fetch(SHOP + "/phone-api/register", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(reg),
      });
      const body = await r.json().catch(() => null);
      if (!r.ok || !body) {
        message("Demo Shop did not register this phone: " + ((body && body.message) || r.status));
        return;
      }
      d.user = body.user;
      d.token = body.token;
      await store("readwrite", (s) => s.put(d, SHOP));
      device = d;
      message("");
      showBackend();
    } catch (e) {
      message("Could not register this phone: " + e);
    } finally {
      $("b-register").disabled = false;
    }
  }

  function showBackend() {
    $("backend").hidden = !SHOP;
    if (!SHOP) return;
    $("b-unregistered").hidden = !!device;
    $("b-registered").hidden = !device;
    if (!device) {
      if (!$("b-name").value) $("b-name").value = guessName();
      return;
    }
    $("b-status").replaceChildren("This phone, ", Object.assign(document.createElement("b"), { id: "b-device", textContent: device.name }),
      ", is registered: it signs you in to Demo Shop with its own key.");
    $("b-forget").hidden = true;
    refreshBrowsers();
  }

  function phoneAPI(path, method) {
    return fetch(SHOP + "/phone-api/" + path, { method: method || "GET", headers: { Authorization: "Bearer " + device.token } });
  }

  // refreshBrowsers shows the browsers this phone signed in, as the shop
  // knows them, each with Sign out.
  async function refreshBrowsers() {
    if (!device) return;
    const list = $("b-browsers");
    let r, body;
    try {
      r = await phoneAPI("browsers");
      body = await r.json();
    } catch (e) {
      $("b-none").textContent = "Could not reach Demo Shop: " + e;
      $("b-none").hidden = false;
      return;
    }
    if (!r.ok) {
      // Revoked on the account page (or the shop restarted): say so, and
      // offer a fresh registration.
      $("b-status").textContent = body.message || "Demo Shop refused this phone.";
      $("b-forget").hidden = false;
      list.replaceChildren();
      $("b-none").hidden = true;
      return;
    }
    list.replaceChildren(...body.browsers.map((b) => {
      const li = document.createElement("li");
      li.dataset.handle = b.handle;
      const what = document.createElement("span");
      what.textContent = b.browser + " · " + b.ip + " · " + b.time;
      const out = document.createElement("button");
      out.type = "button";
      out.className = "secondary";
      out.textContent = "Sign out";
      out.addEventListener("click", async () => {
        out.disabled = true;
        await phoneAPI("browsers/" + encodeURIComponent(b.handle) + "/sign-out", "POST").catch(() => null);
        refreshBrowsers();
      });
      li.append(what, out);
      return li;
    }));
    $("b-none").textContent = "None right now.";
    $("b-none").hidden = body.browsers.length > 0;
  }

  async function forget() {
    await store("readwrite", (s) => s.delete(SHOP)).catch(() => null);
    device = null;
    showBackend();
  }

  if (SHOP) {
    $("b-register").addEventListener("click", register);
    $("b-refresh").addEventListener("click", refreshBrowsers);
    $("b-forget").addEventListener("click", forget);
    $("again").addEventListener("click", refreshBrowsers);
    store("readonly", (s) => s.get(SHOP))
      .then((d) => { device = d || null; })
      .catch(() => { device = null; })
      .then(showBackend);
  }

  // --- wiring ------------------------------------------------------------------
  $("start-camera").addEventListener("click", startCamera);
  // The input is emptied after each picture, so that choosing the same
  // file again (a new code photographed to the same name) fires again.
  $("picture").addEventListener("change", (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (file) fromPicture(file);
  });
  // The demo's codes open this page, so a pasted link looks like them.
  $("link").placeholder = location.origin + location.pathname + "#v=1&a=…";
  $("paste-form").addEventListener("submit", (e) => { e.preventDefault(); inspect($("link").value); });
  $("approve").addEventListener("click", () => decide(true));
  $("deny").addEventListener("click", () => decide(false));
  $("again").addEventListener("click", () => { $("link").value = ""; message(""); screen("scan"); });
  $("user-name").textContent = DEMO_USER;

  // In the demo the codes' links open this page ({relay}/phone#v=1&...), so a
  // phone's own camera app lands here with the link in the fragment.
  if (location.hash.length > 1) inspect(location.href);
})();
