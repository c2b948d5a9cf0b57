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
      ? await scaninPhone.approve("token", demoToken(), "Demo phone", "web")
      : await scaninPhone.deny();
    $("approve").disabled = $("deny").disabled = false;
    message("");
    outcome(r.title, r.text);
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
