// ws-relay.js: the "typical developer" peer of `./build.sh bench relay`, a
// minimal relay on the ws package written the way one usually is. A receiver
// waits on a WebSocket at /listen/<id>; a sender POSTs the message to
// /send/<id>; the receiver answers any message as its ack and the sender then
// gets 200. Usage: node ws-relay.js [port]   (port 0 picks a free one)
const http = require('http');
const { WebSocketServer } = require('ws');

const receivers = new Map(); // id -> waiting WebSocket
const wss = new WebSocketServer({ noServer: true });

const server = http.createServer((req, res) => {
  const m = req.url.match(/^\/send\/([\w-]+)$/);
  if (req.method !== 'POST' || !m) { res.writeHead(404); return res.end(); }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const ws = receivers.get(m[1]);
    if (!ws) { res.writeHead(404); return res.end('no receiver'); }
    receivers.delete(m[1]);
    const timer = setTimeout(() => { res.writeHead(202); res.end('pending'); }, 10000);
    ws.once('message', () => {
      clearTimeout(timer);
      res.writeHead(200);
      res.end('delivered');
      ws.close();
    });
    ws.send(Buffer.concat(chunks));
  });
});

server.on('upgrade', (req, socket, head) => {
  const m = req.url.match(/^\/listen\/([\w-]+)$/);
  if (!m) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    receivers.set(m[1], ws);
    ws.on('close', () => { if (receivers.get(m[1]) === ws) receivers.delete(m[1]); });
  });
});

server.listen(Number(process.argv[2] || 8081), '127.0.0.1', () => {
  console.log(`ws-relay listening on ${server.address().port}`);
});
