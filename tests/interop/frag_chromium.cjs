#!/usr/bin/env node
// frag_chromium.cjs URL [--big-unordered] [--in-order] [--concurrent]
//                      [--timeout S] [--idle S] [--resends N] [--retry-after S]
//                      [--only LABEL,...]
//
// Headless Chromium (an independent WebRTC stack: its own ICE, DTLS, SCTP)
// speaking the DataChannel fragment protocol of SPEC §1.3 with
// `actr-lane serve` over /signal (SPEC §5).  URL is ws://HOST:PORT/signal.
//
// This script serves one page on http://127.0.0.1:<ephemeral>/ and drives
// /usr/bin/chromium with playwright-core (a fresh, empty user data directory
// each run).  The page itself connects to URL, makes the offer (trickle ICE:
// candidates follow as {"type":"candidate",...}), and opens the four
// DataChannel lanes (label = PayloadType name; STREAM_LATENCY_FIRST unordered
// with maxRetransmits 3).  On every channel it sends lane messages of several
// sizes (0 B .. 4 MiB; the unordered channel up to 200 KiB unless
// --big-unordered), each with its own pseudo-random pattern, fragmented by the
// page's code per §1.3 with a per-channel msg_id counter from 0, all of a
// channel's messages in flight at once, respecting bufferedAmount (waits for
// bufferedamountlow above 1 MiB).  On the unordered channel the fragments of
// all its messages go out in a fixed shuffled order (unless --in-order), so
// the server's reassembly sees them out of order.  The server echoes each
// message re-fragmented with its own msg_id counter; the page checks every
// echo fragment header (index < total, total constant per msg_id, no
// duplicate, every non-last fragment exactly 65527 payload bytes),
// reassembles by msg_id in index order (echo fragments do arrive out of order
// on the unordered channel) and checks every byte; ordered channels must echo
// in order with msg_ids 0, 1, ...
//
// Two phases: STREAM_LATENCY_FIRST alone, then the three reliable channels
// together (--concurrent: all four at once).  A partially reliable channel
// may lose a message when the path drops packets (SCTP abandons it after 3
// retransmissions; Chromium's UDP socket does overflow on loopback): there, a
// message whose echo is overdue is sent again (new msg_id), at most twice,
// and the summary counts it.  After a failure each unfinished channel gets a
// small probe message, to tell a lost message from a channel that stopped
// echoing.
//
// Prints a summary; exit 0 only if every echo matched.
// CHROMIUM_VERBOSE=1 adds Chromium's own log (--enable-logging=stderr --v=1).
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

// As in chromium_peer.cjs: loopback candidates need the getUserMedia call
// below plus these flags.
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

// ---- the page's code (runs in Chromium; no access to this file's scope) ----
function pageCode() {
  const MAX_PAYLOAD = 65527; // 65535-byte DataChannel message minus the 8-byte header
  const HIGH_WATER = 1 << 20;
  const LOW_WATER = 256 << 10;
  const SIZES = [0, 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2 * MAX_PAYLOAD, 200 * 1024, 4 << 20];
  const UNORDERED_MAX = 200 * 1024;
  const CHANNELS = [ // label, ordered, maxRetransmits (SPEC §1.1)
    ['RPC_RELIABLE', true, null], ['RPC_SIGNAL', true, null],
    ['STREAM_RELIABLE', true, null], ['STREAM_LATENCY_FIRST', false, 3],
  ];
  const log = (s) => console.log('frag_chromium page: ' + s);

  // xorshift32: the byte pattern of a message and the shuffle order.
  const rng = (seed) => {
    let x = (seed * 2654435761) >>> 0 || 1;
    return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  };
  const pattern = (n, seed) => {
    const next = rng(seed), b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = next() >>> 24;
    return b;
  };
  const shuffle = (a, seed) => {
    const next = rng(seed);
    for (let i = a.length - 1; i > 0; i--) {
      const j = next() % (i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  };

  // SPEC §1.3: [msg_id u32 BE][frag_index u16 BE][total_frags u16 BE][payload]
  const fragment = (msgId, data) => {
    const n = data.length;
    const total = n <= MAX_PAYLOAD ? 1 : Math.ceil(n / MAX_PAYLOAD);
    if (total > 65535) throw new Error('message too large');
    const out = [];
    for (let i = 0; i < total; i++) {
      const part = data.subarray(i * MAX_PAYLOAD, Math.min(n, (i + 1) * MAX_PAYLOAD));
      const buf = new ArrayBuffer(8 + part.length);
      const dv = new DataView(buf);
      dv.setUint32(0, msgId >>> 0);
      dv.setUint16(4, i);
      dv.setUint16(6, total);
      new Uint8Array(buf, 8).set(part);
      out.push(buf);
    }
    return out;
  };

  class ProtocolError extends Error {}
  // Collects fragments per msg_id; returns [msgId, Uint8Array] when complete.
  class Reassembler {
    constructor() { this.partial = new Map(); this.fragments = 0; this.outOfOrder = 0; this.last = 0; }
    feed(frag) {
      if (!(frag instanceof ArrayBuffer))
        throw new ProtocolError(`text DataChannel message (${frag.length} chars)`);
      if (frag.byteLength < 8) throw new ProtocolError(`fragment too short (${frag.byteLength} bytes)`);
      this.fragments++;
      this.last = performance.now();
      const dv = new DataView(frag);
      const msgId = dv.getUint32(0), index = dv.getUint16(4), total = dv.getUint16(6);
      const payload = new Uint8Array(frag, 8);
      if (total === 0 || index >= total)
        throw new ProtocolError(`msg ${msgId}: bad header index ${index} total ${total}`);
      if (payload.length > MAX_PAYLOAD)
        throw new ProtocolError(`msg ${msgId}: fragment ${index} carries ${payload.length} bytes`);
      if (total === 1) {
        if (this.partial.has(msgId)) throw new ProtocolError(`msg ${msgId}: single fragment while partial`);
        return [msgId, payload];
      }
      if (index < total - 1 && payload.length !== MAX_PAYLOAD)
        throw new ProtocolError(`msg ${msgId}: non-last fragment ${index}/${total} carries ` +
                                `${payload.length} bytes, not ${MAX_PAYLOAD}`);
      if (index === total - 1 && payload.length === 0)
        throw new ProtocolError(`msg ${msgId}: empty last fragment ${index}/${total}`);
      let e = this.partial.get(msgId);
      if (!e) {
        e = { total, parts: new Array(total), count: 0, bytes: 0, maxIndex: -1 };
        this.partial.set(msgId, e);
      }
      if (e.total !== total) throw new ProtocolError(`msg ${msgId}: total_frags ${total} after ${e.total}`);
      if (e.parts[index]) throw new ProtocolError(`msg ${msgId}: duplicate fragment ${index}`);
      if (index < e.maxIndex) this.outOfOrder++;
      e.maxIndex = Math.max(e.maxIndex, index);
      e.parts[index] = payload;
      e.count++;
      e.bytes += payload.length;
      if (e.count < total) return null;
      this.partial.delete(msgId);
      const out = new Uint8Array(e.bytes);
      let at = 0;
      for (const p of e.parts) { out.set(p, at); at += p.length; }
      return [msgId, out];
    }
  }

  const equal = (a, b) => {
    if (a.length !== b.length) return -2;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
    return -1;
  };

  // Our fragmenter and reassembler against each other first: fragments of
  // several messages interleaved in random order, §1.3's limits, the errors.
  const selfTest = () => {
    const sizes = [0, 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 3 * MAX_PAYLOAD, 300000];
    const msgs = sizes.map((n, i) => pattern(n, 77 + i));
    const counts = msgs.map((m) => fragment(0, m).length);
    if (counts.join() !== '1,1,1,2,3,5') throw new Error('self-test: fragment counts ' + counts);
    const frags = shuffle(msgs.flatMap((m, i) => fragment(i, m)), 9);
    if (frags.some((f) => f.byteLength > 65535)) throw new Error('self-test: fragment > 65535');
    const r = new Reassembler(), got = new Map();
    for (const f of frags) { const x = r.feed(f); if (x) got.set(x[0], x[1]); }
    if (got.size !== msgs.length || r.partial.size || !r.outOfOrder ||
        msgs.some((m, i) => equal(got.get(i), m) !== -1))
      throw new Error('self-test: reassembly');
    const h = new Uint8Array(fragment(0xffffffff, new Uint8Array(1))[0], 0, 8);
    if (Array.from(h).join() !== '255,255,255,255,0,0,0,1') throw new Error('self-test: header ' + h);
    const hdr = (id, i, t, extra) => {
      const b = new ArrayBuffer(8 + extra), dv = new DataView(b);
      dv.setUint32(0, id); dv.setUint16(4, i); dv.setUint16(6, t);
      return b;
    };
    for (const bad of [new ArrayBuffer(7), hdr(1, 0, 2, 1), hdr(1, 2, 2, 1), hdr(1, 0, 0, 0), 'x']) {
      let threw = false;
      try { new Reassembler().feed(bad); } catch (e) { threw = e instanceof ProtocolError; }
      if (!threw) throw new Error('self-test: reassembler accepted a bad fragment');
    }
  };

  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

  // One DataChannel lane: its messages, our sender, the echo checks.
  class Lane {
    constructor(k, label, ordered, maxRetransmits, sizes, pc, shuffled) {
      this.label = label;
      this.ordered = ordered;
      this.partial = maxRetransmits !== null; // partially reliable: may lose messages
      this.shuffled = shuffled && !ordered;
      const init = { ordered };
      if (maxRetransmits !== null) init.maxRetransmits = maxRetransmits;
      this.ch = pc.createDataChannel(label, init);
      this.ch.binaryType = 'arraybuffer';
      this.ch.bufferedAmountLowThreshold = LOW_WATER;
      this.sent = sizes.map((n, i) => pattern(n, 1000 * k + i + 1));
      this.byLen = new Map(this.sent.map((m, i) => [m.length, i]));
      this.matched = new Set();
      this.echoIds = new Set();
      this.rx = new Reassembler();
      this.nextId = 0;   // our msg_id counter (SPEC §1.3)
      this.fragsOut = 0;
      this.rounds = 0;   // sends of the messages still missing (1 + resends)
      this.resent = 0;   // messages sent again (partially reliable channel only)
      this.late = 0;     // echoes of a message already matched (after a resend)
      this.sender = null;
      this.senderDone = true;
      this.error = null;
      this.closing = false;
      this.probe = null;
      this.t0 = this.t1 = null;
      this.activity = 0; // last fragment sent or received (performance.now())
      this.opened = new Promise((ok) => { this.ch.onopen = ok; });
      this.isDone = false;
      this.ch.onmessage = (e) => this.onMessage(e.data);
      this.ch.onclose = () => { if (!this.closing && !this.isDone) this.fail('channel closed by the peer'); };
      this.ch.onerror = (e) => { if (!this.closing) log(`${label}: channel error ${e.error && e.error.message}`); };
    }
    end() { this.isDone = true; }
    complete() { return this.error === null && this.matched.size === this.sent.length; }
    fail(why) {
      if (this.error === null) { this.error = why; log(`${this.label}: FAIL ${why}`); }
      this.end();
    }
    onMessage(frag) {
      if (this.error !== null) return;
      let got;
      try {
        got = this.rx.feed(frag);
      } catch (e) {
        this.fail(e.message);
        return;
      }
      this.activity = performance.now();
      if (!got) return;
      const [msgId, data] = got;
      if (this.probe && data.length === this.probe.data.length) {
        this.probe.ok = equal(data, this.probe.data) === -1;
        this.probe.arrived();
        return;
      }
      const k = this.matched.size; // how many echoes matched before this one
      const i = this.byLen.get(data.length);
      if (this.echoIds.has(msgId)) return this.fail(`echo msg_id ${msgId} completed twice`);
      this.echoIds.add(msgId);
      if (msgId >= this.nextId)
        return this.fail(`echo msg_id ${msgId}, but we sent ${this.nextId} messages`);
      if (i === undefined)
        return this.fail(`echo msg_id ${msgId}: ${data.length} bytes matches no sent message`);
      const bad = equal(data, this.sent[i]);
      if (bad !== -1)
        return this.fail(`echo of message #${i} (${data.length} bytes): first wrong byte at ${bad} ` +
                         `(fragment ${Math.floor(bad / MAX_PAYLOAD)})`);
      if (this.matched.has(i)) {
        if (!this.resent) return this.fail(`echo msg_id ${msgId}: message #${i} echoed twice`);
        this.late++; // the first send arrived after all
        return;
      }
      if (this.ordered && (i !== k || msgId !== k))
        return this.fail(`ordered channel: echo #${k} has msg_id ${msgId} and is message #${i} ` +
                         `(${data.length} bytes)`);
      this.matched.add(i);
      log(`${this.label}: echo msg_id ${msgId} of ${data.length} bytes ok`);
      if (this.matched.size === this.sent.length) {
        this.t1 = performance.now();
        this.end();
      }
    }
    // Send every message not matched yet.
    start() {
      const missing = this.sent.map((m, i) => i).filter((i) => !this.matched.has(i));
      if (this.rounds) {
        this.resent += missing.length;
        log(`${this.label}: sending again the messages of [${missing.map((i) => this.sent[i].length)}] ` +
            'bytes (partially reliable: lost on the way)');
      }
      this.rounds++;
      this.t0 = this.t0 ?? performance.now();
      this.senderDone = false;
      this.sender = this.send(missing)
        .catch((e) => this.fail(`send: ${e}`))
        .finally(() => { this.senderDone = true; });
    }
    // Flow control: above HIGH_WATER, wait for bufferedamountlow (or the end).
    async drain() {
      while (this.ch.bufferedAmount > HIGH_WATER && !this.isDone && this.ch.readyState === 'open')
        await new Promise((ok) => {
          const t = setTimeout(ok, 1000); // re-check now and then
          this.ch.addEventListener('bufferedamountlow', () => { clearTimeout(t); ok(); }, { once: true });
        });
    }
    // Fragments per §1.3, one msg_id per message; in msg_id and index order,
    // or on the unordered channel (shuffled) in a fixed pseudo-random order,
    // messages interleaved, so the server's reassembly sees them out of
    // order whatever SCTP does.
    async send(indices) {
      const frags = indices.flatMap((i) => fragment(this.nextId++, this.sent[i]));
      if (this.shuffled) shuffle(frags, 4242 + this.rounds);
      for (const f of frags) {
        await this.drain();
        if (this.isDone) return;
        this.ch.send(f);
        this.fragsOut++;
        this.activity = performance.now();
      }
    }
    // After a failure: is this channel still echoing?  One more message
    // (msg_id = the next of our counter) of a size not used otherwise.
    async probeEcho(seconds) {
      const data = pattern(999, 99999);
      this.probe = { data, ok: false };
      const back = new Promise((ok) => { this.probe.arrived = ok; });
      if (this.ch.readyState !== 'open') return `channel ${this.ch.readyState}`;
      for (const f of fragment(this.nextId++, data)) this.ch.send(f);
      const res = await Promise.race([back.then(() => true), sleep(seconds * 1000).then(() => false)]);
      return res ? (this.probe.ok ? 'probe of 999 bytes echoed' : 'probe echo corrupted')
        : `no echo of a 999-byte probe within ${seconds} s`;
    }
    summary() {
      const bytes = this.sent.reduce((a, m) => a + m.length, 0);
      const secs = ((this.t1 ?? performance.now()) - (this.t0 ?? performance.now())) / 1000;
      const missing = this.sent.filter((m, i) => !this.matched.has(i)).map((m) => m.length);
      const extra = [];
      if (this.shuffled) extra.push('fragments sent shuffled');
      if (this.partial) extra.push(`resent ${this.resent}` + (this.late ? ` (${this.late} first echoes came late)` : ''));
      if (missing.length) extra.push(`no echo of the messages of [${missing}] bytes`);
      return `${this.complete() ? 'ok' : 'FAIL'} ${this.label} ordered=${this.ordered ? 1 : 0} messages ` +
        `${this.matched.size}/${this.sent.length} bytes ${bytes} each way, fragments out ` +
        `${this.fragsOut} in ${this.rx.fragments} (out of order ${this.rx.outOfOrder}), ` +
        `${secs.toFixed(2)} s` + extra.map((e) => ', ' + e).join('') +
        (this.error ? `: ${this.error}` : '');
    }
  }

  // One phase: every lane sends all its messages at once; until every echo
  // is back.  A partially reliable lane whose missing echoes are overdue
  // (retryAfter seconds of silence once its sender is done) sends them
  // again, at most p.resends times.  A reason if it failed.
  const exchange = async (lanes, p, sigState) => {
    lanes.forEach((l) => l.start());
    const start = performance.now();
    let why = null;
    while (!lanes.every((l) => l.isDone)) {
      await sleep(50);
      const now = performance.now();
      if (sigState.ended) why = sigState.ended;
      else if (now - start > p.timeout * 1000) why = `not every echo back within ${p.timeout} s`;
      else if (now - Math.max(start, ...lanes.map((l) => l.activity)) > p.idle * 1000)
        why = `no DataChannel message for ${p.idle} s, echoes missing`;
      if (why) break;
      for (const l of lanes)
        if (l.partial && !l.isDone && l.senderDone && l.rounds <= p.resends &&
            now - Math.max(start, l.activity) > p.retryAfter * 1000)
          l.start();
    }
    const unfinished = lanes.filter((l) => !l.isDone);
    lanes.forEach((l) => l.end());
    await Promise.all(lanes.map((l) => l.sender));
    return { why, unfinished };
  };

  return async function run(p) {
    const lines = [], failed = [];
    let ports = null; // of the selected ICE candidate pair
    selfTest();
    log('reassembly self-test ok');
    // One getUserMedia call: with it (and the flags), Chromium gathers host
    // candidates on every interface, loopback included.
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    stream.getTracks().forEach((t) => t.stop());
    const tStart = performance.now();
    const ws = new WebSocket(p.url);
    await new Promise((ok, ko) => {
      ws.onopen = ok;
      ws.onerror = () => ko(new Error('cannot open ' + p.url));
    });
    const send = (o) => ws.send(JSON.stringify(o));
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate)
        send({ type: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
               sdpMLineIndex: e.candidate.sdpMLineIndex });
      else if (!e.candidate)
        send({ type: 'candidate', candidate: '' });
    };
    pc.onconnectionstatechange = () => log('connection ' + pc.connectionState);
    const lanes = CHANNELS.map(([label, ordered, rexmit], k) => [k, label, ordered, rexmit])
      .filter(([, label]) => !p.only || p.only.split(',').includes(label))
      .map(([k, label, ordered, rexmit]) => new Lane(k, label, ordered, rexmit,
        SIZES.filter((n) => ordered || p.bigUnordered || n <= UNORDERED_MAX), pc, !p.inOrder));
    // Signaling: one message at a time; candidates wait for the answer.
    const sig = { ended: null };
    let haveAnswer = false, chain = Promise.resolve();
    const early = [];
    const addCandidate = (m) => pc.addIceCandidate({ candidate: m.candidate,
      sdpMid: m.sdpMid ?? '0', sdpMLineIndex: m.sdpMLineIndex ?? 0 });
    const handle = async (m) => {
      if (m.type === 'answer') {
        await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        haveAnswer = true;
        for (const c of early.splice(0)) await addCandidate(c);
      } else if (m.type === 'candidate') {
        if (!m.candidate) return; // end of candidates
        if (haveAnswer) await addCandidate(m); else early.push(m);
      } else if (m.type === 'error') {
        sig.ended = sig.ended || `server signaling error: ${m.message}`;
      } else {
        sig.ended = sig.ended || `unexpected signaling message ${JSON.stringify(m).slice(0, 200)}`;
      }
    };
    ws.onmessage = (ev) => {
      chain = chain.then(() => handle(JSON.parse(ev.data)))
        .catch((e) => { sig.ended = sig.ended || 'signaling: ' + e; });
    };
    ws.onclose = () => { sig.ended = sig.ended || 'signaling WebSocket closed by the server'; };
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: 'offer', sdp: pc.localDescription.sdp });

    const until = async (cond, seconds) => {
      const end = performance.now() + seconds * 1000;
      while (!cond() && !sig.ended && performance.now() < end) await sleep(50);
      return cond();
    };
    const opened = new Set();
    lanes.forEach((l) => l.opened.then(() => opened.add(l)));
    if (!(await until(() => opened.size === lanes.length, 30))) {
      failed.push(sig.ended || 'channels not open after 30 s: ' +
        lanes.map((l) => `${l.label}=${l.ch.readyState}`).join(', '));
    } else {
      const tOpen = performance.now();
      log(`connected and ${lanes.length} channels open in ${((tOpen - tStart) / 1000).toFixed(2)} s`);
      // The partially reliable lane alone first, then the reliable ones
      // together (--concurrent: all four at once).  Under bulk load a
      // maxRetransmits 3 channel may lose messages by design.
      const phases = p.concurrent ? [lanes]
        : [lanes.filter((l) => l.partial), lanes.filter((l) => !l.partial)].filter((x) => x.length);
      for (const phase of phases) {
        const name = phase.map((l) => l.label).join(' + ');
        const t = performance.now();
        const { why, unfinished } = await exchange(phase, p, sig);
        lines.push(`phase ${name}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
        if (why) failed.push(`${name}: ${why}`);
        for (const l of unfinished)
          if (l.error === null && l.ch.readyState === 'open')
            lines.push(`${l.label}: after the failure: ${await l.probeEcho(5)}`);
        if (sig.ended) break;
      }
      lines.push(`exchange took ${((performance.now() - tOpen) / 1000).toFixed(2)} s`);
      const st = await pc.getStats();
      st.forEach((r) => {
        if (r.type === 'transport') {
          lines.push(`transport: ${r.bytesSent} bytes sent, ${r.bytesReceived} received, ` +
                     `${r.packetsSent} packets sent, ${r.packetsReceived} received`);
          const pair = st.get(r.selectedCandidatePairId);
          const local = pair && st.get(pair.localCandidateId);
          const remote = pair && st.get(pair.remoteCandidateId);
          if (local && remote) ports = { chromium: local.port, serve: remote.port };
        }
      });
    }
    for (const l of lanes) l.closing = true;
    pc.close();
    ws.close();
    for (const l of lanes) lines.push(l.summary());
    for (const f of failed) lines.push('FAIL ' + f);
    const ok = !failed.length && lanes.every((l) => l.complete());
    lines.push(ok ? 'PASS every echo matched' : 'FAILED');
    return { ok, lines, ports };
  };
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>libactr fragment interop</title></head>
<body><script>window.fragRun = (${pageCode.toString()})();</script></body></html>`;

// Datagrams the kernel dropped per UDP port of this network namespace (the
// sockets close with the peer connection: main() samples this while it runs).
function udpDrops() {
  const out = new Map();
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let rows;
    try { rows = fs.readFileSync(f, 'utf8').trim().split('\n').slice(1); } catch { continue; }
    for (const r of rows) {
      const c = r.trim().split(/\s+/);
      out.set(parseInt(c[1].split(':').pop(), 16), Number(c[c.length - 1]));
    }
  }
  return out;
}

function parseArgs(argv) {
  const p = { url: null, only: null, bigUnordered: false, inOrder: false, concurrent: false,
              timeout: 200, idle: 30, resends: 2, retryAfter: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--big-unordered') p.bigUnordered = true;
    else if (a === '--in-order') p.inOrder = true;
    else if (a === '--concurrent') p.concurrent = true;
    else if (a === '--timeout' || a === '--idle' || a === '--resends') p[a.slice(2)] = Number(argv[++i]);
    else if (a === '--retry-after') p.retryAfter = Number(argv[++i]);
    else if (a === '--only') p.only = argv[++i];
    else if (!p.url && /^wss?:\/\//.test(a)) p.url = a;
    else return null;
  }
  return p.url && p.timeout > 0 && p.idle > 0 ? p : null;
}

async function main() {
  const p = parseArgs(process.argv.slice(2));
  if (!p) {
    process.stderr.write('usage: frag_chromium.cjs ws://HOST:PORT/signal [--big-unordered] [--in-order] ' +
                         '[--concurrent] [--timeout S] [--idle S] [--resends N] [--retry-after S] ' +
                         '[--only LABEL,...]\n');
    process.exit(2);
  }
  const say = (s) => process.stdout.write('frag_chromium: ' + s + '\n');
  const server = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else {
      res.writeHead(req.url === '/favicon.ico' ? 204 : 404);
      res.end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'actr-frag-chromium-'));
  let ctx = null;
  let closing = false;
  const shutdown = async (code) => {
    if (closing) return;
    closing = true;
    if (ctx) await ctx.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
    server.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => { say('FAIL terminated'); shutdown(1); });
  process.on('SIGINT', () => { say('FAIL interrupted'); shutdown(1); });
  // Backstop: the page bounds itself (timeout + idle); this bounds the rest.
  setTimeout(() => { say('FAIL no result in time'); shutdown(1); }, (p.timeout + 60) * 1000).unref();

  try {
    const t0 = Date.now();
    const args = FLAGS.slice();
    if (process.env.CHROMIUM_VERBOSE) args.push('--enable-logging=stderr', '--v=1');
    ctx = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium', headless: true, args,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => process.stderr.write(m.text() + '\n'));
    page.on('pageerror', (e) => process.stderr.write('frag_chromium page error: ' + e.message + '\n'));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    say(`Chromium ${ctx.browser() ? ctx.browser().version() : ''} up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const drops = new Map();
    const sample = setInterval(() => {
      for (const [port, n] of udpDrops()) drops.set(port, Math.max(n, drops.get(port) || 0));
    }, 250);
    let result;
    try {
      result = await page.evaluate((q) => window.fragRun(q), p);
    } catch (e) {
      result = { ok: false, lines: ['FAIL page: ' + String(e.message || e).split('\n')[0]] };
    }
    clearInterval(sample);
    const who = (port) => {
      const r = result.ports || {};
      return port === r.chromium ? ' (chromium)' : port === r.serve ? ' (actr-lane serve)' : '';
    };
    say('UDP datagrams dropped by the kernel (sampled every 250 ms): ' +
        ([...drops].map(([port, n]) => `port ${port}${who(port)} ${n}`).join(', ') || 'no UDP socket seen'));
    for (const l of result.lines) say(l);
    await shutdown(result.ok ? 0 : 1);
  } catch (e) {
    say('FAIL ' + String(e.stack || e));
    await shutdown(1);
  }
}

main().catch((e) => {
  process.stdout.write('frag_chromium: FAIL ' + String(e.stack || e) + '\n');
  process.exit(1);
});
