#!/usr/bin/python3
"""aiortc_peer.py ROLE — the aiortc side of libactr's interop test.

ROLE is "offer" (aiortc makes the offer) or "answer".  Signaling is the
JSON of SPEC §5, one message per line: read from stdin, written to stdout.
Lines starting with "RESULT " report to the test:
  RESULT chan <label> <ordered 0|1> <maxRetransmits|-1> <protocol>
                   a channel libactr opened (all its messages are echoed)
  RESULT ok <what> / RESULT fail <why>
                   the echo check of our own channel "from-peer": 8 messages
                   (0, 1, 1200, 65535 bytes; binary and text) must come back
                   intact and in order.
Exits when stdin closes.  AIORTC_DEBUG=1 turns aiortc's logging on (stderr).
"""
import asyncio
import json
import logging
import os
import sys

import aioice.ice

# Gather on loopback only and ask no public STUN server (the test runs in a
# network namespace that holds only lo).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.sdp import candidate_from_sdp  # noqa: E402

SIZES = [0, 1, 1200, 65535]


def pattern(size, text, seed):
    if text:
        return "".join(chr(97 + (i + seed) % 26) for i in range(size))
    return bytes((i * 31 + seed) & 0xFF for i in range(size))


def expected():
    out, k = [], 0
    for size in SIZES:
        for text in (False, True):
            out.append(pattern(size, text, 500 + k))
            k += 1
    return out


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def send_json(obj):
    emit(json.dumps(obj))


async def main():
    role = sys.argv[1]
    if os.environ.get("AIORTC_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

    @pc.on("datachannel")
    def on_datachannel(ch):
        mr = ch.maxRetransmits if ch.maxRetransmits is not None else -1
        emit(f"RESULT chan {ch.label} {int(ch.ordered)} {mr} {ch.protocol or '-'}")

        @ch.on("message")
        def on_message(m):
            ch.send(m)

    @pc.on("connectionstatechange")
    def on_state():
        print(f"aiortc: connection {pc.connectionState}", file=sys.stderr)

    mine = pc.createDataChannel("from-peer")
    want = expected()
    got = []

    @mine.on("open")
    def on_open():
        for m in want:
            mine.send(m)

    @mine.on("message")
    def on_echo(m):
        got.append(m)
        if len(got) < len(want):
            return
        for i, (g, w) in enumerate(zip(got, want)):
            if type(g) is not type(w) or g != w:
                emit(f"RESULT fail echo {i}: {type(g).__name__} of {len(g)}, "
                     f"want {type(w).__name__} of {len(w)}")
                return
        emit(f"RESULT ok from-peer {len(got)} echoes")

    if role == "offer":
        await pc.setLocalDescription(await pc.createOffer())
        send_json({"type": "offer", "sdp": pc.localDescription.sdp})

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        kind = msg.get("type")
        if kind == "offer":
            await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            send_json({"type": "answer", "sdp": pc.localDescription.sdp})
        elif kind == "answer":
            await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
        elif kind == "candidate":
            if msg.get("candidate"):
                c = candidate_from_sdp(msg["candidate"].split(":", 1)[1])
                c.sdpMid = msg.get("sdpMid") or "0"
                c.sdpMLineIndex = 0
                await pc.addIceCandidate(c)
            elif pc.sctp is not None:
                await pc.sctp.transport.transport.addRemoteCandidate(None)
    await pc.close()


if __name__ == "__main__":
    asyncio.run(main())
