# workerd configuration of mini.js, the minimal Durable Object relay that
# `./build.sh bench edge` measures beside the edge relay (server/bench,
# cmd/edgebench starts it):
#
#   workerd serve mini.capnp --socket-addr http=127.0.0.1:PORT
#
# In-memory Durable Object storage: mini.js stores nothing.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "mini", worker = .mini)],
  sockets = [(name = "http", address = "127.0.0.1:8788", service = "mini")],
);

const mini :Workerd.Worker = (
  # The same date as the edge relay's workerd.capnp.
  compatibilityDate = "2026-11-01",
  modules = [(name = "mini.js", esModule = embed "mini.js")],
  durableObjectNamespaces = [(className = "Relay", uniqueKey = "scanin-bench-mini")],
  durableObjectStorage = (inMemory = void),
  bindings = [(name = "RELAY", durableObjectNamespace = "Relay")],
);
