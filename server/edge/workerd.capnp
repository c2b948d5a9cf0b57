# workerd configuration for serving the edge relay locally, as
# `./build.sh edge` does (it builds dist/ first):
#
#   workerd serve --experimental workerd.capnp \
#     --socket-addr http=127.0.0.1:8787 --directory-path do-storage=/some/dir
#
# Durable Object storage is on disk (localDisk, hence --experimental), so
# an object evicted while its receiver waits (hibernation) keeps its
# session and alarm; in-memory storage would lose both.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "relay", worker = .relay),
    # The path is a placeholder: build.sh gives a fresh directory with
    # --directory-path.
    (name = "do-storage", disk = (path = "/nonexistent/scanin-edge", writable = true)),
    # The static assets (dist/public, written by cmd/edgebundle), the
    # ASSETS binding as wrangler.jsonc's "assets" is when deployed;
    # build.sh gives the directory with --directory-path.
    (name = "assets", disk = (path = "/nonexistent/scanin-edge-assets", writable = false)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", service = "relay", http = .http)],
);

# Cloudflare sets CF-Connecting-IP to the client's address. This socket
# listens on loopback only, so every client is 127.0.0.1; injecting the
# header also replaces any value a client sent.
const http :Workerd.HttpOptions = (
  injectRequestHeaders = [(name = "CF-Connecting-IP", value = "127.0.0.1")],
);

const relay :Workerd.Worker = (
  # At or before the workerd build's date (1.20261117.1).
  compatibilityDate = "2026-11-01",
  modules = [
    # Named by their paths, so worker.js's relative imports resolve as
    # they do for wrangler.
    (name = "src/worker.js", esModule = embed "src/worker.js"),
    (name = "dist/wasm_exec.js", esModule = embed "dist/wasm_exec.js"),
    (name = "dist/rules.wasm", wasm = embed "dist/rules.wasm"),
    # The browser files (src/static.js) and their manifest, with the apps.
    (name = "src/static.js", esModule = embed "src/static.js"),
    (name = "dist/static.js", esModule = embed "dist/static.js"),
  ],
  durableObjectNamespaces = [
    (className = "Session", uniqueKey = "scanin-edge-session", enableSql = true),
    (className = "Limiter", uniqueKey = "scanin-edge-limiter", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [
    (name = "SESSIONS", durableObjectNamespace = "Session"),
    (name = "LIMITS", durableObjectNamespace = "Limiter"),
    (name = "ASSETS", service = "assets"),
    # "off" under --no-rate-limit.
    (name = "RATE_LIMIT", fromEnvironment = "SCANIN_EDGE_RATE_LIMIT"),
    # "on" in tests: answers name the Session object's life (an eviction
    # starts a new one).
    (name = "TRACE", fromEnvironment = "SCANIN_EDGE_TRACE"),
  ],
);
