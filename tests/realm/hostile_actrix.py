#!/usr/bin/python3
"""hostile_actrix.py MODE - a signaling server that misbehaves, for the
signaling client's bounds (tests/realm/test_sig_client.c).  It accepts any
WebSocket upgrade on 127.0.0.1 (port 0), prints "listening ws://127.0.0.1:PORT"
and then, per connection:

  big      sends one binary frame of 2 MiB (over the client's 1 MiB bound),
           0.5 s after the upgrade
  garbage  sends binary frames that are not SignalingEnvelopes, then keeps
           the connection open and never answers
  silent   never sends anything (requests are never answered)
  relay-first  answers each request twice: first with an ActrRelay (what a
           peer sends through actrix) carrying reply_for = the request's
           envelope_id, as a peer guessing our ids would; then with the
           real answer, an envelope_error 503 "hostile-busy"

Runs until SIGTERM.  Run with /usr/bin/python3 (Debian's python3-websockets)."""
import asyncio
import signal
import sys

import websockets

MODE = sys.argv[1]
if MODE == "relay-first":
    import test_actrix  # beside this file: its generated protobuf modules

    test_actrix.load_protos()


def envelope(eid, reply_for):
    S = test_actrix.S
    e = S.SignalingEnvelope(envelope_version=1, envelope_id=eid, reply_for=reply_for)
    e.timestamp.GetCurrentTime()
    return e


def relay_then_error(data):
    S, A = test_actrix.S, test_actrix.A
    req = S.SignalingEnvelope()
    req.ParseFromString(data)
    if req.WhichOneof("flow") != "actr_to_server":
        return []
    peer = A.ActrId(serial_number=99, realm=A.Realm(realm_id=7),
                    type=A.ActrType(manufacturer="acme", name="peer", version="1"))
    relay = envelope("r-" + req.envelope_id, req.envelope_id)
    relay.actr_relay.source.CopyFrom(peer)
    relay.actr_relay.target.CopyFrom(peer)
    relay.actr_relay.credential.CopyFrom(A.AIdCredential(key_id=1, claims=b"x", signature=b"y"))
    answer = envelope("a-" + req.envelope_id, req.envelope_id)
    answer.envelope_error.code = 503
    answer.envelope_error.message = "hostile-busy"
    return [relay.SerializeToString(), answer.SerializeToString()]


async def handler(ws, path=None):
    if MODE == "big":
        # Once the client has seen its link open (it reports a link that
        # closes at once as a failed start, which is not this scene).
        await asyncio.sleep(0.5)
        await ws.send(b"\x08" * (2 << 20))
    elif MODE == "garbage":
        for junk in (b"\xff\x00garbage", b"\x0a\x05hello", b""):
            await ws.send(junk)
    try:
        async for msg in ws:  # read and ignore everything but relay-first's requests
            if MODE == "relay-first" and isinstance(msg, bytes):
                for frame in relay_then_error(msg):
                    await ws.send(frame)
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
