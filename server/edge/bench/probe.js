// probe.js: the edge relay (src/worker.js) with counters and timers around
// it, for `./build.sh bench edge` only (cmd/edgebench generates the workerd
// configuration that makes this the main module). Nothing here changes what
// the relay does. It counts each Durable Object storage call and each event,
// and times each call into Go and the Go instance's start with
// performance.now(). Under workerd that clock moves while code runs (on
// Cloudflare it stands still), in whole milliseconds: a single reading is
// coarse, but the mean over many calls is not biased (the sum of the
// calls' readings matches the reading around all of them). GET
// /__probe answers the figures so far as JSON; POST /__probe resets them.
import worker, { Session as RelaySession, Limiter } from "../src/worker.js";

export { Limiter };

const counts = {}; // "storage.put" -> calls
const times = {}; // "go.request" -> [ms, ...]
const count = (k) => (counts[k] = (counts[k] ?? 0) + 1);
const record = (k, ms) => (times[k] ??= []).push(ms);

// The Go instance's start: WebAssembly.instantiate, then main until it
// sets globalThis.scaninEdge, whose functions are wrapped with timers.
const instantiate = WebAssembly.instantiate;
let instantiated = 0;
WebAssembly.instantiate = async (...args) => {
  const t0 = performance.now();
  const r = await instantiate(...args);
  instantiated = performance.now();
  record("go.instantiate", instantiated - t0);
  return r;
};
let api;
Object.defineProperty(globalThis, "scaninEdge", {
  configurable: true,
  get: () => api,
  set(v) {
    record("go.main", performance.now() - instantiated);
    api = {};
    for (const name of Object.keys(v)) {
      api[name] = (...a) => {
        const t0 = performance.now();
        try {
          return v[name](...a);
        } finally {
          record("go." + name, performance.now() - t0);
        }
      };
    }
  },
});

// countingStorage counts the calls on a Durable Object's storage.
function countingStorage(storage) {
  return new Proxy(storage, {
    get(target, key) {
      const v = Reflect.get(target, key);
      if (typeof v !== "function") return v;
      return (...a) => {
        count("storage." + String(key));
        return v.apply(target, a);
      };
    },
  });
}

export class Session extends RelaySession {
  constructor(ctx, env) {
    const storage = countingStorage(ctx.storage);
    super(new Proxy(ctx, {
      get(target, key) {
        if (key === "storage") return storage;
        const v = Reflect.get(target, key);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }), env);
    count("session.objects");
  }

  async webSocketMessage(ws, data) {
    count("session.webSocketMessage");
    return super.webSocketMessage(ws, data);
  }

  async webSocketClose(ws, ...rest) {
    count("session.webSocketClose");
    return super.webSocketClose(ws, ...rest);
  }

  async alarm() {
    count("session.alarm");
    return super.alarm();
  }

  async fetch(request) {
    count("session.fetch");
    return super.fetch(request);
  }
}

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__probe") {
      const figures = Response.json({ counts, times });
      if (request.method === "POST") {
        for (const k of Object.keys(counts)) delete counts[k];
        for (const k of Object.keys(times)) delete times[k];
      }
      return figures;
    }
    count("front.fetch");
    return worker.fetch(request, env, ctx);
  },
};
