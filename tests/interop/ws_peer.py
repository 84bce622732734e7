#!/usr/bin/python3
"""ws_peer.py - an independent WebSocket peer (Debian python3-websockets)
that speaks the actr lane framing (SPEC 1.4): one binary message per lane
message, [type u8][data_len u32 BE][data].

  ws_peer.py server        echo every valid lane message back unchanged;
                           prints "PORT <n>" once listening on 127.0.0.1
  ws_peer.py client URL    exchange with an echo peer (actr-lane serve) and
                           check everything; exit 0 only if all matched

Run it with /usr/bin/python3: Debian's python3-websockets is not visible to
other interpreters."""
import asyncio
import json
import struct
import sys

import websockets

SIZES = [0, 1, 120, 121, 65530, 65531, 200_000, 1 << 20, 4 << 20]


def pattern(n, seed):
    base = bytes((i * 31 + seed * 7) & 0xFF for i in range(256))
    return (base * (n // 256 + 1))[:n]


def lane_msg(ptype, data):
    return bytes([ptype]) + struct.pack(">I", len(data)) + data


def valid(msg):
    return (isinstance(msg, bytes) and len(msg) >= 5 and msg[0] <= 4
            and struct.unpack(">I", msg[1:5])[0] <= len(msg) - 5)


async def serve():
    async def echo(ws):
        async for msg in ws:
            if valid(msg):  # malformed lane messages are dropped, as libactr does
                await ws.send(msg)

    async with websockets.serve(echo, "127.0.0.1", 0, max_size=None,
                                compression=None) as server:
        print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


async def expect_echo(ws, sent, what):
    got = await asyncio.wait_for(ws.recv(), 30)
    if got != sent:
        raise AssertionError("%s: echo differs (%d bytes back, %d sent)" % (what, len(got), len(sent)))


async def client(url):
    headers = {"X-Actr-Source-ID": "00ff", "X-Actr-Credential": "Y3JlZA=="}
    # Default options on purpose: websockets offers permessage-deflate; the
    # libactr server must decline it and still work.
    async with websockets.connect(url, max_size=None, extra_headers=headers) as ws:
        for ptype in range(5):
            for n in SIZES:
                m = lane_msg(ptype, pattern(n, ptype + n))
                await ws.send(m)
                await expect_echo(ws, m, "type %d size %d" % (ptype, n))
        # Pipelined: 2000 small messages in flight at once, on two types.
        msgs = [lane_msg(i % 2 * 2, pattern(1024, i)) for i in range(2000)]
        for m in msgs:
            await ws.send(m)
        got = {0: [], 2: []}
        for _ in msgs:
            r = await asyncio.wait_for(ws.recv(), 30)
            got[r[0]].append(r)
        for t in (0, 2):
            if got[t] != [m for m in msgs if m[0] == t]:
                raise AssertionError("pipelined echoes out of order on type %d" % t)
        # Malformed lane messages are dropped; the connection goes on.
        for bad in (b"\x00\x00", b"\x07\x00\x00\x00\x01x", b"\x01\x00\x00\x00\x09abc"):
            await ws.send(bad)
        m = lane_msg(1, b"still here")
        await ws.send(m)
        await expect_echo(ws, m, "after malformed messages")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        # A text frame is refused with 1003.
        await ws.send("text is not a lane message")
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError("text frame was not refused")
        except websockets.ConnectionClosed as e:
            if e.rcvd is None or e.rcvd.code != 1003:
                raise AssertionError("text frame: closed with %r, want 1003" % (e.rcvd,))
    # A clean close from our side.
    async with websockets.connect(url, max_size=None) as ws:
        m = lane_msg(3, pattern(100, 3))
        await ws.send(m)
        await expect_echo(ws, m, "second connection")
        await ws.close()
        if ws.close_code != 1000:
            raise AssertionError("close code %r" % ws.close_code)
    # /signal is WebRTC signaling, not a lane path: JSON that does not fit
    # SPEC §5 gets an error message, then the connection is closed.
    signal_url = url.rsplit("/", 1)[0] + "/signal"
    async with websockets.connect(signal_url) as ws:
        await ws.send('{"type":"bogus"}')
        try:
            first = await asyncio.wait_for(ws.recv(), 10)
            if not isinstance(first, str) or json.loads(first).get("type") != "error":
                raise AssertionError("/signal: expected a JSON error, got %r" % (first,))
            await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed:
            pass
        if ws.close_code is None or ws.close_code < 1000:
            raise AssertionError("/signal: not closed")
    print("python3-websockets %s client: all echoes matched" % websockets.__version__)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "server":
        asyncio.run(serve())
    elif len(sys.argv) >= 3 and sys.argv[1] == "client":
        try:
            asyncio.run(client(sys.argv[2]))
        except Exception as e:  # one line, non-zero exit
            print("ws_peer.py: %s: %s" % (type(e).__name__, e), file=sys.stderr)
            sys.exit(1)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


main()
