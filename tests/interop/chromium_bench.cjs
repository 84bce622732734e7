#!/usr/bin/env node
// chromium_bench.cjs [SECONDS] — the Chromium baseline of bench_webrtc:
// two RTCPeerConnections in one headless page (/usr/bin/chromium through
// playwright-core, a fresh user data directory), connected on loopback, and
// the same three figures as libactr's: throughput with 64 KiB (65535-byte)
// and 1 KiB messages on one ordered reliable channel (the sender keeps
// bufferedAmount between 1 and 4 MiB with bufferedamountlow), and the 1 KiB
// round trip (the other side echoes from onmessage).  CPU time is that of
// every Chromium process (from /proc), per GB moved.  The page is
// cross-origin isolated so that performance.now() has 5 us resolution.
// Prints `BENCH baseline.chromium.dc.* <value> <unit>` lines.
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const SECONDS = Number(process.argv[2] || 3);
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

// ---- the page ----
function pageSetup() {
  window.bench = {};
  bench.connect = async () => {
    const s = await navigator.mediaDevices.getUserMedia({ audio: true });
    s.getTracks().forEach((t) => t.stop());
    const a = new RTCPeerConnection({ iceServers: [] });
    const b = new RTCPeerConnection({ iceServers: [] });
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    bench.incoming = {};
    b.ondatachannel = (e) => {
      e.channel.binaryType = 'arraybuffer';
      bench.incoming[e.channel.label] = e.channel;
      if (bench.onIncoming) bench.onIncoming(e.channel);
    };
    bench.a = a;
    bench.b = b;
    bench.a.createDataChannel('warm'); // an m=application section in the offer
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    await new Promise((ok) => {
      const check = () => a.connectionState === 'connected' && ok();
      a.onconnectionstatechange = check;
      check();
    });
  };
  const open = (label) => new Promise((ok) => {
    const dc = bench.a.createDataChannel(label);
    dc.binaryType = 'arraybuffer';
    let n = 0;
    const done = () => { if (++n === 2) ok(dc); };
    dc.onopen = done;
    bench.onIncoming = (ch) => { if (ch.label === label) done(); };
  });
  // start: open a channel and pump; returns after a quarter-second warm-up.
  bench.start = async (size) => {
    const dc = await open('bulk' + size);
    const rx = bench.incoming['bulk' + size];
    const st = { dc, bytes: 0, msgs: 0, stop: false };
    rx.onmessage = (m) => { st.bytes += m.data.byteLength; st.msgs++; };
    const buf = new Uint8Array(size);
    dc.bufferedAmountLowThreshold = 1 << 20;
    const pump = () => { while (!st.stop && dc.bufferedAmount < (4 << 20)) dc.send(buf); };
    dc.onbufferedamountlow = pump;
    pump();
    bench.run = st;
    await new Promise((ok) => setTimeout(ok, 250));
  };
  // measure: what arrives in the next @seconds.
  bench.measure = async (seconds) => {
    const st = bench.run;
    const b0 = st.bytes, m0 = st.msgs, t0 = performance.now();
    await new Promise((ok) => setTimeout(ok, seconds * 1000));
    const t1 = performance.now();
    const r = { bytes: st.bytes - b0, msgs: st.msgs - m0, seconds: (t1 - t0) / 1000 };
    st.stop = true;
    st.dc.close();
    return r;
  };
  bench.rtt = async (n) => {
    const dc = await open('ping');
    const rx = bench.incoming.ping;
    rx.onmessage = (m) => rx.send(m.data);
    const buf = new Uint8Array(1024);
    const rtts = [];
    await new Promise((ok) => {
      let t = 0;
      dc.onmessage = () => {
        rtts.push(performance.now() - t);
        if (rtts.length === n) { ok(); return; }
        t = performance.now();
        dc.send(buf);
      };
      t = performance.now();
      dc.send(buf);
    });
    const s = rtts.slice(Math.floor(n / 10)).sort((x, y) => x - y);
    return { p50: s[Math.floor(s.length / 2)] / 1000, p99: s[Math.floor(s.length * 0.99)] / 1000,
             isolated: self.crossOriginIsolated };
  };
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script>(${pageSetup.toString()})();</script></body></html>`;

// ---- CPU time of Chromium's process tree (/proc) ----
function treeCpuSeconds(rootPid) {
  const tck = 100; // sysconf(_SC_CLK_TCK) on Linux
  const kids = new Map();
  const stats = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let st;
    try { st = fs.readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(f[1]);
    stats.set(Number(d), (Number(f[11]) + Number(f[12])) / tck);
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(Number(d));
  }
  let sum = 0;
  const todo = [rootPid];
  while (todo.length) {
    const p = todo.pop();
    sum += stats.get(p) || 0;
    for (const k of kids.get(p) || []) todo.push(k);
  }
  return sum;
}

async function main() {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/' ? 200 : 404, {
      'content-type': 'text/html; charset=utf-8',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(req.url === '/' ? PAGE : '');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'actr-chromium-bench-'));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium', headless: true, args: FLAGS,
  });
  // The browser process: the one started with our user data directory and
  // no --type= (its children are the renderer, GPU and network processes).
  // Found through /proc's own view, which may be another PID namespace's.
  let root = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(userDataDir) && !cmd.includes('--type=')) root = Number(d);
    } catch { /* gone */ }
  }
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.evaluate(() => bench.connect());
    const out = (name, v, unit) => process.stdout.write(`BENCH baseline.chromium.dc.${name} ${v} ${unit}\n`);
    for (const [size, name] of [[65535, '64k'], [1024, '1k']]) {
      await page.evaluate((s) => bench.start(s), size);
      const c0 = root ? treeCpuSeconds(root) : 0;
      const r = await page.evaluate((t) => bench.measure(t), SECONDS);
      const c1 = root ? treeCpuSeconds(root) : 0;
      const bps = r.bytes / r.seconds;
      process.stdout.write(`# Chromium ${name}: ${(bps / 1e6).toFixed(1)} MB/s, ` +
        `${(r.msgs / r.seconds).toFixed(0)} msg/s, ${((c1 - c0) / (r.bytes / 1e9)).toFixed(2)} CPU s/GB` +
        ` (all Chromium processes)\n`);
      out(`${name}.throughput`, bps.toFixed(0), 'B/s');
      out(`${name}.msgs`, (r.msgs / r.seconds).toFixed(0), 'msg/s');
      if (root) out(`${name}.cpu_per_gb`, ((c1 - c0) / (r.bytes / 1e9)).toFixed(3), 's');
    }
    const l = await page.evaluate(() => bench.rtt(5000));
    process.stdout.write(`# Chromium 1 KiB round trip: p50 ${(l.p50 * 1e6).toFixed(0)} us, ` +
      `p99 ${(l.p99 * 1e6).toFixed(0)} us (timer ${l.isolated ? '5 us' : '100 us'})\n`);
    out('1k.rtt.p50', l.p50.toFixed(6), 's');
    out('1k.rtt.p99', l.p99.toFixed(6), 's');
  } finally {
    await ctx.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
    server.close();
  }
}

main().catch((e) => {
  process.stderr.write(String(e.stack || e) + '\n');
  process.exit(1);
});
