#!/usr/bin/python3
"""hostile_actrix.py MODE - a signaling server that misbehaves, for the
signaling client's bounds (tests/realm/test_sig_client.c).  It accepts any
WebSocket upgrade on 127.0.0.1 (port 0), prints "listening ws://127.0.0.1:PORT"
and then, per connection:

  big      sends one binary frame of 2 MiB (over the client's 1 MiB bound)
  garbage  sends binary frames that are not SignalingEnvelopes, then keeps
           the connection open and never answers
  silent   never sends anything (requests are never answered)

Runs until SIGTERM.  Run with /usr/bin/python3 (Debian's python3-websockets)."""
import asyncio
import signal
import sys

import websockets

MODE = sys.argv[1]


async def handler(ws, path=None):
    if MODE == "big":
        await ws.send(b"\x08" * (2 << 20))
    elif MODE == "garbage":
        for junk in (b"\xff\x00garbage", b"\x0a\x05hello", b""):
            await ws.send(junk)
    try:
        async for _ in ws:  # read and ignore everything
            pass
    except websockets.ConnectionClosed:
        pass


async def main():
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None) as srv:
        print("listening ws://127.0.0.1:%d" % srv.sockets[0].getsockname()[1], flush=True)
        await stop.wait()


asyncio.run(main())
