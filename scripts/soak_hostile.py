#!/usr/bin/python3
"""soak_hostile.py - the hostile client of the soak (scripts/soak.py).

  soak_hostile.py URL SECONDS STATS_JSON

Attacks an `actr-lane serve` at URL (ws://127.0.0.1:PORT) in a loop for
SECONDS, one action after the other, every action bounded in time, then
writes how many of each it did to STATS_JSON.  The actions are the hostile
cases of the issue (tests/interop/hostile.py has their single-shot forms):

  ping-flood      a lane connection flooded with 125-byte pings for 3 s by a
                  peer that never reads, then dropped (RST)
  deep-json       256 KiB of '[' and of '{' as one /signal text frame
  signal-garbage  /signal: 1 MiB of JSON, a binary frame, invalid UTF-8, a
                  JSON that is no signaling message, an answer unasked
  oversize        lane frames announcing 64 MiB + 1 and 2^63 - 1 bytes; a
                  1 MiB DataChannel message (over the 256 KiB
                  max-message-size) and a fragment announcing 65535 of them
  garbage-frames  lane connections sent random bytes, reserved opcodes and
                  bits, unmasked frames, text frames, stray continuations,
                  fragmented or long pings, bad close frames, lane messages
                  that are too short or of an unknown type
  garbage-http    random bytes instead of the upgrade, a 20 KiB head, a wrong
                  version, a head cut in the middle and abandoned
  churn           connections opened and abandoned: 40 TCP connects closed at
                  once, 20 /lane upgrades dropped without a close frame, 16
                  idle /lane connections held 3 s, 8 /signal offers whose
                  WebRTC handshake is abandoned before or after the answer
  dup-label       an aiortc peer opens two channels labelled RPC_RELIABLE and
                  splits one message over them
  stop-reader     a lane connection sends 12 MiB of messages and never reads
                  their echoes for 5 s, then vanishes; an aiortc peer sends
                  2 MiB on a data channel then its whole process stops
                  reading (the event loop blocked) for 5 s, then vanishes

Every error an action meets is expected (serve refusing is the point): it is
counted, never fatal.  What the soak checks is serve: alive, RSS flat, and
the well-behaved clients unharmed.  Run with /usr/bin/python3."""
import asyncio
import base64
import json
import os
import random
import socket
import struct
import sys
import time

import aioice.ice

# Loopback only, no STUN (the soak runs in a namespace holding only lo).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

import websockets  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.sdp import candidate_from_sdp  # noqa: E402

URL = sys.argv[1]
SECONDS = float(sys.argv[2])
STATS = sys.argv[3]
HOST, PORT = URL[len("ws://"):].rsplit(":", 1)
PORT = int(PORT)
FRAG = struct.Struct(">IHH")  # DataChannel fragment header (SPEC 1.3)

stats = {}      # action -> times done
refusals = {}   # action -> errors met (expected)
rng = random.Random(1234)


def count(what, n=1):
    stats[what] = stats.get(what, 0) + n


def refused(what):
    refusals[what] = refusals.get(what, 0) + 1


# ---- raw WebSocket helpers -------------------------------------------------

def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One RFC 6455 frame; `length` overrides the announced payload length."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    body = bytes(c ^ key[i & 3] for i, c in enumerate(payload)) if len(payload) < 4096 \
        else (int.from_bytes(payload, "big") ^ int.from_bytes(
            (key * (len(payload) // 4 + 1))[:len(payload)], "big")).to_bytes(len(payload), "big")
    return head + key + body


def lane_msg(ptype, data):
    return bytes([ptype]) + struct.pack(">I", len(data)) + data


def connect(timeout=5):
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    s.settimeout(timeout)
    return s


def upgrade(path, timeout=5):
    s = connect(timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, HOST, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            s.close()
            raise ConnectionError("closed during the upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        s.close()
        raise ConnectionError("upgrade refused: %r" % head[:40])
    return s


def reset(s):
    """Drop the connection with a RST (no FIN, no close frame)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def drain_until_closed(s, seconds=3):
    """Read (and discard) until the server closes or `seconds` pass."""
    end = time.time() + seconds
    s.settimeout(0.5)
    while time.time() < end:
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


# ---- the actions ------------------------------------------------------------

def ping_flood():
    s = upgrade("/lane")
    batch = frame(0x9, b"p" * 125) * 1000
    end = time.time() + 3
    s.settimeout(2)
    pings = 0
    try:
        while time.time() < end:
            s.sendall(batch)
            pings += 1000
    except (socket.timeout, OSError):
        pass  # serve stopped reading us: pushed back, as it should
    count("pings sent", pings)
    reset(s)


async def deep_json():
    for ch in "[{":
        async with websockets.connect(URL + "/signal", max_size=None, open_timeout=5) as ws:
            await ws.send(ch * (256 * 1024))
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except (websockets.ConnectionClosed, asyncio.TimeoutError):
                pass


async def signal_garbage():
    bad = [
        json.dumps({"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 200000}),  # ~1 MiB
        b"\x00\x01binary signaling",
        None,  # invalid UTF-8 text frame, sent raw below
        json.dumps({"hello": [1, 2, {"x": None}]}),
        json.dumps({"type": "answer", "sdp": "v=0\r\n"}),
        json.dumps({"type": "candidate", "candidate": "candidate:" + "9" * 5000}),
    ]
    for msg in bad:
        if msg is None:
            s = upgrade("/signal")
            s.sendall(frame(0x1, b'{"type":"\xff\xfe"}'))
            drain_until_closed(s, 2)
            s.close()
            continue
        async with websockets.connect(URL + "/signal", max_size=None, open_timeout=5) as ws:
            await ws.send(msg)
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except (websockets.ConnectionClosed, asyncio.TimeoutError):
                pass


def lane_oversize():
    for n in ((64 << 20) + 1, (1 << 63) - 1):
        s = upgrade("/lane")
        s.sendall(frame(0x2, b"\x02\x00\x00", length=n)[:14])  # the header only
        # The header alone announces the size: serve closes (1009) at once.
        if not drain_until_closed(s, 3):
            refused("oversize lane frame not closed in 3 s")
        s.close()


async def rtc_session(label_count=1, label="STREAM_RELIABLE", timeout=20):
    """An aiortc peer connected to serve's /signal; returns (pc, ws, chans, queues, task)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    chans = [pc.createDataChannel(label) for _ in range(label_count)]
    opened = [asyncio.Event() for _ in chans]
    closed = [asyncio.Event() for _ in chans]
    queues = [asyncio.Queue() for _ in chans]
    for i, ch in enumerate(chans):
        ch.on("open", opened[i].set)
        ch.on("close", closed[i].set)
        ch.on("message", queues[i].put_nowait)
    ws = await websockets.connect(URL + "/signal", max_size=1 << 20, open_timeout=5)
    await pc.setLocalDescription(await pc.createOffer())
    await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))

    async def signaling():
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] == "answer":
                    await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
                elif msg["type"] == "candidate" and msg.get("candidate"):
                    c = candidate_from_sdp(msg["candidate"].split(":", 1)[1])
                    c.sdpMid = msg.get("sdpMid") or "0"
                    c.sdpMLineIndex = msg.get("sdpMLineIndex") or 0
                    await pc.addIceCandidate(c)
        except websockets.ConnectionClosed:
            pass
    task = asyncio.ensure_future(signaling())
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), timeout)
    except BaseException:
        task.cancel()
        await pc.close()
        await ws.close()
        raise
    return pc, ws, chans, queues, closed, task


async def rtc_end(pc, ws, task, abrupt=False):
    task.cancel()
    if abrupt:
        ws.transport.abort()  # signaling vanishes, no close frame
    else:
        await ws.close()
    await pc.close()


async def rtc_oversize():
    pc, ws, chans, queues, _, task = await rtc_session()
    try:
        from aiortc.exceptions import InvalidStateError
        try:
            # Over serve's a=max-message-size (256 KiB): dropped by serve.
            chans[0].send(FRAG.pack(7, 0, 1) + b"O" * (1 << 20))
        except (InvalidStateError, ValueError):
            pass
        # A fragment announcing 65535 fragments of ~64 KiB (4 GiB): refused
        # by the bounded reassembly.
        chans[0].send(FRAG.pack(8, 0, 65535) + b"F" * 65000)
        chans[0].send(FRAG.pack(8, 1, 65535) + b"F" * 65000)
        chans[0].send(FRAG.pack(9, 0, 1) + b"ok")  # then a good one: echoed
        got = await asyncio.wait_for(queues[0].get(), 10)
        if got[8:] != b"ok":
            refused("rtc oversize: first echo not the good message")
    finally:
        await rtc_end(pc, ws, task)


async def dup_label():
    from aiortc.exceptions import InvalidStateError
    pc, ws, chans, queues, closed, task = await rtc_session(2, "RPC_RELIABLE")
    try:
        for ch, frag in ((chans[0], FRAG.pack(0, 0, 2) + b"A" * 65527),
                         (chans[1], FRAG.pack(0, 1, 2) + b"B" * 10)):
            try:
                ch.send(frag)
            except InvalidStateError:
                pass
        await asyncio.wait([asyncio.ensure_future(e.wait()) for e in closed], timeout=10,
                           return_when=asyncio.FIRST_COMPLETED)
        if not any(e.is_set() for e in closed):
            refused("dup-label: both channels kept")
    finally:
        await rtc_end(pc, ws, task, abrupt=rng.random() < 0.5)


GARBAGE = [
    ("random bytes", lambda: os.urandom(rng.randint(1, 4096))),
    ("reserved opcode", lambda: frame(0x3, b"abc")),
    ("reserved control opcode", lambda: frame(0xB, b"abc")),
    ("rsv bits", lambda: frame(0x2, lane_msg(2, b"x"), rsv=rng.randint(1, 7))),
    ("unmasked frame", lambda: frame(0x2, lane_msg(2, b"x"), mask=False)),
    ("text frame", lambda: frame(0x1, b"hello")),
    ("stray continuation", lambda: frame(0x0, b"abc")),
    ("fragmented ping", lambda: frame(0x9, b"ab", fin=False)),
    ("long ping", lambda: frame(0x9, b"p" * 126)),
    ("close with 1 byte", lambda: frame(0x8, b"\x03")),
    ("close code 999", lambda: frame(0x8, struct.pack(">H", 999) + b"bad")),
    ("close bad utf-8", lambda: frame(0x8, struct.pack(">H", 1000) + b"\xff")),
    ("new message inside a fragmented one",
     lambda: frame(0x2, b"\x02\x00", fin=False) + frame(0x2, b"\x00")),
    ("short lane messages", lambda: frame(0x2, b"\x02") + frame(0x2, b"\x02\x00\x00")
     + frame(0x2, lane_msg(2, b"ok"))),
    ("unknown payload type", lambda: frame(0x2, lane_msg(9, b"nine"))
     + frame(0x2, lane_msg(200, b"x" * 100)) + frame(0x2, lane_msg(2, b"ok"))),
    ("length longer than data", lambda: frame(0x2, b"\x02\x00\x10\x00\x00abc")),
]


def garbage_frames():
    for name, make in GARBAGE:
        s = upgrade("/lane")
        try:
            s.sendall(make())
        except OSError:
            pass
        drain_until_closed(s, 0.3 if name in ("short lane messages", "unknown payload type",
                                               "length longer than data") else 2)
        reset(s) if rng.random() < 0.5 else s.close()
        count("garbage frames sent")


def garbage_http():
    heads = [
        os.urandom(2048),
        b"GET /lane HTTP/1.1\r\nHost: x\r\n" + b"X-Junk: " + b"j" * 20000 + b"\r\n\r\n",
        b"GET /lane HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        b"POST /lane HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /lane HTTP/1.1\r\nHost: x\r\nUpgr",  # cut, abandoned below
    ]
    for h in heads:
        s = connect()
        try:
            s.sendall(h)
        except OSError:
            pass
        if h.endswith(b"Upgr"):
            time.sleep(0.2)
            reset(s)
            continue
        drain_until_closed(s, 2)
        s.close()


_canned_offer = None


async def canned_offer():
    """An aiortc offer (with its candidates) made once: its ICE agent is gone
    when it is sent, so serve's handshake can never finish."""
    global _canned_offer
    if _canned_offer is None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.createDataChannel("RPC_RELIABLE")
        await pc.setLocalDescription(await pc.createOffer())
        _canned_offer = pc.localDescription.sdp
        await pc.close()
    return _canned_offer


async def churn():
    for _ in range(40):  # TCP connect, close at once
        s = connect()
        reset(s) if rng.random() < 0.5 else s.close()
    for _ in range(20):  # upgraded, dropped without a close frame
        reset(upgrade("/lane"))
    held = [upgrade("/lane") for _ in range(16)]  # idle for a while
    await asyncio.sleep(3)
    for s in held:
        reset(s)
    offer = await canned_offer()
    for i in range(8):  # a WebRTC handshake abandoned
        ws = await websockets.connect(URL + "/signal", max_size=1 << 20, open_timeout=5)
        await ws.send(json.dumps({"type": "offer", "sdp": offer}))
        if i % 2:
            try:
                await asyncio.wait_for(ws.recv(), 5)  # the answer, then gone
            except (websockets.ConnectionClosed, asyncio.TimeoutError):
                refused("churn: no answer to a canned offer")
        ws.transport.abort()
    count("connections abandoned", 40 + 20 + 16 + 8)


def stop_reader_ws():
    s = upgrade("/lane")
    msg = frame(0x2, lane_msg(2, os.urandom(64 << 10)))
    s.settimeout(2)
    sent = 0
    try:
        for _ in range(192):  # 12 MiB, beyond serve's 8 MiB outbound queue
            s.sendall(msg)
            sent += 1
    except (socket.timeout, OSError):
        pass  # pushed back
    count("stop-reader ws messages sent", sent)
    time.sleep(5)
    reset(s)


async def stop_reader_rtc():
    pc, ws, chans, queues, _, task = await rtc_session()
    try:
        for i in range(32):  # 2 MiB of 64 KiB messages, each echoed
            chans[0].send(FRAG.pack(i, 0, 1) + os.urandom(65528))
        await asyncio.sleep(0.5)
        time.sleep(5)  # the whole process stops: nobody reads the UDP socket
    finally:
        await rtc_end(pc, ws, task, abrupt=True)


ACTIONS = [
    ("ping-flood", ping_flood),
    ("deep-json", deep_json),
    ("signal-garbage", signal_garbage),
    ("oversize", lane_oversize),
    ("oversize-rtc", rtc_oversize),
    ("garbage-frames", garbage_frames),
    ("garbage-http", garbage_http),
    ("churn", churn),
    ("dup-label", dup_label),
    ("stop-reader-ws", stop_reader_ws),
    ("stop-reader-rtc", stop_reader_rtc),
]


async def main():
    end = time.time() + SECONDS
    rounds = 0
    while time.time() < end:
        for name, fn in ACTIONS:
            if time.time() >= end:
                break
            try:
                if asyncio.iscoroutinefunction(fn):
                    await asyncio.wait_for(fn(), 60)
                else:
                    fn()  # blocking sockets, each wait bounded by its timeout
                count(name)
            except Exception as e:  # expected: serve refuses, closes, resets
                count(name)
                refused("%s: %s" % (name, type(e).__name__))
        rounds += 1
        with open(STATS, "w") as f:
            json.dump({"rounds": rounds, "actions": stats, "errors_met": refusals}, f,
                      indent=1, sort_keys=True)


if __name__ == "__main__":
    asyncio.run(main())
