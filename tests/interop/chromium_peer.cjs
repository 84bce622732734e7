#!/usr/bin/env node
// chromium_peer.cjs ROLE — the Chromium side of libactr's interop test.
//
// ROLE is "offer" (the page makes the offer) or "answer".  This script
// serves one page on http://127.0.0.1:<port>/, relays signaling between its
// stdin/stdout (SPEC §5 JSON, one message per line, to and from the libactr
// test) and the page's WebSocket ws://127.0.0.1:<port>/signal, and drives
// headless /usr/bin/chromium with playwright-core (a fresh, empty user data
// directory each run).  The page behaves like aiortc_peer.py: it echoes the
// channels libactr opens, opens "from-peer", and checks the echoes of its
// 8 messages (0, 1, 1200, 65535 bytes; binary and text), reporting with
// "RESULT ..." lines.  Exits when stdin closes.
// CHROMIUM_VERBOSE=1 adds Chromium's own log (--enable-logging=stderr --v=1).
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { WebSocketServer } = require('ws');
const { chromium } = require('playwright-core');

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

// The page's script (runs in Chromium).
function pageMain(role) {
  const SIZES = [0, 1, 1200, 65535];
  const pattern = (size, text, seed) => {
    if (text) {
      let s = '';
      for (let i = 0; i < size; i++) s += String.fromCharCode(97 + ((i + seed) % 26));
      return s;
    }
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
    return b.buffer;
  };
  const same = (a, b) => {
    if (typeof a === 'string' || typeof b === 'string') return a === b;
    if (!(a instanceof ArrayBuffer) || a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a), y = new Uint8Array(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  };
  return (async () => {
    // One getUserMedia call: with it, Chromium gathers host candidates on
    // every interface, loopback included (with the flags above).
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    stream.getTracks().forEach((t) => t.stop());
    const ws = new WebSocket(`ws://${location.host}/signal`);
    await new Promise((ok, ko) => { ws.onopen = ok; ws.onerror = ko; });
    const send = (o) => ws.send(JSON.stringify(o));
    const result = (s) => ws.send('RESULT ' + s);
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate)
        send({ type: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
               sdpMLineIndex: e.candidate.sdpMLineIndex });
      else if (!e.candidate)
        send({ type: 'candidate', candidate: '' });
    };
    pc.onconnectionstatechange = () => console.log('connection ' + pc.connectionState);
    pc.ondatachannel = (e) => {
      const ch = e.channel;
      ch.binaryType = 'arraybuffer';
      result(`chan ${ch.label} ${ch.ordered ? 1 : 0} ${ch.maxRetransmits ?? -1} ${ch.protocol || '-'}`);
      ch.onmessage = (m) => ch.send(m.data);
    };
    const mine = pc.createDataChannel('from-peer');
    mine.binaryType = 'arraybuffer';
    const want = [];
    let k = 0;
    for (const size of SIZES) for (const text of [false, true]) want.push(pattern(size, text, 500 + k++));
    const got = [];
    mine.onopen = () => { for (const m of want) mine.send(m); };
    mine.onmessage = (m) => {
      got.push(m.data);
      if (got.length < want.length) return;
      for (let i = 0; i < want.length; i++)
        if (!same(got[i], want[i])) {
          result(`fail echo ${i}: ${typeof got[i]} of ${got[i].length ?? got[i].byteLength}`);
          return;
        }
      result(`ok from-peer ${got.length} echoes`);
    };
    // Signaling, one message at a time; candidates wait for the description.
    let haveRemote = false;
    const early = [];
    const addCandidate = (m) => pc.addIceCandidate({ candidate: m.candidate,
      sdpMid: m.sdpMid ?? '0', sdpMLineIndex: m.sdpMLineIndex ?? 0 });
    const handle = async (m) => {
      if (m.type === 'offer' || m.type === 'answer') {
        await pc.setRemoteDescription({ type: m.type, sdp: m.sdp });
        haveRemote = true;
        if (m.type === 'offer') {
          await pc.setLocalDescription(await pc.createAnswer());
          send({ type: 'answer', sdp: pc.localDescription.sdp });
        }
        for (const c of early.splice(0)) await addCandidate(c);
      } else if (m.type === 'candidate' && m.candidate) {
        if (haveRemote) await addCandidate(m); else early.push(m);
      }
    };
    let chain = Promise.resolve();
    ws.onmessage = (ev) => {
      chain = chain.then(() => handle(JSON.parse(ev.data)))
        .catch((e) => result('fail signaling: ' + e));
    };
    if (role === 'offer') {
      await pc.setLocalDescription(await pc.createOffer());
      send({ type: 'offer', sdp: pc.localDescription.sdp });
    }
  })().catch((e) => console.log('RESULT fail page: ' + e));
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>libactr interop</title></head>
<body><script>(${pageMain.toString()})(new URLSearchParams(location.search).get('role'));</script>
</body></html>`;

async function main() {
  const role = process.argv[2];
  if (role !== 'offer' && role !== 'answer') {
    process.stderr.write('usage: chromium_peer.cjs offer|answer\n');
    process.exit(2);
  }
  const server = http.createServer((req, res) => {
    if (req.url === '/' || req.url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  // The relay: page <-> this process <-> the libactr test (stdin/stdout).
  const wss = new WebSocketServer({ server, path: '/signal', maxPayload: 1 << 20 });
  let sock = null;
  const pending = [];
  wss.on('connection', (s) => {
    sock = s;
    for (const l of pending.splice(0)) s.send(l);
    s.on('message', (data) => process.stdout.write(data.toString() + '\n'));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const port = server.address().port;

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'actr-chromium-'));
  const args = FLAGS.slice();
  if (process.env.CHROMIUM_VERBOSE) args.push('--enable-logging=stderr', '--v=1');
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium', headless: true, args,
  });
  let closing = false;
  const shutdown = async (code) => {
    if (closing) return;
    closing = true;
    await ctx.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
    server.close();
    process.exit(code);
  };
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (l) => { if (sock) sock.send(l); else pending.push(l); });
  rl.on('close', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(1));

  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (m) => {
    const t = m.text();
    if (t.startsWith('RESULT ')) process.stdout.write(t + '\n');
    else process.stderr.write('chromium page: ' + t + '\n');
  });
  page.on('pageerror', (e) => process.stdout.write('RESULT fail page error: ' + e.message + '\n'));
  await page.goto(`http://127.0.0.1:${port}/?role=${role}`);
}

main().catch((e) => {
  process.stdout.write('RESULT fail chromium_peer: ' + String(e).split('\n')[0] + '\n');
  process.stderr.write(String(e.stack || e) + '\n');
  process.exit(1);
});
