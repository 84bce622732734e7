#!/usr/bin/python3
"""frag_aiortc.py URL — aiortc (an independent WebRTC stack) speaking the
DataChannel fragment protocol of SPEC §1.3 with `actr-lane serve` (SPEC §5).

URL is ws://HOST:PORT/signal.  The script makes the offer (non-trickle: the
full SDP with aiortc's candidates), feeds the server's answer and candidates
to aiortc, and opens the four DataChannel lanes (label = PayloadType name;
STREAM_LATENCY_FIRST unordered with maxRetransmits 3).  On every channel it
sends lane messages of several sizes (0 B .. 4 MiB; the unordered channel up
to 200 KiB unless --big-unordered) with a per-message pseudo-random pattern,
fragmented here per §1.3 with a per-channel msg_id counter from 0, all of a
channel's messages in flight at once.  On the unordered channel the fragments
of all its messages go out in a fixed shuffled order, so that the server's
reassembly sees them out of order.  The server reassembles each message and
echoes it re-fragmented with its own msg_id counter; this script checks every
echo fragment header (index < total, total constant per msg_id, no
duplicate, every non-last fragment exactly 65527 payload bytes), reassembles
by msg_id in index order (fragments may arrive out of order on the unordered
channel), and checks every byte.  Ordered channels must echo in order with
msg_ids 0, 1, ...

Two phases: STREAM_LATENCY_FIRST alone, then the three reliable channels
together (--concurrent: all four at once).  A partially reliable channel may
lose a message when the path drops packets (SCTP abandons it after 3
retransmissions): there, a message whose echo is overdue is sent again (new
msg_id), at most twice, and the summary counts it.

Prints a summary; exit 0 only if every echo matched.  The fragment code is
ours; the WebRTC stack (aiortc, aioice, its SCTP) is not.  Run it with
/usr/bin/python3 (Debian's python3-aiortc and python3-websockets).
AIORTC_DEBUG=1 turns aiortc's logging on (stderr).
"""
import argparse
import asyncio
import json
import logging
import os
import random
import socket
import struct
import sys
import time

import aioice.ice

# Gather on loopback only and ask no STUN server (the test runs in a network
# namespace that holds only lo).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

import websockets  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.sdp import candidate_from_sdp  # noqa: E402

HDR = struct.Struct(">IHH")  # msg_id u32 BE, frag_index u16 BE, total_frags u16 BE
MAX_PAYLOAD = 65527          # 65535-byte DataChannel message minus the 8-byte header
# max-message-size: aiortc 1.4 advertises 65536 and never checks the peer's
# (serve advertises 262144) before sending; it reassembles any size it gets.
# Our fragments are at most 65535 bytes, within both limits.
SIZES = [0, 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2 * MAX_PAYLOAD, 200 * 1024, 4 << 20]
UNORDERED_MAX = 200 * 1024
# label, ordered, maxRetransmits (SPEC §1.1)
CHANNELS = [("RPC_RELIABLE", True, None), ("RPC_SIGNAL", True, None),
            ("STREAM_RELIABLE", True, None), ("STREAM_LATENCY_FIRST", False, 3)]
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
HIGH_WATER = 1 << 20
LOW_WATER = 256 << 10


def log(*a):
    print("frag_aiortc:", *a, file=sys.stderr, flush=True)


def fragment(msg_id, data):
    """SPEC §1.3: one DataChannel message per fragment."""
    n = len(data)
    if n <= MAX_PAYLOAD:
        return [HDR.pack(msg_id, 0, 1) + data]
    total = -(-n // MAX_PAYLOAD)
    if total > 65535:
        raise ValueError("message too large")
    return [HDR.pack(msg_id, i, total) + data[i * MAX_PAYLOAD:(i + 1) * MAX_PAYLOAD]
            for i in range(total)]


class ProtocolError(Exception):
    pass


class Reassembler:
    """Collects fragments per msg_id; returns (msg_id, payload) when complete."""

    def __init__(self):
        self.partial = {}       # msg_id -> [total, {index: payload}, last index seen]
        self.fragments = 0
        self.last = 0.0         # time.monotonic() of the last fragment
        self.out_of_order = 0   # fragments whose index is below one seen before

    def feed(self, frag):
        if not isinstance(frag, bytes):
            raise ProtocolError(f"text DataChannel message ({len(frag)} chars)")
        if len(frag) < HDR.size:
            raise ProtocolError(f"fragment too short ({len(frag)} bytes)")
        self.fragments += 1
        self.last = time.monotonic()
        msg_id, index, total = HDR.unpack_from(frag)
        payload = frag[HDR.size:]
        if total == 0 or index >= total:
            raise ProtocolError(f"msg {msg_id}: bad header index {index} total {total}")
        if len(payload) > MAX_PAYLOAD:
            raise ProtocolError(f"msg {msg_id}: fragment {index} carries {len(payload)} bytes")
        if total == 1:
            if msg_id in self.partial:
                raise ProtocolError(f"msg {msg_id}: single fragment while partial")
            return msg_id, payload
        if index < total - 1 and len(payload) != MAX_PAYLOAD:
            raise ProtocolError(f"msg {msg_id}: non-last fragment {index}/{total} carries "
                                f"{len(payload)} bytes, not {MAX_PAYLOAD}")
        if index == total - 1 and len(payload) == 0:
            raise ProtocolError(f"msg {msg_id}: empty last fragment {index}/{total}")
        entry = self.partial.setdefault(msg_id, [total, {}, -1])
        if entry[0] != total:
            raise ProtocolError(f"msg {msg_id}: total_frags {total} after {entry[0]}")
        if index in entry[1]:
            raise ProtocolError(f"msg {msg_id}: duplicate fragment {index}")
        if index < entry[2]:
            self.out_of_order += 1
        entry[2] = max(entry[2], index)
        entry[1][index] = payload
        if len(entry[1]) < total:
            return None
        del self.partial[msg_id]
        return msg_id, b"".join(entry[1][i] for i in range(total))


def self_test():
    """Our fragmenter and reassembler against each other before the run:
    fragments of several messages interleaved in random order, the limits of
    §1.3, and the errors the receiver must raise."""
    rng = random.Random(7)
    msgs = {i: rng.randbytes(n) for i, n in
            enumerate([0, 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 3 * MAX_PAYLOAD, 300_000])}
    frags = [f for i, m in msgs.items() for f in fragment(i, m)]
    assert [len(fragment(0, m)) for m in msgs.values()] == [1, 1, 1, 2, 3, 5]
    assert all(len(f) <= 65535 for f in frags)
    rng.shuffle(frags)
    r, out = Reassembler(), {}
    for f in frags:
        got = r.feed(f)
        if got:
            out[got[0]] = got[1]
    assert out == msgs and not r.partial and r.out_of_order > 0, "reassembly self-test"
    assert fragment(0xFFFFFFFF, b"x")[0][:8] == bytes.fromhex("ffffffff00000001")
    for bad in (b"1234567", HDR.pack(1, 0, 2) + b"x", HDR.pack(1, 2, 2) + b"x",
                HDR.pack(1, 0, 0)):
        try:
            Reassembler().feed(bad)
        except ProtocolError:
            continue
        raise AssertionError(f"reassembler accepted {bad!r}")


class Lane:
    """One DataChannel lane: its messages, our sender, the echo checks."""

    def __init__(self, k, label, ordered, max_rexmit, sizes, pc, shuffle):
        self.label, self.ordered = label, ordered
        self.partial = max_rexmit is not None  # partially reliable: may lose messages
        self.shuffle = shuffle and not ordered
        self.closing = False
        self.ch = pc.createDataChannel(label, ordered=ordered, maxRetransmits=max_rexmit)
        self.ch.bufferedAmountLowThreshold = LOW_WATER
        self.sent = [random.Random(1000 * k + i + 1).randbytes(n) for i, n in enumerate(sizes)]
        self.by_len = {len(m): i for i, m in enumerate(self.sent)}
        assert len(self.by_len) == len(self.sent), "sizes must be distinct per channel"
        self.matched = set()
        self.echo_ids = set()
        self.rx = Reassembler()
        self.next_id = 0        # our msg_id counter (SPEC §1.3)
        self.frags_out = 0
        self.rounds = 0         # sends of the messages still missing (1 + resends)
        self.resent = 0         # messages sent again (partially reliable channel only)
        self.late = 0           # echoes of a message already matched (after a resend)
        self.sender = None
        self.error = None
        self.opened = asyncio.Event()
        self.low = asyncio.Event()
        self.done = asyncio.Event()
        self.t0 = self.t1 = None
        self.activity = 0.0     # last fragment sent or received
        self.ch.on("open", self.opened.set)
        self.ch.on("bufferedamountlow", self.low.set)
        self.ch.on("message", self.on_message)
        self.ch.on("close", self.on_close)

    def on_close(self):
        if not self.closing and not self.done.is_set():
            self.fail("channel closed by the peer")

    def fail(self, why):
        if self.error is None:
            self.error = why
            log(f"{self.label}: FAIL {why}")
        self.done.set()

    def complete(self):
        return self.error is None and len(self.matched) == len(self.sent)

    def on_message(self, frag):
        if self.error is not None:
            return
        try:
            got = self.rx.feed(frag)
        except ProtocolError as e:
            self.fail(str(e))
            return
        self.activity = time.monotonic()
        if got is None:
            return
        msg_id, data = got
        k = len(self.matched)  # how many echoes matched before this one
        i = self.by_len.get(len(data))
        if msg_id in self.echo_ids:
            return self.fail(f"echo msg_id {msg_id} completed twice")
        self.echo_ids.add(msg_id)
        if msg_id >= self.next_id:
            return self.fail(f"echo msg_id {msg_id}, but we sent {self.next_id} messages")
        if i is None:
            return self.fail(f"echo msg_id {msg_id}: {len(data)} bytes matches no sent message")
        if data != self.sent[i]:
            bad = next(j for j in range(len(data)) if data[j] != self.sent[i][j])
            return self.fail(f"echo of message #{i} ({len(data)} bytes): first wrong byte "
                             f"at {bad} (fragment {bad // MAX_PAYLOAD})")
        if i in self.matched:
            if not self.resent:
                return self.fail(f"echo msg_id {msg_id}: message #{i} echoed twice")
            self.late += 1  # the first send arrived after all
            return
        if self.ordered and (i != k or msg_id != k):
            return self.fail(f"ordered channel: echo #{k} has msg_id {msg_id} and is "
                             f"message #{i} ({len(data)} bytes)")
        self.matched.add(i)
        log(f"{self.label}: echo msg_id {msg_id} of {len(data)} bytes ok")
        if len(self.matched) == len(self.sent):
            self.t1 = time.monotonic()
            self.done.set()

    def start(self):
        """Send every message not matched yet (a task)."""
        missing = [i for i in range(len(self.sent)) if i not in self.matched]
        if self.rounds:
            self.resent += len(missing)
            log(f"{self.label}: sending again the messages of {[len(self.sent[i]) for i in missing]}"
                " bytes (partially reliable: lost on the way)")
        self.rounds += 1
        self.t0 = self.t0 or time.monotonic()
        self.sender = asyncio.ensure_future(self.send(missing))

    async def send(self, indices):
        """Fragments per §1.3, one msg_id per message; in msg_id and index
        order, or on the unordered channel (shuffle) in a fixed pseudo-random
        order, messages interleaved, so the server's reassembly sees them out
        of order whatever SCTP does."""
        frags = []
        for i in indices:
            frags += fragment(self.next_id, self.sent[i])
            self.next_id += 1
        if self.shuffle:
            random.Random(4242 + self.rounds).shuffle(frags)
        for f in frags:
            while self.ch.bufferedAmount > HIGH_WATER:  # flow control
                self.low.clear()
                await self.low.wait()
            if self.done.is_set():
                return
            self.ch.send(f)
            self.frags_out += 1
            self.activity = time.monotonic()
            await asyncio.sleep(0)

    async def stop(self):
        if self.sender is not None:
            self.sender.cancel()
            await asyncio.gather(self.sender, return_exceptions=True)

    def summary(self):
        nbytes = sum(len(m) for m in self.sent)
        secs = (self.t1 or time.monotonic()) - (self.t0 or time.monotonic())
        missing = [len(m) for i, m in enumerate(self.sent) if i not in self.matched]
        extra = []
        if self.shuffle:
            extra.append("fragments sent shuffled")
        if self.partial:
            extra.append(f"resent {self.resent}" + (f" ({self.late} first echoes came late)"
                                                    if self.late else ""))
        if missing:
            extra.append(f"no echo of the messages of {missing} bytes")
        return (f"{'ok' if self.complete() else 'FAIL'} {self.label} ordered={int(self.ordered)} "
                f"messages {len(self.matched)}/{len(self.sent)} bytes {nbytes} each way, "
                f"fragments out {self.frags_out} in {self.rx.fragments} "
                f"(out of order {self.rx.out_of_order}), {secs:.2f} s"
                + "".join(f", {e}" for e in extra) + (f": {self.error}" if self.error else ""))


async def exchange(lanes, sig, args):
    """One phase: every lane sends all its messages at once; until every echo
    is back.  A partially reliable lane whose missing echoes are overdue
    (--retry-after seconds of silence once its sender is done) sends them
    again, at most --resends times.  A reason if it failed."""
    for lane in lanes:
        lane.start()
    start = time.monotonic()
    why = None
    while not all(lane.done.is_set() for lane in lanes):
        await asyncio.sleep(0.05)
        now = time.monotonic()
        if sig.done():
            why = "signaling ended during the exchange"
        elif now - start > args.timeout:
            why = f"not every echo back within {args.timeout:g} s"
        elif now - max([start] + [lane.activity for lane in lanes]) > args.idle:
            why = f"no DataChannel message for {args.idle:g} s, echoes missing"
        if why:
            break
        for lane in lanes:
            if (lane.partial and not lane.done.is_set() and lane.sender.done()
                    and lane.rounds <= args.resends
                    and now - max(start, lane.activity) > args.retry_after):
                lane.start()
    for lane in lanes:
        await lane.stop()
    return why


async def signaling(ws, pc, failed):
    async for raw in ws:
        msg = json.loads(raw)
        kind = msg.get("type")
        if kind == "answer":
            await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
        elif kind == "candidate":
            if msg.get("candidate"):
                c = candidate_from_sdp(msg["candidate"].split(":", 1)[1])
                c.sdpMid = msg.get("sdpMid") or "0"
                c.sdpMLineIndex = msg.get("sdpMLineIndex") or 0
                await pc.addIceCandidate(c)
            elif pc.sctp is not None:
                await pc.sctp.transport.transport.addRemoteCandidate(None)
        elif kind == "error":
            failed.append(f"server signaling error: {msg.get('message')}")
            return
        else:
            failed.append(f"unexpected signaling message {raw[:200]}")
            return
    failed.append("signaling WebSocket closed by the server")


def ice_sockets(pc):
    """aiortc's ICE UDP sockets (aioice internals; [] if they moved)."""
    try:
        conn = pc.sctp.transport.transport._connection
        return [p.transport.get_extra_info("socket") for p in conn._protocols if p.transport]
    except AttributeError:
        return []


def grow_rcvbuf(pc, size):
    """aioice keeps the kernel's default UDP receive buffer (about 208 KiB)
    while aiortc's SCTP advertises a 1 MiB receive window: a fast sender
    (actr-lane serve) may then have more in flight than the socket holds,
    and the kernel drops datagrams whenever Python falls behind.  Reliable
    channels recover by retransmission; STREAM_LATENCY_FIRST (maxRetransmits
    3) abandons the data.  A buffer that holds the whole window avoids that
    (SO_RCVBUFFORCE needs CAP_NET_ADMIN, which netns-run gives; else the
    kernel caps SO_RCVBUF at net.core.rmem_max)."""
    got = []
    for sock in ice_sockets(pc):
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        got.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    return got


def udp_drops(pc):
    """Datagrams the kernel dropped per UDP socket of this network namespace."""
    mine = {s.getsockname()[1] for s in ice_sockets(pc)}
    out = []
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            col = row.split()
            port, drops = int(col[1].rsplit(":", 1)[1], 16), int(col[-1])
            out.append(f"port {port}{' (aiortc)' if port in mine else ''} {drops}")
    return ", ".join(out)


async def run(args):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.on("connectionstatechange", lambda: log(f"connection {pc.connectionState}"))
    lanes = []
    for k, (label, ordered, rexmit) in enumerate(CHANNELS):
        sizes = [n for n in SIZES if ordered or args.big_unordered or n <= UNORDERED_MAX]
        lanes.append(Lane(k, label, ordered, rexmit, sizes, pc, not args.in_order))
    # Diagnostic only (aiortc internals): FORWARD-TSN chunks from the server,
    # i.e. data it abandoned on the partially reliable channel.
    fwd_tsn = [0]
    inner = getattr(pc.sctp, "_receive_forward_tsn_chunk", None)
    if inner is not None:
        async def counted(chunk):
            fwd_tsn[0] += 1
            await inner(chunk)
        pc.sctp._receive_forward_tsn_chunk = counted
    failed = []
    t_start = time.monotonic()
    async with websockets.connect(args.url, max_size=1 << 20) as ws:
        await pc.setLocalDescription(await pc.createOffer())  # gathers: the sockets exist
        if args.rcvbuf:
            log(f"UDP receive buffer of aiortc's ICE sockets: {grow_rcvbuf(pc, args.rcvbuf)}")
        await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
        sig = asyncio.ensure_future(signaling(ws, pc, failed))
        try:
            opened = asyncio.ensure_future(asyncio.gather(*(lane.opened.wait() for lane in lanes)))
            await asyncio.wait({opened, sig}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            if not opened.done():
                opened.cancel()
                await asyncio.gather(opened, return_exceptions=True)
                failed.append("channels not open after 30 s: " + ", ".join(
                    f"{lane.label}={lane.ch.readyState}" for lane in lanes))
            else:
                t_open = time.monotonic()
                log(f"connected and 4 channels open in {t_open - t_start:.2f} s")
                # The partially reliable lane alone first, then the reliable
                # ones together (--concurrent: all four at once).  Under bulk
                # load a maxRetransmits 3 channel may lose messages by design.
                unordered = [lane for lane in lanes if lane.partial]
                reliable = [lane for lane in lanes if not lane.partial]
                phases = [lanes] if args.concurrent else [unordered, reliable]
                for phase in phases:
                    t_phase = time.monotonic()
                    why = await exchange(phase, sig, args)
                    print(f"frag_aiortc: phase {' + '.join(lane.label for lane in phase)}: "
                          f"{time.monotonic() - t_phase:.2f} s")
                    if why:
                        failed.append(f"{' + '.join(lane.label for lane in phase)}: {why}")
                print(f"frag_aiortc: exchange took {time.monotonic() - t_open:.2f} s")
                print(f"frag_aiortc: UDP datagrams dropped by the kernel: {udp_drops(pc)}")
        finally:
            sig.cancel()
            for lane in lanes:
                lane.closing = True
            await pc.close()
    for lane in lanes:
        print("frag_aiortc: " + lane.summary())
    print(f"frag_aiortc: FORWARD-TSN chunks received (server abandoned data): {fwd_tsn[0]}")
    ok = not failed and all(lane.complete() for lane in lanes)
    for f in failed:
        print("frag_aiortc: FAIL " + f)
    print("frag_aiortc: " + ("PASS every echo matched" if ok else "FAILED"), flush=True)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=200, help="seconds for the exchange")
    p.add_argument("--idle", type=float, default=30,
                   help="give up after this many seconds without a DataChannel message")
    p.add_argument("--rcvbuf", type=int, default=4 << 20,
                   help="UDP receive buffer for aiortc's sockets (0: the kernel default)")
    p.add_argument("--concurrent", action="store_true",
                   help="all four channels at once (default: the unordered one first, alone)")
    p.add_argument("--resends", type=int, default=2,
                   help="times the unordered channel may send a lost message again")
    p.add_argument("--retry-after", type=float, default=3,
                   help="seconds of silence before the unordered channel resends")
    p.add_argument("--in-order", action="store_true",
                   help="send the unordered channel's fragments in order too")
    p.add_argument("--big-unordered", action="store_true",
                   help="send 4 MiB on STREAM_LATENCY_FIRST too")
    args = p.parse_args()
    if os.environ.get("AIORTC_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    self_test()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
