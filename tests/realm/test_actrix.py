#!/usr/bin/python3
"""test_actrix.py - an independent test actrix (AIS + signaling) for libactr's tests.

Behaves like actr's testing/mock-actrix at tags v0.3.0 and v0.5.4 (see
docs/actr-realm.md section 7), written from that description, not from its code.

  AIS (HTTP/1.1, its own port)        POST /ais/register  (also /register)
                                      POST /ais/renew     (also /renew; --dialect 0.5 only)
                                      GET  /ais/health, /health -> "ok"
  signaling (WebSocket, its own port) GET  /signaling/ws  (also /), GET /signaling/health

On start it prints exactly one line to stdout and flushes it:
  listening ais=http://127.0.0.1:P1/ais signaling=ws://127.0.0.1:P2/signaling/ws
then runs until SIGTERM/SIGINT and exits 0.  Only 127.0.0.1 is ever bound.

Identity.  An Ed25519 key made at start (--fixed-key: the mock's seed, 32 x 0x2a),
key_id 1.  Serials 1, 2, 3...  IdentityClaims.actor_id is the ActrId STRING form
"<serial hex>@<realm>/<manufacturer>:<name>:<version>" in both dialects (what
actrix and the 0.5.4 mock write and what every actr verifier compares; the 0.3.0
mock wrote the decimal serial, which no real node accepts - not copied).
expires_at = now + --credential-ttl-secs (default 86400, the mock's value); a renewal's
expires_at = now + --renew-ttl-secs when given.
TURN username "<expires_at>:<serial decimal>", password "mock-turn-<serial %016x>" (with
--turn-secret S: base64(HMAC-SHA1(S, username)), what coturn --use-auth-secret checks).

What follows which tag (--dialect):
  0.3  RegisterOk carries psk "mock-psk-<serial %016x>" + psk_expires_at (now+30 d);
       no /renew (404).  Relays are forwarded as the decoded envelope re-encoded:
       same envelope_id / reply_for / trace fields, fields unknown to v0.3.0
       (SessionDescription.sdp_exchange_id, unknown fields) stripped.
  0.5  RegisterOk carries renewal_token = SHA-256("actr-mock-actrix-renewal-token-v1"
       || serial as u64 big-endian) + renewal_token_expires_at (now+1 d); /renew
       re-signs claims for the caller's existing ActrId (the mock signs a fresh
       serial there - a bug we do not copy).  Relays are wrapped in a new envelope
       (new UUID, no reply_for, trace fields copied).
  both Pong.seq = binary frames received so far (all sockets); route candidates are
       connected registry rows of the exact target type, newest first, requester's
       serial excluded, truncated to criteria.candidate_count; unregister forgets
       the rows bound to that socket (the socket stays bound, as in the mock);
       GetSigningKey answers the one key under the key_id asked; discovery and
       get_service_spec as the mock; RegisterRequest over the socket registers and
       rebinds the socket (mock); subscribe/unsubscribe/credential_update_request/
       client error reports are ignored without answer (mock).
--offer-rule mock (default): `from` offers iff from.serial < to.serial; assignment
  to `from` is {source: to, target: from}, to `to` {source: from, target: to}, empty
  credential; relay targets matched by the whole ActrId.
--offer-rule actrix: honours ?webrtc_role=answer, else `from` offers iff
  (realm, serial, manufacturer, name) of from > that of to; both assignments are
  {source: from, target: to} with the requester's credential; relay targets
  matched by (realm, serial).
--offer-rule none (a test hook): as mock, but both sides are told to answer.
SIGUSR1 (a test hook): every signaling connection is closed with 1012.

Stricter than the mock, on purpose (actrix-like, useful for catching client bugs):
  * /register errors come as HTTP 200 + RegisterResponse.error like the real AIS:
    400 "Invalid protobuf: ..." (also for missing required fields or invalid type
    names), 403 "Realm secret required" / "Invalid realm secret" (--realm-secret).
    /renew: HTTP 400 (bad body, token not 32 bytes), 401 (unknown id / bad token).
  * WebSocket upgrade needs actor_id, key_id, claims, signature (form-urlencoded,
    standard base64): key known, 64-byte signature valid over the claims bytes,
    expires_at > now, claims.realm_id == realm of actor_id, claims.actor_id ==
    actor_id (canonical form) -> else HTTP 401 with the reason as body.
  * every actr_to_server: same checks on its credential against `source`, else
    server_to_actr.error{401, "Credential validation failed: ..."} (reply_for set):
    an expired credential on a heartbeat gets this 401, as actrix does.
  * every relay: credential checked (401), claims.actor_id == source (403); a relay
    whose source is not the identity bound to the sending socket is dropped silently
    (actrix); unknown target -> server_to_actr.error{404} (the mock drops silently).
  * undecodable frame, missing required fields, no flow/payload ->
    envelope_error{400} (reply_for = envelope_id when known); the socket stays open.
  * frames above 1 MiB: the WebSocket library closes with 1009.  Text frames ignored.
Left out: MFR/package/admin routes, CORS, ACLs, rate limits, ActrUp events,
credential_warning, closing displaced sockets (1008), the mock's test hooks.

Self-test: --self-test runs the whole thing in-process over 127.0.0.1 for
(0.5, mock), (0.3, mock) and (0.5, actrix) and exits 0 when every check passes.
Needs: python3-websockets (10.4), python3-protobuf, python3-cryptography, protoc.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import http
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import websockets
from websockets.legacy.server import WebSocketServerProtocol, serve as ws_serve
from websockets.legacy.client import connect as ws_connect
from google.protobuf.message import DecodeError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "src", "proto"))
MAX_MSG = 1 << 20
MOCK_KEY_SEED = b"\x2a" * 32
RENEWAL_TAG = b"actr-mock-actrix-renewal-token-v1"
log = logging.getLogger("test_actrix")
A = S = W = None  # generated modules actr_pb2, signaling_pb2, webrtc_pb2


def load_protos():
    """protoc our .proto files into a temp dir and import them.  Timestamp is not
    generated: the code imports python3-protobuf's own timestamp_pb2 (same file
    name, package, fields), which avoids a clash in the default descriptor pool."""
    global A, S, W
    tmp = tempfile.mkdtemp(prefix="test-actrix-pb-")
    try:
        subprocess.run(["protoc", "--python_out=" + tmp, "-I", PROTO_DIR, "actr/actr.proto",
                        "actr/webrtc.proto", "actr/signaling.proto"], check=True)
        sys.path.insert(0, tmp)
        from actr import actr_pb2, signaling_pb2, webrtc_pb2
        A, S, W = actr_pb2, signaling_pb2, webrtc_pb2
    finally:
        if tmp in sys.path:
            sys.path.remove(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# ActrId / ActrType string forms (docs/actr-realm.md section 2)
# ---------------------------------------------------------------------------

def now():
    return int(time.time())


def type_str(t):
    return f"{t.manufacturer}:{t.name}:{t.version}"


def id_str(a):
    return f"{a.serial_number:x}@{a.realm.realm_id}/{type_str(a.type)}"


def id_tuple(a):
    t = a.type
    return (a.realm.realm_id, a.serial_number, t.manufacturer, t.name, t.version)


def type_tuple(t):
    return (t.manufacturer, t.name, t.version)


def valid_name(s):
    return (0 < len(s.encode()) <= 32 and s[0].isalpha() and s[-1].isalnum()
            and all(c.isalnum() or c in "-_." for c in s))


def check_type(t):
    """Raise ValueError unless t survives actr's ActrType string round trip."""
    for what, v in (("manufacturer", t.manufacturer), ("name", t.name)):
        if not valid_name(v):
            raise ValueError(f"invalid {what} {v!r}")
    if not t.version or ":" in t.version:
        raise ValueError(f"invalid version {t.version!r}")


HEX_RE = re.compile(r"\+?[0-9A-Fa-f]+\Z")
DEC_RE = re.compile(r"\+?[0-9]+\Z")


def parse_id_str(s):
    serial, sep, rest = s.partition("@")
    if not sep:
        raise ValueError("missing '@'")
    realm, sep, tpart = rest.partition("/")
    if not sep:
        raise ValueError("missing '/'")
    if not HEX_RE.match(serial) or int(serial, 16) >= 1 << 64:
        raise ValueError(f"invalid serial {serial!r}")
    if not DEC_RE.match(realm) or int(realm) >= 1 << 32:
        raise ValueError(f"invalid realm {realm!r}")
    parts = tpart.split(":", 3)
    if len(parts) != 3:
        raise ValueError(f"invalid type {tpart!r}")
    a = A.ActrId(serial_number=int(serial, 16))
    a.realm.realm_id = int(realm)
    a.type.manufacturer, a.type.name, a.type.version = parts
    check_type(a.type)
    return a


def decode(cls, data):
    """Parse and insist on proto2 required fields (python's parser does not)."""
    m = cls()
    m.ParseFromString(data)
    missing = m.FindInitializationErrors()
    if missing:
        raise DecodeError("missing required fields: " + ", ".join(missing))
    return m


def describe(env):
    """Short one-line form of a SignalingEnvelope for --verbose."""
    flow = env.WhichOneof("flow")
    s = f"{env.envelope_id} {flow}"
    if flow in ("actr_to_server", "server_to_actr", "peer_to_server", "actr_relay"):
        m = getattr(env, flow)
        kind = m.WhichOneof("payload")
        s += f".{kind}"
        if flow == "actr_to_server":
            s += f" src={id_str(m.source)}"
        elif flow == "server_to_actr":
            s += f" target={id_str(m.target)}"
            if kind == "error":
                s += f" code={m.error.code} {m.error.message!r}"
        elif flow == "actr_relay":
            s += f" {id_str(m.source)} -> {id_str(m.target)}"
    elif flow == "envelope_error":
        s += f" code={env.envelope_error.code} {env.envelope_error.message!r}"
    if env.HasField("reply_for"):
        s += f" reply_for={env.reply_for}"
    return s


class CredentialError(Exception):
    pass


class Row:
    """A registry row (the mock's RegisteredActor)."""
    def __init__(self, actr_id, ws_address=None, spec=None, conn=None):
        self.actr_id, self.ws_address, self.spec, self.conn = actr_id, ws_address, spec, conn


class Conn:
    """One signaling WebSocket; actr_id is the identity it is bound to (or None)."""
    def __init__(self, ws, n):
        self.ws, self.n, self.actr_id = ws, n, ws.identity
        self.role = ws.webrtc_role
        self.queue = asyncio.Queue()


class SignalingProtocol(WebSocketServerProtocol):
    actrix = None  # set on a per-server subclass

    async def process_request(self, path, request_headers):
        return self.actrix.ws_gate(self, path)


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------

class Actrix:
    def __init__(self, opts):
        self.dialect, self.offer_rule = opts.dialect, opts.offer_rule
        self.realm_secret = opts.realm_secret
        self.hb, self.ttl = opts.heartbeat_secs, opts.credential_ttl_secs
        self.renew_ttl = getattr(opts, "renew_ttl_secs", None)  # None: the same as ttl
        self.turn_secret = getattr(opts, "turn_secret", None)
        self.opts = opts
        self.sk = (Ed25519PrivateKey.from_private_bytes(MOCK_KEY_SEED) if opts.fixed_key
                   else Ed25519PrivateKey.generate())
        self.pk = self.sk.public_key()
        self.pub = self.pk.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = 1
        self.next_serial = 1
        self.issued = {}   # serial -> ActrId, for /renew
        self.ais_requests = 0  # AIS requests answered (--ais-hang-after)
        self.rows = []     # registration order
        self.conns = set()
        self.frames = 0
        self.conn_seq = 0
        self.http_writers = set()

    # -- lifecycle ----------------------------------------------------------
    async def start(self, ais_port=0, ws_port=0):
        self.http_server = await asyncio.start_server(self.http_conn, "127.0.0.1", ais_port)
        self.ais_port = self.http_server.sockets[0].getsockname()[1]
        proto = type("BoundSignalingProtocol", (SignalingProtocol,), {"actrix": self})
        tls = None
        if getattr(self.opts, "tls_cert", None):  # wss:// signaling
            import ssl
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(self.opts.tls_cert, self.opts.tls_key)
        self.ws_server = await ws_serve(self.ws_handler, "127.0.0.1", ws_port, create_protocol=proto,
                                        max_size=MAX_MSG, ping_interval=None, compression=None,
                                        ssl=tls)
        self.ws_port = self.ws_server.sockets[0].getsockname()[1]

    async def stop(self):
        self.ws_server.close()
        self.http_server.close()
        for w in list(self.http_writers):
            w.close()
        await self.ws_server.wait_closed()
        await self.http_server.wait_closed()

    # -- identity -----------------------------------------------------------
    def renewal_token(self, serial):
        return hashlib.sha256(RENEWAL_TAG + serial.to_bytes(8, "big")).digest()

    def make_credential(self, actr_id, expires_at):
        claims = A.IdentityClaims(realm_id=actr_id.realm.realm_id, actor_id=id_str(actr_id),
                                  expires_at=expires_at).SerializeToString()
        return A.AIdCredential(key_id=self.key_id, claims=claims, signature=self.sk.sign(claims))

    def issue(self, actr_id, ttl=None):
        t = now()
        exp = t + (self.ttl if ttl is None else ttl)
        serial = actr_id.serial_number
        ok = A.RegisterResponse.RegisterOk(signaling_heartbeat_interval_secs=self.hb,
                                           signing_pubkey=self.pub, signing_key_id=self.key_id)
        ok.actr_id.CopyFrom(actr_id)
        ok.credential.CopyFrom(self.make_credential(actr_id, exp))
        ok.turn_credential.username = f"{exp}:{serial}"
        if self.turn_secret:  # coturn's use-auth-secret (TURN REST API)
            mac = hmac.new(self.turn_secret.encode(), ok.turn_credential.username.encode(),
                           hashlib.sha1).digest()
            ok.turn_credential.password = base64.b64encode(mac).decode()
        else:
            ok.turn_credential.password = f"mock-turn-{serial:016x}"
        ok.turn_credential.expires_at = exp
        ok.credential_expires_at.seconds = exp
        if self.dialect == "0.3":
            ok.psk = f"mock-psk-{serial:016x}".encode()
            ok.psk_expires_at = t + 30 * 86400
        else:
            ok.renewal_token = self.renewal_token(serial)
            ok.renewal_token_expires_at.seconds = t + 86400
        return ok

    def register(self, req):
        check_type(req.actr_type)
        aid = A.ActrId(serial_number=self.next_serial)
        self.next_serial += 1
        aid.realm.realm_id = req.realm.realm_id
        aid.type.CopyFrom(req.actr_type)
        other = getattr(self.opts, "answer_type", None)
        if other:  # a misbehaving AIS: registers another type than asked
            aid.type.manufacturer, aid.type.name, aid.type.version = other.split(":")
        self.issued[aid.serial_number] = aid
        spec = req.service_spec if req.HasField("service_spec") else None
        self.rows.append(Row(aid, req.ws_address if req.HasField("ws_address") else None, spec))
        return self.issue(aid)

    def verify(self, cred, actr_id):
        """actrix's order: key, signature, claims, expiry, realm; plus actor_id."""
        if cred.key_id != self.key_id:
            raise CredentialError(f"unknown key_id {cred.key_id}")
        if len(cred.signature) != 64:
            raise CredentialError(f"signature is {len(cred.signature)} bytes, not 64")
        try:
            self.pk.verify(cred.signature, cred.claims)
        except InvalidSignature:
            raise CredentialError("Ed25519 signature does not verify over claims") from None
        try:
            claims = decode(A.IdentityClaims, cred.claims)
        except DecodeError as e:
            raise CredentialError(f"undecodable claims: {e}") from None
        if claims.expires_at <= now():
            raise CredentialError(f"credential expired (expires_at {claims.expires_at})")
        if claims.realm_id != actr_id.realm.realm_id:
            raise CredentialError(f"claims realm {claims.realm_id} != {actr_id.realm.realm_id}")
        return claims

    # -- AIS over HTTP --------------------------------------------------------
    async def http_conn(self, reader, writer):
        self.http_writers.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                parts = line.decode("latin-1").split()
                if len(parts) != 3:
                    await self.http_reply(writer, 400, b"bad request line\n", "text/plain", False)
                    break
                method, target, version = parts
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    if len(headers) > 100:
                        raise ValueError("too many headers")
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                conn_hdr = headers.get("connection", "").lower()
                keep = (conn_hdr != "close") if version == "HTTP/1.1" else (conn_hdr == "keep-alive")
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    await self.http_reply(writer, 411, b"Content-Length required\n", "text/plain", False)
                    break
                clen = headers.get("content-length", "0")
                if not clen.isdigit() or int(clen) > MAX_MSG:
                    await self.http_reply(writer, 413, b"body too large or bad length\n", "text/plain", False)
                    break
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = await reader.readexactly(int(clen))
                hang = getattr(self.opts, "ais_hang_after", None)
                if hang is not None and self.ais_requests >= hang:  # an AIS that hangs
                    log.info("http %s %s: held, never answered (--ais-hang-after)", method, target)
                    await asyncio.Event().wait()
                self.ais_requests += 1
                status, ctype, payload = self.http_route(method, urllib.parse.urlsplit(target).path,
                                                         headers, body)
                log.info("http %s %s -> %d", method, target, status)
                await self.http_reply(writer, status, payload, ctype, keep)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, UnicodeError):
            pass
        except Exception:
            log.exception("AIS: internal error")
        finally:
            self.http_writers.discard(writer)
            writer.close()

    async def http_reply(self, writer, status, body, ctype, keep):
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                  405: "Method Not Allowed", 411: "Length Required", 413: "Payload Too Large"}
        writer.write((f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n"
                      f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                      f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n").encode() + body)
        await writer.drain()

    def http_route(self, method, path, headers, body):
        pb = "application/x-protobuf"
        routes = {"/register": "register", "/renew": "renew", "/health": "health"}
        for prefix in ("/ais", ""):
            if path.startswith(prefix) and path[len(prefix):] in routes:
                what = routes[path[len(prefix):]]
                break
        else:
            return 404, "text/plain", b"not found\n"
        if what == "renew" and self.dialect == "0.3":
            return 404, "text/plain", b"not found (no /renew in 0.3)\n"
        want = "GET" if what == "health" else "POST"
        if method != want:
            return 405, "text/plain", b"method not allowed\n"
        if what == "health":
            return 200, "text/plain", b"ok"
        if what == "register":
            return 200, pb, self.ais_register(headers, body).SerializeToString()
        status, resp = self.ais_renew(body)
        return status, pb, resp.SerializeToString()

    def ais_register(self, headers, body):
        resp = A.RegisterResponse()
        try:
            req = decode(A.RegisterRequest, body)
        except DecodeError as e:
            resp.error.code, resp.error.message = 400, f"Invalid protobuf: {e}"
            return resp
        if self.realm_secret is not None:
            got = headers.get("x-actrix-realm-secret", "").strip()
            if not got:
                resp.error.code, resp.error.message = 403, "Realm secret required"
                return resp
            if not hmac.compare_digest(got.encode(), self.realm_secret.encode()):
                resp.error.code, resp.error.message = 403, "Invalid realm secret"
                return resp
        try:
            resp.success.CopyFrom(self.register(req))
        except ValueError as e:
            resp.error.code, resp.error.message = 400, f"Invalid protobuf: actr_type: {e}"
        return resp

    def ais_renew(self, body):
        resp = A.RenewCredentialResponse()
        try:
            req = decode(A.RenewCredentialRequest, body)
        except DecodeError as e:
            resp.error.code, resp.error.message = 400, f"Invalid protobuf: {e}"
            return 400, resp
        if len(req.renewal_token) != 32:
            resp.error.code, resp.error.message = 400, "Invalid renewal token length"
            return 400, resp
        known = self.issued.get(req.actr_id.serial_number)
        if (known is None or id_tuple(known) != id_tuple(req.actr_id) or not hmac.compare_digest(
                req.renewal_token, self.renewal_token(known.serial_number))):
            resp.error.code, resp.error.message = 401, "Renewal token invalid or expired"
            return 401, resp
        resp.success.CopyFrom(self.issue(known, self.renew_ttl))
        return 200, resp

    # -- signaling: upgrade ---------------------------------------------------
    def ws_gate(self, proto, path):
        """process_request hook: None = go on with the upgrade, else an HTTP answer."""
        u = urllib.parse.urlsplit(path)
        if u.path in ("/signaling/health", "/health"):
            return http.HTTPStatus.OK, [("Content-Type", "text/plain")], b"ok"
        if u.path not in ("/signaling/ws", "/"):
            return http.HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"not found\n"
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        try:
            for k in ("actor_id", "key_id", "claims", "signature"):
                if k not in q:
                    raise ValueError(f"missing {k}")
            aid = parse_id_str(q["actor_id"])
            if not DEC_RE.match(q["key_id"]) or int(q["key_id"]) >= 1 << 32:
                raise ValueError("invalid key_id")
            cred = A.AIdCredential(key_id=int(q["key_id"]),
                                   claims=base64.b64decode(q["claims"], validate=True),
                                   signature=base64.b64decode(q["signature"], validate=True))
            claims = self.verify(cred, aid)
            if claims.actor_id != id_str(aid):
                raise CredentialError(f"claims.actor_id {claims.actor_id!r} != actor_id {id_str(aid)!r}")
        except (ValueError, CredentialError) as e:  # binascii.Error is a ValueError
            log.warning("signaling: refused upgrade (401): %s", e)
            return http.HTTPStatus.UNAUTHORIZED, [("Content-Type", "text/plain")], f"unauthorized: {e}\n".encode()
        proto.identity, proto.webrtc_role = aid, q.get("webrtc_role")
        return None

    async def ws_handler(self, ws):
        self.conn_seq += 1
        conn = Conn(ws, self.conn_seq)
        self.conns.add(conn)
        self.bind(conn, conn.actr_id)
        log.info("conn#%d: open, bound to %s", conn.n, id_str(conn.actr_id))
        writer = asyncio.create_task(self.ws_writer(conn))
        try:
            async for msg in ws:
                if isinstance(msg, str):
                    log.info("conn#%d: text frame ignored", conn.n)
                    continue
                self.frames += 1
                try:
                    self.on_frame(conn, msg)
                except Exception:
                    log.exception("conn#%d: internal error", conn.n)
                    self.envelope_error(conn, None, 500, "internal error in test actrix")
        except websockets.ConnectionClosed:
            pass
        finally:
            log.info("conn#%d: closed", conn.n)
            self.conns.discard(conn)
            conn.actr_id = None
            for row in self.rows:
                if row.conn is conn:
                    row.conn = None
            await asyncio.sleep(0)  # let the writer flush what is queued
            writer.cancel()

    async def ws_writer(self, conn):
        try:
            while True:
                await conn.ws.send(await conn.queue.get())
        except websockets.ConnectionClosed:
            pass

    def bind(self, conn, aid):
        """Mock binding: the first row with that ActrId gets this socket (a row is
        created if none), and any other socket bound to that ActrId loses it."""
        for row in self.rows:
            if id_tuple(row.actr_id) == id_tuple(aid):
                row.conn = conn
                break
        else:
            self.rows.append(Row(aid, conn=conn))
        for other in self.conns:
            if other is not conn and other.actr_id is not None and id_tuple(other.actr_id) == id_tuple(aid):
                log.info("conn#%d: loses its binding to %s", other.n, id_str(aid))
                other.actr_id = None
        conn.actr_id = aid

    def find_conn(self, aid, by_serial=False):
        key = (lambda a: id_tuple(a)[:2]) if by_serial else id_tuple
        for c in self.conns:
            if c.actr_id is not None and key(c.actr_id) == key(aid):
                return c
        return None

    # -- signaling: sending ---------------------------------------------------
    def new_envelope(self, reply_for=None):
        env = S.SignalingEnvelope(envelope_version=1, envelope_id=str(uuid.uuid4()))
        if reply_for is not None:
            env.reply_for = reply_for
        env.timestamp.seconds = now()
        return env

    def send(self, conn, env):
        log.info("conn#%d -> %s", conn.n, describe(env))
        conn.queue.put_nowait(env.SerializeToString())

    def reply(self, conn, req, target, field, msg):
        env = self.new_envelope(req.envelope_id)
        env.server_to_actr.target.CopyFrom(target)
        getattr(env.server_to_actr, field).CopyFrom(msg)
        self.send(conn, env)

    def error_to_actr(self, conn, req, target, code, message):
        log.warning("conn#%d: error %d to %s: %s", conn.n, code, id_str(target), message)
        self.reply(conn, req, target, "error", A.ErrorResponse(code=code, message=message))

    def envelope_error(self, conn, reply_for, code, message):
        log.warning("conn#%d: envelope_error %d: %s", conn.n, code, message)
        env = self.new_envelope(reply_for)
        env.envelope_error.code, env.envelope_error.message = code, message
        self.send(conn, env)

    # -- signaling: receiving -------------------------------------------------
    def on_frame(self, conn, data):
        env = S.SignalingEnvelope()
        try:
            env.ParseFromString(data)
        except DecodeError as e:
            return self.envelope_error(conn, None, 400, f"undecodable SignalingEnvelope: {e}")
        missing = env.FindInitializationErrors()
        if missing:
            return self.envelope_error(conn, env.envelope_id or None, 400,
                                       "missing required fields: " + ", ".join(missing))
        log.info("conn#%d <- %s", conn.n, describe(env))
        flow = env.WhichOneof("flow")
        if flow == "actr_to_server":
            self.on_actr_to_server(conn, env)
        elif flow == "actr_relay":
            self.on_relay(conn, env)
        elif flow == "peer_to_server":
            self.on_peer_to_server(conn, env)
        elif flow == "envelope_error":
            log.info("conn#%d: client envelope_error ignored", conn.n)
        else:
            self.envelope_error(conn, env.envelope_id, 400, f"unexpected flow {flow} from a client")

    def on_peer_to_server(self, conn, env):
        if env.peer_to_server.WhichOneof("payload") != "register_request":
            return self.envelope_error(conn, env.envelope_id, 400, "PeerToSignaling without payload")
        resp = A.RegisterResponse()
        target = parse_id_str("0@0/temp:temp:1.0.0")
        if self.realm_secret is not None:
            resp.error.code, resp.error.message = 403, "Realm secret required"
        else:
            try:
                ok = self.register(env.peer_to_server.register_request)
                resp.success.CopyFrom(ok)
                target = ok.actr_id
                self.bind(conn, ok.actr_id)
            except ValueError as e:
                resp.error.code, resp.error.message = 400, f"Invalid protobuf: actr_type: {e}"
        self.reply(conn, env, target, "register_response", resp)

    def on_actr_to_server(self, conn, env):
        m = env.actr_to_server
        src = m.source
        try:
            claims = self.verify(m.credential, src)
            if claims.actor_id != id_str(src):
                raise CredentialError(f"claims.actor_id {claims.actor_id!r} != source {id_str(src)!r}")
        except CredentialError as e:
            return self.error_to_actr(conn, env, src, 401, f"Credential validation failed: {e}")
        kind = m.WhichOneof("payload")
        if kind == "ping":
            self.reply(conn, env, src, "pong", A.Pong(seq=self.frames, suggest_interval_secs=self.hb))
        elif kind == "route_candidates_request":
            req = m.route_candidates_request
            rows = [r for r in reversed(self.rows)
                    if r.conn is not None and type_tuple(r.actr_id.type) == type_tuple(req.target_type)
                    and r.actr_id.serial_number != src.serial_number]
            if req.HasField("criteria"):
                rows = rows[:req.criteria.candidate_count]
            resp = A.RouteCandidatesResponse()
            resp.success.SetInParent()
            for r in rows:
                resp.success.candidates.add().CopyFrom(r.actr_id)
                if r.ws_address is not None:
                    e = resp.success.ws_address_map.add(ws_address=r.ws_address)
                    e.candidate_id.CopyFrom(r.actr_id)
            delay = getattr(self.opts, "discover_delay_ms", 0) or 0
            if delay:  # a slow actrix (test_node's call-by-type-within-timeout)
                asyncio.get_event_loop().call_later(delay / 1000, self.reply, conn, env, src,
                                                    "route_candidates_response", resp)
            else:
                self.reply(conn, env, src, "route_candidates_response", resp)
        elif kind == "unregister_request":
            self.rows = [r for r in self.rows if r.conn is not conn]
            resp = A.UnregisterResponse()
            resp.success.SetInParent()
            self.reply(conn, env, src, "unregister_response", resp)
        elif kind == "get_signing_key_request":
            if getattr(self.opts, "key_hang", False):
                return  # a key asked for is never answered (test_node's key-fetch-cancelled)
            self.reply(conn, env, src, "get_signing_key_response",
                       S.GetSigningKeyResponse(key_id=m.get_signing_key_request.key_id, pubkey=self.pub))
        elif kind == "discovery_request":
            resp = A.DiscoveryResponse()
            resp.success.SetInParent()
            want = m.discovery_request
            for r in self.rows:
                if want.HasField("manufacturer") and r.actr_id.type.manufacturer != want.manufacturer:
                    continue
                e = resp.success.entries.add(name=r.spec.name if r.spec else r.actr_id.type.name,
                                             service_fingerprint=r.spec.fingerprint if r.spec else "")
                e.actr_type.CopyFrom(r.actr_id.type)
                if r.spec is not None:
                    if r.spec.HasField("description"):
                        e.description = r.spec.description
                    if r.spec.HasField("published_at"):
                        e.published_at = r.spec.published_at
                    e.tags.extend(r.spec.tags)
            self.reply(conn, env, src, "discovery_response", resp)
        elif kind == "get_service_spec_request":
            name = m.get_service_spec_request.name
            resp = A.GetServiceSpecResponse()
            spec = next((r.spec for r in self.rows if r.spec is not None and r.spec.name == name), None)
            if spec is not None:
                resp.success.CopyFrom(spec)
            else:
                resp.error.code, resp.error.message = 404, f"service '{name}' not found"
            self.reply(conn, env, src, "get_service_spec_response", resp)
        elif kind is None:
            self.error_to_actr(conn, env, src, 400, "ActrToSignaling without payload")
        else:  # subscribe/unsubscribe, credential_update_request [0.3], error: the mock ignores them
            log.info("conn#%d: %s ignored (no answer, as mock-actrix)", conn.n, kind)

    def on_relay(self, conn, env):
        r = env.actr_relay
        src = r.source
        try:
            claims = self.verify(r.credential, src)
        except CredentialError as e:
            return self.error_to_actr(conn, env, src, 401, f"Credential validation failed: {e}")
        if claims.actor_id != id_str(src):
            return self.error_to_actr(conn, env, src, 403,
                                      "Source identity mismatch: relay.source does not match credential")
        if conn.actr_id is None or id_tuple(conn.actr_id) != id_tuple(src):
            log.warning("conn#%d: relay from %s dropped: socket not bound to it", conn.n, id_str(src))
            return
        kind = r.WhichOneof("payload")
        if kind is None:
            return self.error_to_actr(conn, env, src, 400, "ActrRelay without payload")
        if kind == "role_negotiation":
            return self.negotiate(conn, r)
        by_serial = self.offer_rule == "actrix"
        dest = self.find_conn(r.target, by_serial)
        if dest is None:
            return self.error_to_actr(conn, env, src, 404,
                                      f"relay target {id_str(r.target)} is not connected; dropped")
        if self.dialect == "0.5":
            out = self.new_envelope()
            out.actr_relay.CopyFrom(r)
            for f in ("traceparent", "tracestate"):
                if env.HasField(f):
                    setattr(out, f, getattr(env, f))
        else:
            out = S.SignalingEnvelope()
            out.CopyFrom(env)
            if kind == "session_description":
                out.actr_relay.session_description.ClearField("sdp_exchange_id")  # not in v0.3.0
        out.DiscardUnknownFields()
        self.send(dest, out)

    def negotiate(self, conn, r):
        rn = r.role_negotiation
        frm, to = getattr(rn, "from"), rn.to

        def assignment(source, target, cred, is_offerer):
            env = self.new_envelope()
            env.actr_relay.source.CopyFrom(source)
            env.actr_relay.target.CopyFrom(target)
            env.actr_relay.credential.CopyFrom(cred)
            env.actr_relay.role_assignment.is_offerer = is_offerer
            return env

        if self.offer_rule in ("mock", "none"):
            from_offers = frm.serial_number < to.serial_number
            # "none" (a test hook): both sides are told to answer, so each
            # must fall back to offering after its wait.
            to_offers = not from_offers and self.offer_rule == "mock"
            from_offers = from_offers and self.offer_rule == "mock"
            empty = A.AIdCredential(key_id=0, claims=b"", signature=b"")
            self.send(self.find_conn(frm) or conn, assignment(to, frm, empty, from_offers))
            to_conn = self.find_conn(to)
            if to_conn is not None:
                self.send(to_conn, assignment(frm, to, empty, to_offers))
            else:
                log.warning("role negotiation: %s has no bound socket", id_str(to))
            return
        roles = [getattr(self.find_conn(a), "role", None) for a in (frm, to)]
        if roles[0] == "answer" and roles[1] != "answer":
            from_offers = False
        elif roles[1] == "answer" and roles[0] != "answer":
            from_offers = True
        else:
            from_offers = id_tuple(frm)[:4] > id_tuple(to)[:4]
        for who, is_off in ((frm, from_offers), (to, not from_offers)):
            dest = self.find_conn(who, by_serial=True)
            if dest is not None:
                self.send(dest, assignment(frm, to, r.credential, is_off))


# ---------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------

class Client:
    def __init__(self, ws, ok):
        self.ws, self.id, self.cred, self.n = ws, ok.actr_id, ok.credential, 0

    @staticmethod
    def url(sig, ok, actor_id=None):
        q = urllib.parse.urlencode([("actor_id", actor_id or id_str(ok.actr_id)),
                                    ("key_id", str(ok.credential.key_id)),
                                    ("claims", base64.b64encode(ok.credential.claims).decode()),
                                    ("signature", base64.b64encode(ok.credential.signature).decode())])
        return f"{sig}?{q}"

    def envelope(self, reply_for=None):
        self.n += 1
        env = S.SignalingEnvelope(envelope_version=1, envelope_id=f"env-{self.n}")
        env.timestamp.seconds = now()
        if reply_for is not None:
            env.reply_for = reply_for
        return env

    async def recv(self, timeout=3.0):
        return decode(S.SignalingEnvelope, await asyncio.wait_for(self.ws.recv(), timeout))

    async def request(self, field, msg, cred=None):
        env = self.envelope()
        env.actr_to_server.source.CopyFrom(self.id)
        env.actr_to_server.credential.CopyFrom(cred or self.cred)
        getattr(env.actr_to_server, field).CopyFrom(msg)
        await self.ws.send(env.SerializeToString())
        rep = await self.recv()
        assert rep.reply_for == env.envelope_id, f"reply_for {rep.reply_for!r} != {env.envelope_id!r}"
        return rep

    async def relay(self, target, field, msg, reply_for=None):
        env = self.envelope(reply_for)
        env.actr_relay.source.CopyFrom(self.id)
        env.actr_relay.credential.CopyFrom(self.cred)
        env.actr_relay.target.CopyFrom(target)
        getattr(env.actr_relay, field).CopyFrom(msg)
        await self.ws.send(env.SerializeToString())
        return env


def http_post(url, body, headers=None):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-protobuf", "Accept": "application/x-protobuf", **(headers or {})})
    try:
        with opener.open(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


async def scenario(dialect, offer_rule):
    checks = 0

    def check(cond, what):
        nonlocal checks
        if not cond:
            raise AssertionError(f"[dialect {dialect}, offer-rule {offer_rule}] {what}")
        checks += 1

    secret = "selftest-secret"
    ax = Actrix(argparse.Namespace(dialect=dialect, offer_rule=offer_rule, realm_secret=secret,
                                   heartbeat_secs=30, credential_ttl_secs=3600, fixed_key=False))
    await ax.start()
    ais, sig = f"http://127.0.0.1:{ax.ais_port}/ais", f"ws://127.0.0.1:{ax.ws_port}/signaling/ws"
    clients = []
    try:
        async def register(name, hdrs):
            req = A.RegisterRequest(auth_mode=A.REGISTER_AUTH_MODE_LINKED)
            req.actr_type.manufacturer, req.actr_type.name, req.actr_type.version = "acme", name, "1.0.0"
            req.realm.realm_id = 101
            st, body = await asyncio.to_thread(http_post, ais + "/register", req.SerializeToString(), hdrs)
            check(st == 200, f"register HTTP status {st}")
            return A.RegisterResponse.FromString(body)

        good = {"x-actrix-realm-secret": secret}
        st, body = await asyncio.to_thread(http_post, ais + "/register", b"\xff\xff", good)
        check(st == 200 and A.RegisterResponse.FromString(body).error.code == 400, "bad body -> error 400")
        r = await register("echo-client", {})
        check(r.error.code == 403 and r.error.message == "Realm secret required", "no secret -> 403")
        r = await register("echo-client", {"x-actrix-realm-secret": "nope"})
        check(r.error.code == 403 and r.error.message == "Invalid realm secret", "wrong secret -> 403")
        a = (await register("echo-client", good)).success
        b = (await register("echo-service", good)).success
        check((a.actr_id.serial_number, b.actr_id.serial_number) == (1, 2), "serials 1, 2")
        claims = A.IdentityClaims.FromString(a.credential.claims)
        check(claims.actor_id == "1@101/acme:echo-client:1.0.0", f"claims.actor_id {claims.actor_id!r}")
        ax.pk.verify(a.credential.signature, a.credential.claims)  # raises if wrong
        check(a.signing_pubkey == ax.pub and len(a.signing_pubkey) == 32 and a.signing_key_id == 1,
              "signing key in RegisterOk")
        check(a.signaling_heartbeat_interval_secs == 30, "heartbeat interval")
        if dialect == "0.5":
            check(len(a.renewal_token) == 32 and not a.HasField("psk"), "0.5: renewal_token, no psk")
        else:
            check(a.HasField("psk") and not a.HasField("renewal_token"), "0.3: psk, no renewal_token")

        async def refused(url):
            try:
                ws = await ws_connect(url)
            except websockets.exceptions.InvalidStatusCode as e:
                return e.status_code
            await ws.close()
            return None

        bad = A.RegisterResponse.RegisterOk()
        bad.CopyFrom(a)
        bad.credential.signature = bytes([a.credential.signature[0] ^ 1]) + a.credential.signature[1:]
        check(await refused(Client.url(sig, bad)) == 401, "bad signature -> 401")
        check(await refused(Client.url(sig, a, id_str(b.actr_id))) == 401, "foreign actor_id -> 401")
        expired = A.RegisterResponse.RegisterOk()
        expired.CopyFrom(a)
        expired.credential.CopyFrom(ax.make_credential(a.actr_id, now() - 10))
        check(await refused(Client.url(sig, expired)) == 401, "expired credential -> 401")
        check(await refused(sig) == 401, "no query -> 401")

        role = "answer" if offer_rule == "actrix" else None
        ca = Client(await ws_connect(Client.url(sig, a) + ("&webrtc_role=answer" if role else "")), a)
        cb = Client(await ws_connect(Client.url(sig, b)), b)
        clients += [ca, cb]

        rep = await ca.request("ping", A.Ping(availability=A.FULL, power_reserve=5.0, mailbox_backlog=0.0))
        check(rep.server_to_actr.WhichOneof("payload") == "pong", "ping -> pong")
        check(id_tuple(rep.server_to_actr.target) == id_tuple(a.actr_id), "pong target")

        req = A.RouteCandidatesRequest(client_fingerprint="")
        req.target_type.CopyFrom(b.actr_id.type)
        req.criteria.candidate_count = 3
        rep = await ca.request("route_candidates_request", req)
        got = [id_tuple(c) for c in rep.server_to_actr.route_candidates_response.success.candidates]
        check(got == [id_tuple(b.actr_id)], f"route candidates {got}")
        req.target_type.CopyFrom(a.actr_id.type)
        rep = await ca.request("route_candidates_request", req)
        check(rep.server_to_actr.route_candidates_response.HasField("success")
              and not rep.server_to_actr.route_candidates_response.success.candidates,
              "requester excluded from its own type")

        rep = await ca.request("get_signing_key_request", S.GetSigningKeyRequest(key_id=1))
        check(rep.server_to_actr.get_signing_key_response.pubkey == ax.pub, "signing key")

        rn = A.RoleNegotiation(realm_id=101, to=b.actr_id, **{"from": a.actr_id})
        await ca.relay(b.actr_id, "role_negotiation", rn)
        ea, eb = (await ca.recv()).actr_relay, (await cb.recv()).actr_relay
        a_offers = offer_rule == "mock"  # mock: serial 1 < 2; actrix: a asked to answer
        check(ea.role_assignment.is_offerer == a_offers and eb.role_assignment.is_offerer != a_offers,
              "role assignment")
        if offer_rule == "mock":
            check(id_tuple(ea.source) == id_tuple(b.actr_id) and id_tuple(ea.target) == id_tuple(a.actr_id)
                  and ea.credential.claims == b"", "mock assignment shape")
        else:
            check(id_tuple(ea.source) == id_tuple(a.actr_id) and id_tuple(eb.target) == id_tuple(b.actr_id)
                  and ea.credential.claims == a.credential.claims, "actrix assignment shape")

        sd = W.SessionDescription(type=W.SessionDescription.OFFER, sdp="v=0\r\n", sdp_exchange_id="x-1")
        sent = await ca.relay(b.actr_id, "session_description", sd, reply_for="hop-1")
        got = await cb.recv()
        gsd = got.actr_relay.session_description
        check(gsd.sdp == "v=0\r\n" and id_tuple(got.actr_relay.source) == id_tuple(a.actr_id), "offer relayed")
        if dialect == "0.5":
            check(got.envelope_id != sent.envelope_id and not got.HasField("reply_for")
                  and gsd.sdp_exchange_id == "x-1", "0.5: new envelope, sdp_exchange_id kept")
        else:
            check(got.envelope_id == sent.envelope_id and got.reply_for == "hop-1"
                  and not gsd.HasField("sdp_exchange_id"), "0.3: same envelope, sdp_exchange_id stripped")

        ghost = A.ActrId()
        ghost.CopyFrom(b.actr_id)
        ghost.serial_number = 99
        sent = await ca.relay(ghost, "ice_candidate", W.IceCandidate(candidate="candidate:1 1 udp 1 x 9 typ host"))
        rep = await ca.recv()
        check(rep.server_to_actr.error.code == 404 and rep.reply_for == sent.envelope_id, "unknown target -> 404")

        await ca.ws.send(b"\xff\xff\xff")
        rep = await ca.recv()
        check(rep.envelope_error.code == 400, "garbage -> envelope_error 400")
        await ca.ws.send(S.SignalingEnvelope(envelope_version=1, envelope_id="half").SerializePartialToString())
        rep = await ca.recv()
        check(rep.envelope_error.code == 400 and rep.reply_for == "half", "missing fields -> 400")
        rep = await ca.request("ping", A.Ping(availability=A.FULL, power_reserve=5.0, mailbox_backlog=0.0),
                               cred=expired.credential)
        check(rep.server_to_actr.error.code == 401, "expired credential on heartbeat -> error 401")
        rep = await ca.request("ping", A.Ping(availability=A.FULL, power_reserve=5.0, mailbox_backlog=0.0))
        check(rep.server_to_actr.HasField("pong"), "connection kept after errors")

        ren = A.RenewCredentialRequest(renewal_token=a.renewal_token or b"\0" * 32)
        ren.actr_id.CopyFrom(a.actr_id)
        st, body = await asyncio.to_thread(http_post, ais + "/renew", ren.SerializeToString())
        if dialect == "0.5":
            ok = A.RenewCredentialResponse.FromString(body).success
            check(st == 200 and id_tuple(ok.actr_id) == id_tuple(a.actr_id), "renew keeps the ActrId")
            check(A.IdentityClaims.FromString(ok.credential.claims).actor_id == id_str(a.actr_id),
                  "renewed claims name the same ActrId")
            ren.renewal_token = b"\1" * 32
            st, body = await asyncio.to_thread(http_post, ais + "/renew", ren.SerializeToString())
            check(st == 401 and A.RenewCredentialResponse.FromString(body).error.code == 401, "bad token -> 401")
        else:
            check(st == 404, "0.3: no /renew")

        rep = await cb.request("unregister_request", A.UnregisterRequest(actr_id=b.actr_id, reason="bye"))
        check(rep.server_to_actr.unregister_response.HasField("success"), "unregister ok")
        req.target_type.CopyFrom(b.actr_id.type)
        rep = await ca.request("route_candidates_request", req)
        check(not rep.server_to_actr.route_candidates_response.success.candidates, "unregistered forgotten")
    finally:
        for c in clients:
            await c.ws.close()
        await ax.stop()
    print(f"self-test dialect={dialect} offer-rule={offer_rule}: {checks} checks ok", flush=True)
    return checks


async def self_test():
    total = 0
    for dialect, rule in (("0.5", "mock"), ("0.3", "mock"), ("0.5", "actrix")):
        total += await scenario(dialect, rule)
    print(f"self-test: OK ({total} checks)", flush=True)
    return 0


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

async def serve_forever(args):
    ax = Actrix(args)
    await ax.start(args.port, args.ws_port)
    scheme = "wss" if args.tls_cert else "ws"
    print(f"listening ais=http://127.0.0.1:{ax.ais_port}/ais "
          f"signaling={scheme}://127.0.0.1:{ax.ws_port}/signaling/ws", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Test hook: SIGUSR1 closes every signaling connection (1012, "service
    # restart"); registrations and keys stay, so clients may come back.
    loop.add_signal_handler(signal.SIGUSR1,
                            lambda: [asyncio.ensure_future(c.ws.close(1012, "service restart"))
                                     for c in list(ax.conns)])
    await stop.wait()
    await ax.stop()
    return 0


def main():
    p = argparse.ArgumentParser(description="Test actrix (AIS + signaling) for libactr tests.")
    p.add_argument("--port", type=int, default=0, help="AIS HTTP port (default 0 = any)")
    p.add_argument("--ws-port", type=int, default=0, help="signaling WebSocket port (default 0 = any)")
    p.add_argument("--dialect", choices=("0.3", "0.5"), default="0.5")
    p.add_argument("--offer-rule", choices=("mock", "actrix", "none"), default="mock",
                   help="none: a test hook, nobody is told to offer")
    p.add_argument("--realm-secret", default=None, help="require x-actrix-realm-secret on /register")
    p.add_argument("--heartbeat-secs", type=int, default=30)
    p.add_argument("--tls-cert", default=None, help="serve signaling as wss:// (PEM)")
    p.add_argument("--tls-key", default=None)
    p.add_argument("--turn-secret", default=None,
                   help="TURN passwords as coturn's use-auth-secret computes them")
    p.add_argument("--credential-ttl-secs", type=int, default=86400)
    p.add_argument("--renew-ttl-secs", type=int, default=None,
                   help="credentials issued by /renew expire after this (default: as registered)")
    p.add_argument("--fixed-key", action="store_true", help="use the mock's AIS key seed (32 x 0x2a)")
    p.add_argument("--answer-type", default=None,
                   help="register every actor as this type (m:n:v), not the one asked for")
    p.add_argument("--discover-delay-ms", type=int, default=0,
                   help="answer route candidate requests this late (a slow actrix)")
    p.add_argument("--ais-hang-after", type=int, default=None,
                   help="answer this many AIS requests, then take the next ones and never answer")
    p.add_argument("--key-hang", action="store_true",
                   help="never answer a GetSigningKeyRequest")
    p.add_argument("--verbose", action="store_true", help="log every envelope to stderr")
    p.add_argument("--self-test", action="store_true")
    args = p.parse_args()
    logging.basicConfig(stream=sys.stderr, format="test_actrix: %(levelname)s %(message)s",
                        level=logging.INFO if args.verbose else logging.ERROR)
    logging.getLogger("websockets").setLevel(logging.ERROR)
    load_protos()
    return asyncio.run(self_test() if args.self_test else serve_forever(args))


if __name__ == "__main__":
    sys.exit(main())
