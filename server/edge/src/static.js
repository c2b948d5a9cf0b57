// The edge relay's browser files and pages: /embed.js, /embed.d.ts,
// /widget.html (and /widget), the hashed /assets/…, and /link, with the
// self-hosted relay's headers, served without starting Go.
//
// dist/static.js is written at build time by server/edge/cmd/edgebundle
// from server.StaticFiles, the self-hosted relay's own files and header
// rules: every answer's fixed headers, the small files inline, and
// widget.html's Content-Security-Policy per app. The assets' bytes, with
// their .br and .gz siblings, are the Worker's static assets (the ASSETS
// binding: wrangler.jsonc's "assets", a disk service under workerd).
// Here is only what depends on the request, as package server does it:
// {{relay}} (the relay's URL as the client reached it), Strict-Transport-
// Security over https, the encoding, and 304s.
import bundle from "../dist/static.js";

// The config file's apps, as JSON, for the Go rules.
export const apps = bundle.apps;
// The config file's limits that apply at the edge, as JSON, for the Go rules.
export const limits = bundle.limits;

const hsts = "max-age=31536000";

// accepts reports whether an Accept-Encoding header allows coding: listed,
// and not with q=0 (server.acceptsEncoding).
function accepts(header, coding) {
  for (const part of header.split(",")) {
    const i = part.indexOf(";");
    const name = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    if (name !== coding) continue;
    const q = i < 0 ? "" : part.slice(i + 1).trim().replaceAll(" ", "");
    return !(q.startsWith("q=0") && /^[.0]*$/.test(q.slice(3)));
  }
  return false;
}

// etag is a templated answer's ETag (server.templatedETag): the first 8
// bytes of the body's SHA-256 in hex, quoted.
async function etag(body) {
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return '"' + Array.from(sum.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("") + '"';
}

// serveStatic answers the request if it is for a static file or page, and
// returns undefined otherwise.
export async function serveStatic(request, env) {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  const url = new URL(request.url);
  const path = url.pathname;
  let a;
  const headers = new Headers();
  if (path === "/widget.html" || path === "/widget") {
    const app = url.searchParams.get("app") ?? "";
    if (!Object.hasOwn(bundle.widgetCSP, app)) return send(request, url, bundle.noApp, headers, 404);
    a = bundle.widget;
    const ws = "ws" + url.origin.slice("http".length);
    headers.set("Content-Security-Policy", bundle.widgetCSP[app].replaceAll("{{ws}}", ws));
  } else if (Object.hasOwn(bundle.files, path)) {
    a = bundle.files[path];
  } else if (path.startsWith("/assets/")) {
    return send(request, url, bundle.noAsset, headers, 404);
  } else {
    return undefined;
  }
  if (a.body !== undefined) return send(request, url, a, headers, 200);

  // A hashed asset: immutable, in the best encoding the client takes.
  for (const [k, v] of Object.entries(a.headers)) headers.set(k, v);
  if (url.protocol === "https:") headers.set("Strict-Transport-Security", hsts);
  const ae = request.headers.get("Accept-Encoding") ?? "";
  let file = path;
  if (a.br && accepts(ae, "br")) {
    file += ".br";
    headers.set("Content-Encoding", "br");
  } else if (a.gz && accepts(ae, "gzip")) {
    file += ".gz";
    headers.set("Content-Encoding", "gzip");
  }
  if ((request.headers.get("If-None-Match") ?? "").includes(a.headers.Etag)) return notModified(headers);
  const got = await env.ASSETS.fetch(new URL(file, url.origin));
  if (!got.ok) return send(request, url, bundle.noAsset, new Headers(), 404);
  // "manual": the body is already in its Content-Encoding.
  return new Response(request.method === "HEAD" ? null : got.body, { status: 200, headers, encodeBody: "manual" });
}

// send answers with one of the bundle's text answers, {{relay}} filled in
// when it is templated, then with its ETag.
async function send(request, url, a, headers, status) {
  for (const [k, v] of Object.entries(a.headers)) headers.set(k, v);
  if (url.protocol === "https:") headers.set("Strict-Transport-Security", hsts);
  let body = a.body;
  if (a.templated) {
    body = body.replaceAll("{{relay}}", url.origin);
    const tag = await etag(body);
    headers.set("ETag", tag);
    if (status === 200 && request.headers.get("If-None-Match") === tag) return notModified(headers);
  }
  return new Response(request.method === "HEAD" ? null : body, { status, headers });
}

// notModified is a 304 with the headers Go's net/http keeps: all but
// Content-Type (and the length).
function notModified(headers) {
  headers.delete("Content-Type");
  return new Response(null, { status: 304, headers });
}
