#!/usr/bin/python3
"""aiortc_loss.py SECONDS — aiortc's own data channel throughput, for the
fault tests' comparison: two aiortc peer connections in this process, over
127.0.0.1 (ICE on loopback only, no ICE servers), one ordered reliable
channel; 64 KiB messages (aiortc's largest) are sent for SECONDS while the
buffered amount is kept under 1 MiB, and the receiver checks each one.
Prints "AIORTC one-way BYTES_PER_S B/s (N bytes in T s)"; exits 1 when a
message is wrong or nothing arrived.  Run under the test's impairment."""
import asyncio
import sys
import time

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection  # noqa: E402

CHUNK = 65536


def pattern(i):
    return bytes([(i * 7 + 1) & 0xFF]) * CHUNK


async def main(seconds):
    cfg = RTCConfiguration(iceServers=[])
    a, b = RTCPeerConnection(cfg), RTCPeerConnection(cfg)
    got = {"bytes": 0, "n": 0, "bad": 0, "first": None, "last": None}
    opened = asyncio.Event()

    @b.on("datachannel")
    def on_dc(ch):
        @ch.on("message")
        def on_message(m):
            now = time.monotonic()
            if got["first"] is None:
                got["first"] = now
            if m != pattern(got["n"]):
                got["bad"] += 1
            got["n"] += 1
            got["bytes"] += len(m)
            got["last"] = now

    ch = a.createDataChannel("STREAM_RELIABLE")
    ch.on("open", opened.set)
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await asyncio.wait_for(opened.wait(), 30)
    low = asyncio.Event()
    ch.bufferedAmountLowThreshold = 512 * 1024

    @ch.on("bufferedamountlow")
    def on_low():
        low.set()

    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < seconds:
        if ch.bufferedAmount > 1024 * 1024:
            low.clear()
            try:
                await asyncio.wait_for(low.wait(), 1)
            except asyncio.TimeoutError:
                pass
            continue
        ch.send(pattern(i))
        i += 1
        await asyncio.sleep(0)
    await asyncio.sleep(0.5)
    await a.close()
    await b.close()
    if got["n"] < 2 or got["bad"]:
        print(f"AIORTC FAILED: {got['n']} messages, {got['bad']} wrong")
        return 1
    span = got["last"] - got["first"]
    rate = (got["bytes"] - CHUNK) / span
    print(f"AIORTC one-way {rate:.0f} B/s ({got['bytes']} bytes in {span:.1f} s)")
    return 0


sys.exit(asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 15)))
