#!/usr/bin/python3
"""hostile.py - libactr's tool against hostile peers (issue: hostile peers).

  hostile.py ACTR_LANE CASE

Cases (each starts what it needs on 127.0.0.1, bounds every wait, and kills
every process it started):

  deep-json     a /signal client sends one text frame of 256 KiB of '[' (and
                of '{'); `serve` answers with an error message and keeps
                serving (a lane echo afterwards works).
  open-past-streams
                an aiortc peer takes only 16 streams from serve (it may send
                on 16) and opens a channel labelled RPC_RELIABLE on stream
                100, then a genuine one on a low stream: serve refuses the
                first (its ACK could never go) with a line on stderr, takes
                the second and echoes on it (before, it took the first and
                refused the genuine one as a second RPC_RELIABLE).
  deep-json-server
                a hostile /signal server answers the offer of
                `send --lane rtc` with 256 KiB of '['; send exits non-zero
                with a one-line error, not by a signal.
  ping-flood    a raw client floods a lane connection with pings and never
                reads; serve's RSS must not grow with the number of pings.
  ping-flood-reading
                a raw client streams 200,000 pings and reads the answers:
                one pong per read batch, not one write per ping (at most
                one pong per 50 pings); the lane echoes after.
  dup-label     an aiortc peer opens two channels labelled RPC_RELIABLE and
                sends fragment 0/2 of msg_id 0 on one, 1/2 on the other:
                serve refuses (closes) the second channel and never joins
                the two into a message.
  conn-flood    300 TCP connections that never send a request: past the
                handshake cap (--max-handshakes 64) each gets HTTP 503 at
                once, and serve's RSS does not grow by a buffer per socket;
                then completed lane connections past --max-connections get
                503 too, and a closed one frees its place.
  signal-reset  100 clients send a /signal upgrade request and reset the
                connection at once: none becomes a session (10 real ones
                are served after them, none refused 1013), and serve exits
                0 on SIGTERM.
  bad-candidates
                a connected aiortc peer trickles a candidate serve cannot
                parse, then 300 more, most past the bound of 128: each is
                skipped, no error, the connection stays up and keeps
                echoing.
  sctp-pin      a connected aiortc peer sends 4,000 SCTP packets (in DTLS
                records of its own making), each a ~15 KB chunk SCTP skips
                and then one byte of DATA on a stream whose first message
                never comes, so that SCTP holds it: serve's RSS grows by
                less than 24 MiB (it grew ~70 MiB, a whole packet's buffers
                per held byte), and the lane echoes after; then, with a new
                serve, 1,000 such packets holding 1,100 bytes each: less
                than 10 MiB.
  big-echo-close
                a connected aiortc peer sends one 40 MiB message, too large
                for the echo's non-waiting send, so serve echoes it from a
                thread that waits; the peer stops reading and its
                signaling connection is cut while that send waits: serve
                ends the session and keeps serving (it froze: the I/O
                thread joined the sending thread, which waited for it).
  log-flood     5000 lane messages serve drops (bad payload type, bad
                length): a few lines on stderr, not 5000; the lane echoes.
  fd-exhaust    serve limited to 128 file descriptors, 200 clients: each
                gets 101 or 503 (shed), serve writes a line or two, not one
                per accept try (GSocketService spun and warned ~250,000
                times a second), and serves again once they close.
  signal-big    a /signal client sends a 1 MiB text message: closed with
                1009 (the /signal bound is 256 KiB, not the lane 64 MiB).
  signal-flood  80 /signal connections at once: past the 64-session cap the
                rest are closed with 1013 (a line or two on stderr, not
                16); when they all close, serve's threads go back to where
                they were (no session waits to be reaped), and a new
                session is served.
  signal-idle   64 /signal clients that never connect (one sends an offer
                serve cannot take: an error, then close 1011): with
                --connect-timeout-ms 2000 every session ends (1011) and a
                real session is served after them.

Run with /usr/bin/python3 (Debian's python3-websockets)."""
import asyncio
import base64
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import time

import websockets

TOOL = sys.argv[1]
LANE_HDR = struct.Struct(">IHH")  # a DataChannel lane frame: msg_id, index, total
CASE = sys.argv[2]


def fail(msg):
    print("hostile: " + msg, file=sys.stderr)
    sys.exit(1)


def start_serve(*extra, nofile=None, stderr=None):
    # Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
    # default) before it is reused, which would show as growth in the RSS
    # measured here: keep it small.  Other builds ignore the variable.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1").lstrip(":")
    def limit():
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    p = subprocess.Popen([TOOL, "serve", "--listen", "127.0.0.1:0", *extra],
                         stdout=subprocess.PIPE, stderr=stderr, env=env, preexec_fn=limit)
    line = p.stdout.readline().decode().strip()
    if not line.startswith("listening ws://127.0.0.1:"):
        p.kill()
        fail("serve said %r: %s" % (line, p.stderr.read().decode()))
    return p, line[len("listening "):]


def stop_serve(p):
    alive = p.poll() is None
    p.terminate()
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        fail("serve did not stop on SIGTERM")
    if not alive:
        fail("serve died during the test (exit %s): %s" % (p.returncode,
             p.stderr.read().decode()[-2000:]))
    if rc != 0:
        fail("serve exited %d on SIGTERM" % rc)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def lane_echo(url):
    async with websockets.connect(url + "/lane", max_size=None) as ws:
        msg = bytes([2]) + struct.pack(">I", 5) + b"hello"
        await ws.send(msg)
        got = await asyncio.wait_for(ws.recv(), 10)
        if got != msg:
            fail("lane echo after the attack: %r" % got)


async def deep_json():
    p, url = start_serve()
    try:
        for ch in "[{":
            async with websockets.connect(url + "/signal", max_size=None) as ws:
                await ws.send(ch * (256 * 1024))
                try:
                    got = await asyncio.wait_for(ws.recv(), 10)
                except websockets.ConnectionClosed:
                    got = None
                if got is not None and '"error"' not in got:
                    fail("serve answered %r" % got[:200])
            if p.poll() is not None:
                fail("serve died on 256 KiB of %r (exit %s)" % (ch, p.returncode))
        await lane_echo(url)
    finally:
        stop_serve(p)
    print("deep-json: refused, serve alive")


async def deep_json_server():
    async def hostile(ws):
        async for _ in ws:
            await ws.send("[" * (256 * 1024))

    async with websockets.serve(hostile, "127.0.0.1", 0, max_size=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            TOOL, "send", "--url", "ws://127.0.0.1:%d" % port, "--lane", "rtc",
            "--count", "1", "--size", "10",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            fail("send hung on a hostile signaling server")
    if proc.returncode == 0 or proc.returncode < 0 or proc.returncode >= 128:
        fail("send exited %d (want a plain failure): %s" % (proc.returncode, err.decode()))
    print("deep-json-server: send refused it: exit %d, %s" %
          (proc.returncode, err.decode().strip().splitlines()[-1]))


def ws_request(path):
    """A WebSocket upgrade request for @path, with a fresh key."""
    key = base64.b64encode(os.urandom(16)).decode()
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode()


async def refused_1013(ws):
    """True if serve closes the /signal connection @ws with 1013 within 2 s."""
    try:
        await asyncio.wait_for(ws.recv(), 2)
    except websockets.ConnectionClosed as e:
        return bool(e.rcvd and e.rcvd.code == 1013)
    except asyncio.TimeoutError:
        pass
    return False


def ws_handshake(sock, path):
    sock.sendall(ws_request(path))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            fail("handshake: connection closed")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        fail("handshake refused: %r" % head)


async def aiortc_signaling(ws, pc, errors=None):
    """Answer and trickled candidates from serve's /signal into the aiortc
    peer connection @pc, until the connection ends; error messages go to
    the list @errors (when given)."""
    from aiortc import RTCSessionDescription
    from aiortc.sdp import candidate_from_sdp
    async for raw in ws:
        msg = json.loads(raw)
        if msg["type"] == "answer":
            await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
        elif msg["type"] == "candidate" and msg.get("candidate"):
            c = candidate_from_sdp(msg["candidate"].split(":", 1)[1])
            c.sdpMid = msg.get("sdpMid") or "0"
            c.sdpMLineIndex = msg.get("sdpMLineIndex") or 0
            await pc.addIceCandidate(c)
        elif msg["type"] == "error" and errors is not None:
            errors.append(msg["message"])


async def aiortc_lane(url):
    """An aiortc peer connected to serve through /signal, with one open
    channel labelled RPC_RELIABLE that has echoed a first message.  Returns
    (pc, ws, channel, echoes, signaling task, errors); aiortc_lane_close
    undoes it."""
    import aioice.ice
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]
    from aiortc import RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    ws = sig = None
    try:
        ch = pc.createDataChannel("RPC_RELIABLE")
        opened = asyncio.Event()
        echoes = asyncio.Queue()
        ch.on("open", opened.set)
        ch.on("message", echoes.put_nowait)
        ws = await websockets.connect(url + "/signal", max_size=1 << 20)
        await pc.setLocalDescription(await pc.createOffer())
        await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
        errors = []
        sig = asyncio.ensure_future(aiortc_signaling(ws, pc, errors))
        await asyncio.wait_for(opened.wait(), 30)
        ch.send(LANE_HDR.pack(0, 0, 1) + b"before")  # msg_id 0: the first echo
        got = await asyncio.wait_for(echoes.get(), 30)
        if got[8:] != b"before":
            fail("first echo: %r" % got[:40])
    except BaseException:
        await aiortc_lane_close(pc, ws, sig)
        raise
    return pc, ws, ch, echoes, sig, errors


def raw_lane_socket(url):
    """A TCP socket to serve, upgraded to a lane connection (/lane)."""
    s = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    ws_handshake(s, "/lane")
    return s


# 1000 masked pings, each with a 125-byte payload (mask key 0: payload as is).
PING_BATCH = (bytes([0x89, 0x80 | 125]) + b"\0\0\0\0" + b"p" * 125) * 1000


def ping_flood():
    p, url = start_serve()
    try:
        s = raw_lane_socket(url)
        base = rss_kib(p.pid)
        pings = 0
        deadline = time.time() + 60
        s.settimeout(5)
        while pings < 1_000_000 and time.time() < deadline:
            try:
                s.sendall(PING_BATCH)
            except (socket.timeout, OSError):
                break  # serve stopped reading us: pushed back, fine
            pings += 1000
        time.sleep(1)
        grown = rss_kib(p.pid) - base
        s.close()
        # 1,000,000 queued pongs are ~170 MiB; one pending pong is nothing
        # (the bound leaves room for allocator and sanitizer overheads).
        print("ping-flood: %d pings sent, serve RSS grew %d KiB" % (pings, grown))
        if pings < 100_000:
            fail("only %d pings went out before serve stopped reading" % pings)
        if grown > 32 * 1024:
            fail("serve RSS grew %d KiB under a ping flood" % grown)
        asyncio.run(lane_echo(url))
    finally:
        stop_serve(p)


def ping_flood_reading():
    # A client that streams pings and reads what comes back: serve answers
    # the pings of one read batch with one pong (the latest, RFC 6455
    # §5.5.3), not a write per ping: 200,000 pings once cost 200,000
    # writes of the one I/O thread every connection shares.
    import threading
    p, url = start_serve()
    try:
        s = raw_lane_socket(url)
        got = [0]
        def reader():
            while True:
                try:
                    b = s.recv(65536)
                except OSError:
                    return
                if not b:
                    return
                got[0] += len(b)
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        pings = 0
        for _ in range(200):
            s.sendall(PING_BATCH)
            pings += 1000
        time.sleep(1)
        s.shutdown(socket.SHUT_RDWR)
        t.join(5)
        s.close()
        pongs = got[0] // (2 + 125)  # unmasked pongs, each with the 125-byte payload
        print("ping-flood-reading: %d pings, %d pongs" % (pings, pongs))
        if pongs < 1:
            fail("no pong for %d pings" % pings)
        if pongs > pings // 50:
            fail("%d pongs for %d pings: a write per ping" % (pongs, pings))
        asyncio.run(lane_echo(url))
    finally:
        stop_serve(p)


async def dup_label():
    import aioice.ice
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]
    from aiortc import RTCConfiguration, RTCPeerConnection

    p, url = start_serve()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        chans = [pc.createDataChannel("RPC_RELIABLE") for _ in range(2)]
        opened = [asyncio.Event() for _ in chans]
        closed = [asyncio.Event() for _ in chans]
        echoes = [asyncio.Queue() for _ in chans]
        for i, ch in enumerate(chans):
            ch.on("open", opened[i].set)
            ch.on("close", closed[i].set)
            ch.on("message", echoes[i].put_nowait)
        async with websockets.connect(url + "/signal", max_size=1 << 20) as ws:
            await pc.setLocalDescription(await pc.createOffer())
            await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))

            sig = asyncio.ensure_future(aiortc_signaling(ws, pc))
            try:
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 30)
                # serve may already be closing the second channel: a send on
                # it then fails here, which is the refusal itself.
                from aiortc.exceptions import InvalidStateError
                for ch, frag in ((chans[0], LANE_HDR.pack(0, 0, 2) + b"A" * 65527),
                                 (chans[1], LANE_HDR.pack(0, 1, 2) + b"B" * 10)):
                    try:
                        ch.send(frag)
                    except InvalidStateError:
                        pass
                # serve refuses one of the two (whichever it learnt of second).
                done, _ = await asyncio.wait(
                    [asyncio.ensure_future(e.wait()) for e in closed], timeout=30,
                    return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    fail("serve kept both channels labelled RPC_RELIABLE")
                kept = 0 if not closed[0].is_set() else 1
                if closed[kept].is_set():
                    fail("serve closed both channels")
                # A valid message on the kept channel: its echo is the first
                # and only thing that comes back (no joined 2-fragment message).
                chans[kept].send(LANE_HDR.pack(1, 0, 1) + b"ok")
                got = await asyncio.wait_for(echoes[kept].get(), 30)
                if got[8:] != b"ok" or LANE_HDR.unpack_from(got)[2] != 1:
                    fail("first echo on the kept channel: %r" % got[:40])
                await asyncio.sleep(0)
                if not echoes[kept].empty():
                    fail("more echoes than messages: %r" % echoes[kept].get_nowait()[:40])
            finally:
                sig.cancel()
    finally:
        await pc.close()
        stop_serve(p)
    print("dup-label: second channel refused, nothing joined")


async def open_past_streams():
    import aioice.ice
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]
    from aiortc import RTCConfiguration, RTCPeerConnection

    err = tempfile.TemporaryFile()
    p, url = start_serve(stderr=err)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        first = pc.createDataChannel("RPC_SIGNAL")
        # serve may send on 16 streams only (the INIT's inbound streams).
        pc.sctp._inbound_streams_max = 16
        opened = asyncio.Event()
        first.on("open", opened.set)
        async with websockets.connect(url + "/signal", max_size=1 << 20) as ws:
            await pc.setLocalDescription(await pc.createOffer())
            await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
            sig = asyncio.ensure_future(aiortc_signaling(ws, pc))
            try:
                await asyncio.wait_for(opened.wait(), 30)
                if pc.sctp._outbound_streams_count < 102 or pc.sctp._inbound_streams_count != 16:
                    fail("streams: %d out, %d in" % (pc.sctp._outbound_streams_count,
                                                     pc.sctp._inbound_streams_count))
                # DATA_CHANNEL_OPEN, reliable, label RPC_RELIABLE, on our
                # parity's stream 100 or 101: past serve's 16.
                label = b"RPC_RELIABLE"
                sid = 100 + first.id % 2
                await pc.sctp._send(sid, 50, struct.pack("!BBHLHH", 3, 0, 0, 0, len(label), 0)
                                    + label)
                await asyncio.sleep(0.5)
                chan = pc.createDataChannel("RPC_RELIABLE")
                ok = asyncio.Event()
                echoes = asyncio.Queue()
                chan.on("open", ok.set)
                chan.on("message", echoes.put_nowait)
                await asyncio.wait_for(ok.wait(), 30)
                from aiortc.exceptions import InvalidStateError
                try:
                    chan.send(LANE_HDR.pack(0, 0, 1) + b"ok")
                except InvalidStateError:
                    fail("serve closed the genuine RPC_RELIABLE channel (stream %d)" % chan.id)
                try:
                    got = await asyncio.wait_for(echoes.get(), 10)
                except asyncio.TimeoutError:
                    fail("no echo on the genuine RPC_RELIABLE channel (stream %d)" % chan.id)
                if got[8:] != b"ok":
                    fail("echo: %r" % got[:40])
            finally:
                sig.cancel()
    finally:
        await pc.close()
        stop_serve(p)
    err.seek(0)
    log = err.read().decode(errors="replace")
    if "DATA_CHANNEL_OPEN on stream %d refused (we may send on 16 streams)" % sid not in log:
        fail("serve did not say it refused stream %d:\n%s" % (sid, log[-2000:]))
    print("open-past-streams: stream %d refused, the genuine channel echoes" % sid)


def threads(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def read_head(sock):
    head = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in head:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        head += chunk
    return head


def conn_flood():
    p, url = start_serve("--max-handshakes", "64", "--max-connections", "100")
    port = int(url.rsplit(":", 1)[1])
    try:
        asyncio.run(lane_echo(url))
        base = rss_kib(p.pid)
        # 300 sockets that never send a request.  The first 64 hold a
        # handshake; each later one is answered 503 when it is accepted.
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(300)]
        time.sleep(1)
        grown = rss_kib(p.pid) - base
        refused = 0
        for s in idle[64:]:
            s.sendall(b"GET /lane HTTP/1.1\r\nHost: x\r\n\r\n")
            if read_head(s).startswith(b"HTTP/1.1 503"):
                refused += 1
        print("conn-flood: %d of 236 sockets past the handshake cap got 503; "
              "serve RSS grew %d KiB holding 300 sockets" % (refused, grown))
        if refused < 200:
            fail("only %d sockets past the handshake cap were refused" % refused)
        # 300 x (256 KiB read buffer + queues) before the caps: ~100 MiB.
        if grown > 16 * 1024:
            fail("serve RSS grew %d KiB for 300 idle sockets" % grown)
        for s in idle:
            s.close()
        time.sleep(0.5)
        # Completed lane connections: 100 are served, the 101st gets 503.
        held = []
        for i in range(100):
            s = socket.create_connection(("127.0.0.1", port))
            ws_handshake(s, "/lane")
            held.append(s)
        extra = socket.create_connection(("127.0.0.1", port))
        extra.sendall(b"GET /lane HTTP/1.1\r\nHost: x\r\n\r\n")
        head = read_head(extra)
        extra.close()
        if not head.startswith(b"HTTP/1.1 503"):
            fail("connection 101 (cap 100) got %r" % head[:60])
        held.pop().close()
        deadline = time.time() + 10
        while True:  # the closed one's place comes back once serve let it go
            s = socket.create_connection(("127.0.0.1", port))
            try:
                ws_handshake(s, "/lane")
                held.append(s)
                break
            except SystemExit:
                s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        print("conn-flood: connection 101 refused with 503, a freed place served")
        for s in held:
            s.close()
        asyncio.run(lane_echo(url))
    finally:
        stop_serve(p)


async def bad_candidates():
    # Once connected, the peer trickles candidates serve cannot take: one it
    # does not understand (two-byte characters for an address), then 300
    # well-formed ones (127.0.0.1, ports nothing listens on), of which all
    # but the first 126 or so are past the bound of 128 per ICE generation
    # (the offer's own candidate and the bad one count too).  Each is skipped: no error message, no
    # close, and the channel keeps echoing.  (They used to fail the link:
    # error, close 1011, the connection torn down.)
    p, url = start_serve()
    pc = ws = sig = None
    try:
        pc, ws, ch, echoes, sig, refused = await aiortc_lane(url)
        bad = ["candidate:1 1 udp 10 %s 9 typ host" % ("\u00e9" * 150)]
        bad += ["candidate:%d 1 udp 10 127.0.0.1 %d typ host" % (100 + i, 20000 + i)
                for i in range(300)]
        for c in bad:
            await ws.send(json.dumps({"type": "candidate", "candidate": c,
                                      "sdpMid": "0", "sdpMLineIndex": 0}))
        # serve reads in order: once the next echo is back, every
        # candidate above has been handled.
        ch.send(LANE_HDR.pack(1, 0, 1) + b"after")
        got = await asyncio.wait_for(echoes.get(), 30)
        if got[8:] != b"after":
            fail("echo after the candidates: %r" % got[:40])
        await asyncio.sleep(1)
        if refused:
            fail("serve sent an error for a candidate: %r" % refused[0][:80])
        if sig.done():
            fail("serve closed /signal after the candidates")
        if pc.connectionState != "connected":
            fail("connection %s after the candidates" % pc.connectionState)
    finally:
        await aiortc_lane_close(pc, ws, sig)
        stop_serve(p)
    print("bad-candidates: 301 candidates sent, those serve cannot take skipped, connection kept")


async def aiortc_lane_close(pc, ws, sig):
    """Undoes aiortc_lane (any of the three may be None)."""
    if sig:
        sig.cancel()
    if ws:
        await ws.close()
    if pc:
        await pc.close()


async def big_echo_close():
    p, url = start_serve()
    pc = ws = sig = None
    try:
        pc, ws, ch, echoes, sig, errors = await aiortc_lane(url)
        size, chunk = 40 << 20, 65535 - LANE_HDR.size
        total = -(-size // chunk)
        body = bytes(chunk)
        for i in range(total):
            ch.send(LANE_HDR.pack(1, i, total) + body[:min(chunk, size - i * chunk)])
        while True:  # the first fragment of its echo: serve's thread is sending
            got = await asyncio.wait_for(echoes.get(), 90)
            if LANE_HDR.unpack(got[:LANE_HDR.size])[0] == 1:
                break
        # The whole event loop stalls: nothing is read or acknowledged, so
        # the echo's send fills the channel's 16 MiB and waits.  Then the
        # signaling connection is cut under it.
        time.sleep(2)
        fd = ws.transport.get_extra_info("socket").fileno()
        cut = socket.socket(fileno=os.dup(fd))
        cut.shutdown(socket.SHUT_RDWR)
        cut.close()
        time.sleep(1)
        try:
            await asyncio.wait_for(lane_echo(url), 15)
        except (asyncio.TimeoutError, OSError) as e:
            fail("serve froze after a session ended during a big echo: %r" % e)
    finally:
        await aiortc_lane_close(pc, None, sig)
    stop_serve(p)
    print("big-echo-close: a session cut during a 40 MiB echo ended; serve kept serving")


async def sctp_pin():
    # Each packet is an unknown chunk of ~15 KB that SCTP skips, then one
    # DATA chunk on a stream whose sequence number 0 never comes, so that it
    # is held.  usrsctp 0.9.5.0 kept the whole packet (~18 KB of buffers)
    # for it, while the receive window counted its length plus 256 bytes:
    # 4,000 one-byte chunks grew serve by ~70 MiB, far past the 2 MiB
    # window.  The patched one (subprojects/packagefiles/) copies a chunk
    # under 1 KiB out, and lets a longer one drop the buffers before it
    # (the second round, 1,000 chunks of 1,100 bytes: ~17 MiB before).
    await sctp_pin_round(1, 4000, 24 * 1024)
    await sctp_pin_round(1100, 1000, 10 * 1024)


async def sctp_pin_round(held, packets, bound_kib):
    from aiortc.rtcsctptransport import DataChunk, tsn_plus_one
    from crc32c import crc32c

    p, url = start_serve()
    pc = ws = sig = None
    try:
        pc, ws, ch, echoes, sig, _ = await aiortc_lane(url)
        base = rss_kib(p.pid)
        sctp = pc.sctp
        dtls = sctp.transport
        pad = 15000
        skip = struct.pack(">BBH", 0xBD, 0, 4 + pad) + b"\0" * pad
        for i in range(packets):
            data = DataChunk(flags=0x03)  # ordered, first and last fragment
            data.tsn = sctp._local_tsn
            sctp._local_tsn = tsn_plus_one(sctp._local_tsn)
            data.stream_id, data.stream_seq, data.protocol = 100, 1 + i, 53
            data.user_data = b"x" * held
            head = struct.pack(">HHL", sctp._local_port, sctp._remote_port,
                               sctp._remote_verification_tag)
            body = skip + bytes(data)
            check = crc32c(head + b"\0\0\0\0" + body)
            # One DTLS record, in one datagram (aiortc's own sending cuts
            # what OpenSSL wrote into datagrams of 1500 bytes).
            dtls.ssl.send(head + struct.pack("<L", check) + body)
            await dtls.transport._send(dtls.ssl.bio_read(1 << 16))
            if i % 20 == 19:
                await asyncio.sleep(0.01)  # no loss: a lost TSN would stop the rest
        ch.send(LANE_HDR.pack(1, 0, 1) + b"after")
        try:
            got = await asyncio.wait_for(echoes.get(), 30)
        except asyncio.TimeoutError:
            got = b""
        if got[8:] != b"after":
            fail("no echo after the packets (serve grew %d KiB, peer %s)"
                 % (rss_kib(p.pid) - base, pc.connectionState))
        grown = rss_kib(p.pid) - base
        print("sctp-pin: %d packets of %d bytes, each holding %d bytes: serve grew %d KiB"
              % (packets, len(body) + 12, held, grown))
        if grown > bound_kib:
            fail("serve grew %d KiB for %d held chunks of %d bytes (window 2 MiB)"
                 % (grown, packets, held))
    finally:
        await aiortc_lane_close(pc, ws, sig)
        stop_serve(p)


async def log_flood():
    # 5000 lane messages serve must drop (a payload type that does not
    # exist, a declared length past the message): each is dropped and
    # counted, but serve's log says so a few times, not 5000.
    errf = tempfile.TemporaryFile()
    p, url = start_serve(stderr=errf)
    try:
        async with websockets.connect(url + "/lane", max_size=None) as ws:
            for i in range(5000):
                await ws.send(bytes([99]) + struct.pack(">I", 5) + b"hello" if i % 2 else
                              bytes([2]) + struct.pack(">I", 1000) + b"short")
            # Behind them on the same connection: once this is echoed, serve
            # has read (and dropped) all 5000.
            msg = bytes([2]) + struct.pack(">I", 5) + b"after"
            await ws.send(msg)
            if await asyncio.wait_for(ws.recv(), 10) != msg:
                fail("no echo behind the invalid messages")
        errf.seek(0)
        lines = errf.read().decode(errors="replace").splitlines()
        print("log-flood: 5000 invalid messages, %d lines on stderr" % len(lines))
        if len(lines) > 20:
            fail("serve wrote %d lines for 5000 invalid messages: %r" % (len(lines), lines[:3]))
        if not lines:
            fail("serve said nothing of 5000 invalid messages")
    finally:
        stop_serve(p)


def fd_exhaust():
    # serve may hold 128 descriptors (its hard limit too): 200 clients run
    # it out.  Each is answered (101, or 503 once none is left), serve
    # neither spins nor logs per try, and serves again once they close.
    errf = tempfile.TemporaryFile()
    p, url = start_serve("--max-connections", "1000", "--max-handshakes", "1000",
                         nofile=128, stderr=errf)
    port = int(url.rsplit(":", 1)[1])
    try:
        asyncio.run(lane_echo(url))
        socks = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", port))
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(("GET /lane HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
            socks.append(s)
        heads = [read_head(s) for s in socks]
        ok = sum(h.startswith(b"HTTP/1.1 101") for h in heads)
        shed = sum(h.startswith(b"HTTP/1.1 503") for h in heads)
        time.sleep(1)  # starved all along: a spinning accept loop would log on
        errf.seek(0)
        lines = errf.read().decode(errors="replace").splitlines()
        print("fd-exhaust: of 200 clients %d served, %d shed with 503; serve wrote %d lines "
              "to stderr" % (ok, shed, len(lines)))
        if p.poll() is not None:
            fail("serve died out of descriptors (exit %s)" % p.returncode)
        if ok + shed != 200 or ok == 0 or shed == 0:
            fail("%d served + %d shed of 200: some client got neither" % (ok, shed))
        if len(lines) > 4:
            fail("serve wrote %d lines out of descriptors: %r" % (len(lines), lines[:3]))
        for s in socks:
            s.close()
        deadline = time.time() + 10
        while True:  # descriptors come back as serve lets the connections go
            try:
                asyncio.run(asyncio.wait_for(lane_echo(url), 5))
                break
            except (SystemExit, OSError, asyncio.TimeoutError,
                    websockets.exceptions.InvalidStatusCode):
                if time.time() > deadline:
                    fail("serve does not serve once the clients closed")
                time.sleep(0.2)
        errf.seek(0)
        if b"accepting again" not in errf.read():
            fail("serve did not say it accepts again")
    finally:
        stop_serve(p)
    print("fd-exhaust: serving again after the clients closed")


async def signal_big():
    p, url = start_serve()
    try:
        async with websockets.connect(url + "/signal", max_size=None) as ws:
            try:  # serve may close (1009) while the message is still going out
                await ws.send("{" + " " * (1 << 20) + "}")
                await asyncio.wait_for(ws.recv(), 10)
                fail("serve took a 1 MiB /signal message")
            except websockets.ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else None
        if code != 1009:
            fail("1 MiB on /signal: close code %r, want 1009" % code)
        await lane_echo(url)
    finally:
        stop_serve(p)
    print("signal-big: closed with 1009")


async def signal_flood():
    err = tempfile.TemporaryFile()
    p, url = start_serve(stderr=err)
    try:
        # One session first: the first one that ends starts GLib's worker
        # thread ("gmain", once per process: libnice closes its agent with
        # a GTask), which is no session's.
        ws = await websockets.connect(url + "/signal")
        await ws.close()
        await asyncio.sleep(1)
        base = threads(p.pid)
        conns = [await websockets.connect(url + "/signal") for _ in range(80)]
        refused = sum(await asyncio.gather(*(refused_1013(ws) for ws in conns)))
        busy = threads(p.pid)
        for ws in conns:
            await ws.close()
        deadline = time.time() + 20
        while threads(p.pid) > base and time.time() < deadline:
            await asyncio.sleep(0.2)
        after = threads(p.pid)
        print("signal-flood: %d of 80 refused with 1013; serve threads %d -> %d -> %d" %
              (refused, base, busy, after))
        if refused != 16:
            fail("%d /signal sessions refused, want 16 (cap 64)" % refused)
        if after > base:
            fail("serve kept %d threads after every session closed" % (after - base))
        async with websockets.connect(url + "/signal") as ws:
            try:
                await asyncio.wait_for(ws.recv(), 1)
            except asyncio.TimeoutError:
                pass  # no refusal: the session is being served
    finally:
        stop_serve(p)
    # Fewer lines than refusals on stderr (at most one a second), and every
    # refusal counted in them: a line says one, "; N more refused before"
    # adds N, and the line at exit says the last ones.
    import re
    err.seek(0)
    said, lines = 0, 0
    for l in err.read().decode(errors="replace").splitlines():
        m = re.search(r"(\d+) more /signal sessions refused$", l)
        if m:
            said, lines = said + int(m.group(1)), lines + 1
        elif "/signal session refused" in l:
            m = re.search(r"; (\d+) more refused before$", l)
            said, lines = said + 1 + (int(m.group(1)) if m else 0), lines + 1
    print("signal-flood: %d stderr lines count %d refusals" % (lines, said))
    if lines >= 16:
        fail("%d stderr lines for 16 refusals: one per refused client" % lines)
    if said != 16:
        fail("stderr counts %d refusals, want 16" % said)


async def signal_reset():
    # Clients that send a /signal upgrade request and reset the connection
    # at once (SO_LINGER 0): serve reads the request, and its 101 cannot be
    # written.  Each must end as a failed handshake.  They used to become
    # sessions of a dead connection that nothing ended: 64 filled the cap,
    # every real client got 1013, and serve hung on SIGTERM.
    p, url = start_serve()
    port = int(url.rsplit(":", 1)[1])
    try:
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(ws_request("/signal"))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        await asyncio.sleep(1)
        conns = [await websockets.connect(url + "/signal") for _ in range(10)]
        refused = sum(await asyncio.gather(*(refused_1013(ws) for ws in conns)))
        for ws in conns:
            await ws.close()
        if refused:
            fail("%d of 10 /signal sessions refused (1013) after 100 reset handshakes" % refused)
    finally:
        stop_serve(p)  # fails unless serve exits 0 on SIGTERM within 10 s
    print("signal-reset: 100 reset handshakes, then 10 sessions served")


async def signal_idle():
    # serve ends a session whose peer connection is not connected within
    # --connect-timeout-ms, or whose signaling failed: 64 clients that open
    # /signal and walk away (one after sending an offer serve cannot take)
    # do not lock WebRTC out.
    p, url = start_serve("--connect-timeout-ms", "2000")
    try:
        conns = [await websockets.connect(url + "/signal") for _ in range(64)]
        await conns[0].send(json.dumps({"type": "offer", "sdp": "v=0\r\nnot an offer\r\n"}))
        t0 = time.time()
        try:
            await asyncio.wait_for(conns[0].recv(), 10)  # the error message
            await asyncio.wait_for(conns[0].recv(), 10)
            fail("a failed session stayed open")
        except websockets.ConnectionClosed as e:
            if not e.rcvd or e.rcvd.code != 1011:
                fail("failed session closed with %r, want 1011" % (e.rcvd,))
        except asyncio.TimeoutError:
            fail("a session whose signaling failed was not closed")
        async with websockets.connect(url + "/signal") as extra:
            try:
                await asyncio.wait_for(extra.recv(), 1)
                fail("a /signal message where none was due")
            except asyncio.TimeoutError:
                pass  # the freed slot serves it
        async def ended(ws):
            try:
                await asyncio.wait_for(ws.recv(), 15)
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
            except asyncio.TimeoutError:
                return "open"
            return "message"
        codes = await asyncio.gather(*(ended(ws) for ws in conns[1:]))
        took = time.time() - t0
        bad = [c for c in codes if c != 1011]
        if bad:
            fail("%d of 63 idle sessions not ended with 1011: %r" % (len(bad), bad[:5]))
        # Every slot is free again: a real session runs.
        out = subprocess.run([TOOL, "send", "--url", url, "--lane", "rtc", "--count", "3",
                              "--size", "70000"], capture_output=True, timeout=60)
        if out.returncode != 0:
            fail("send after the idle sessions ended: %s" % out.stderr.decode()[-500:])
        for ws in conns:
            await ws.close()
    finally:
        stop_serve(p)
    print("signal-idle: failed session closed with 1011, 63 idle ones ended in %.1f s, "
          "then a session served" % took)


# case name -> coroutine function (run under the signal timeout) or plain function
CASES = {
    "deep-json": deep_json,
    "deep-json-server": deep_json_server,
    "ping-flood-reading": ping_flood_reading,
    "dup-label": dup_label,
    "open-past-streams": open_past_streams,
    "bad-candidates": bad_candidates,
    "signal-reset": signal_reset,
    "ping-flood": ping_flood,
    "conn-flood": conn_flood,
    "log-flood": log_flood,
    "sctp-pin": sctp_pin,
    "big-echo-close": big_echo_close,
    "fd-exhaust": fd_exhaust,
    "signal-big": signal_big,
    "signal-flood": signal_flood,
    "signal-idle": signal_idle,
}


def main():
    signal_timeout = 120
    run = CASES.get(CASE)
    if run is None:
        fail("unknown case " + CASE)
    if asyncio.iscoroutinefunction(run):
        asyncio.run(asyncio.wait_for(run(), signal_timeout))
    else:
        run()


if __name__ == "__main__":
    main()
