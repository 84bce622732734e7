// ws_peer.js — an independent WebSocket peer (Debian node-ws, loaded from
// /usr/share/nodejs) that speaks the actr lane framing (SPEC §1.4):
// [type u8][data_len u32 BE][data] in one binary message.
//
//   node ws_peer.js server       echo every valid lane message unchanged;
//                                prints "PORT <n>" once listening on 127.0.0.1
//   node ws_peer.js client URL   exchange with an echo peer (actr-lane serve),
//                                check everything, exit 0 only if all matched
'use strict';
const WebSocket = require('/usr/share/nodejs/ws');

const SIZES = [0, 1, 120, 121, 65530, 65531, 200000, 1 << 20, 4 << 20];

function pattern(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

function laneMsg(type, data) {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt32BE(data.length, 1);
  return Buffer.concat([h, data]);
}

function valid(m) {
  return m.length >= 5 && m[0] <= 4 && m.readUInt32BE(1) <= m.length - 5;
}

function serve() {
  const wss = new WebSocket.WebSocketServer({host: '127.0.0.1', port: 0,
                                             perMessageDeflate: false, maxPayload: 64 << 20});
  wss.on('listening', () => console.log('PORT ' + wss.address().port));
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary && valid(data)) ws.send(data, {binary: true});
    });
  });
}

// A small inbox so the client can await messages one by one.
function inbox(ws) {
  const queue = [], waiters = [];
  let closed = null;
  ws.on('message', (data, isBinary) => {
    const item = {data, isBinary};
    if (waiters.length) waiters.shift().resolve(item); else queue.push(item);
  });
  ws.on('close', (code) => {
    closed = code;
    while (waiters.length) waiters.shift().reject(new Error('closed ' + code));
  });
  return {
    next(ms = 30000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (closed !== null) return Promise.reject(new Error('closed ' + closed));
      return new Promise((resolve, reject) => {
        const w = {resolve, reject};
        waiters.push(w);
        setTimeout(() => reject(new Error('no message in ' + ms + ' ms')), ms).unref();
      });
    },
    closeCode() { return closed; },
  };
}

function open(url, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    const box = inbox(ws);
    ws.once('open', () => resolve({ws, box}));
    ws.once('error', reject);
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

async function client(url) {
  const headers = {'X-Actr-Source-ID': '00ff', 'X-Actr-Credential': 'Y3JlZA=='};
  // Default options on purpose: ws offers permessage-deflate; libactr must
  // decline it and still work.
  const {ws, box} = await open(url, {headers, maxPayload: 64 << 20});
  for (let type = 0; type < 5; type++) {
    for (const n of SIZES) {
      const m = laneMsg(type, pattern(n, type + n));
      ws.send(m);
      const r = await box.next();
      if (!r.isBinary || !r.data.equals(m)) throw new Error(`type ${type} size ${n}: echo differs`);
    }
  }
  const msgs = [];
  for (let i = 0; i < 2000; i++) msgs.push(laneMsg((i % 2) * 2, pattern(1024, i)));
  for (const m of msgs) ws.send(m);
  const got = {0: [], 2: []};
  for (let i = 0; i < msgs.length; i++) { const r = await box.next(); got[r.data[0]].push(r.data); }
  for (const t of [0, 2]) {
    const want = msgs.filter((m) => m[0] === t);
    if (got[t].length !== want.length || got[t].some((m, i) => !m.equals(want[i])))
      throw new Error('pipelined echoes out of order on type ' + t);
  }
  for (const bad of [Buffer.from([0, 0]), Buffer.from([7, 0, 0, 0, 1, 0x78]),
                     Buffer.from([1, 0, 0, 0, 9, 0x61, 0x62])])
    ws.send(bad);
  const alive = laneMsg(1, Buffer.from('still here'));
  ws.send(alive);
  if (!(await box.next()).data.equals(alive)) throw new Error('after malformed messages');
  await new Promise((resolve, reject) => {
    ws.once('pong', resolve);
    ws.ping(Buffer.from('are you there'));
    setTimeout(() => reject(new Error('no pong')), 10000).unref();
  });
  const c = closed(ws);
  ws.send('text is not a lane message');
  const code = await c;
  if (code !== 1003) throw new Error('text frame: closed with ' + code + ', want 1003');

  const second = await open(url, {maxPayload: 64 << 20});
  const m = laneMsg(3, pattern(100, 3));
  second.ws.send(m);
  if (!(await second.box.next()).data.equals(m)) throw new Error('second connection');
  const c2 = closed(second.ws);
  second.ws.close(1000);
  if ((await c2) !== 1000) throw new Error('clean close');
  console.log('node ws client: all echoes matched');
}

const [mode, url] = process.argv.slice(2);
if (mode === 'server') serve();
else if (mode === 'client' && url)
  client(url).then(() => process.exit(0),
                   (e) => { console.error('ws_peer.js: ' + e.message); process.exit(1); });
else { console.error('usage: ws_peer.js server | client URL'); process.exit(2); }
