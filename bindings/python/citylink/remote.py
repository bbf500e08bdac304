"""citylink.connect: a script on another machine talking to a running `citylink run` host
over its CURVE TCP endpoint (docs/remote.md), as the `remote.clients` entry its key names."""
from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import Any, Callable, List, Mapping, NamedTuple, Optional, Union

import zmq
from zmq.utils.monitor import recv_monitor_message
from google.protobuf import message as _message

from . import _citylink
from .envelope import Envelope, encode
from .errors import Backpressure
from .host import Subscription, run_until
from .v1 import envelope_pb2

log = logging.getLogger("citylink")

QUEUE = 10000  # messages a script may publish ahead of the connection before Backpressure
# What waits for the connection leaves in PUBS frames of up to this many messages and bytes:
# one ZeroMQ message and one CURVE box for all of them (docs/remote.md §3). The bytes stay
# under the smallest frame any host accepts (host.max_message_bytes, at least 1024, plus
# 4096), so a batch is never what makes a host cut the connection; a larger message goes alone.
BATCH, BATCH_BYTES, ITEM_OVERHEAD = 256, 4096, 16


class Keys(NamedTuple):
    """A client's CURVE key pair and the host's public key, all 40-character Z85 text."""

    public: str
    secret: str
    server: str

    @classmethod
    def load(cls, secret_key_file: Union[str, os.PathLike], server_public_key: str) -> "Keys":
        """Reads a secret key written by `citylink keygen --curve` and derives its public key."""
        with open(secret_key_file, "rb") as f:
            secret = f.read().strip()
        if len(secret) != 40:
            raise ValueError(f"{os.fspath(secret_key_file)}: expected a 40-character Z85 CURVE secret key (from "
                             f"`citylink keygen --curve`), found {len(secret)} bytes")
        return cls(zmq.curve_public(secret).decode(), secret.decode(), server_public_key)


def keygen() -> Keys:
    """A fresh client key pair (``server`` left empty): put ``public`` in the host's
    ``remote.clients``, keep ``secret`` to yourself."""
    public, secret = zmq.curve_keypair()
    return Keys(public.decode(), secret.decode(), "")


class RemoteClient:
    """A connection to a host's CURVE endpoint. Publishes and subscribes like
    ``citylink.Host``; the host enforces the grants of the client its key names, and tells
    about refused messages asynchronously (logged, kept in ``errors``)."""

    def __init__(self, endpoint: str, keys: Keys, timeout: float = 5.0):
        self.endpoint = endpoint
        self.errors: List[str] = []
        self.name = ""
        self._subs: List[Subscription] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.dropped = 0  # publishes the host's connection could not take (counted, logged)
        self._carry = None  # a message taken from the queue that did not fit the last batch
        self._ctx = zmq.Context()
        self._dealer = self._in = self._out = self._handshakes = None
        self.reconnects = 0  # times the connection came back and this client said HELLO again
        try:
            self._dealer = self._ctx.socket(zmq.DEALER)
            self._dealer.curve_secretkey = keys.secret.encode()
            self._dealer.curve_publickey = keys.public.encode()
            self._dealer.curve_serverkey = keys.server.encode()
            self._dealer.linger = 1000
            # Publishes from any thread reach the one I/O thread through an inproc pair.
            wake = f"inproc://citylink-remote-{uuid.uuid4().hex}"
            self._in = self._ctx.socket(zmq.PULL)
            self._in.bind(wake)
            self._in.rcvhwm = QUEUE
            self._out = self._ctx.socket(zmq.PUSH)
            self._out.sndhwm = QUEUE
            self._out.connect(wake)
            self._out_lock = threading.Lock()
            # Each handshake after the first is a reconnect (the host restarted or cut the
            # connection): the host has forgotten this client, so it must say HELLO again or
            # its subscriptions would stay silent.
            self._handshakes = self._dealer.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
            self._dealer.connect(endpoint)
            self._dealer.send_multipart([b"HELLO", b"batch"])  # messages for it come in MSGS frames
            if not self._dealer.poll(int(timeout * 1000)):
                raise ConnectionRefusedError(
                    f"{endpoint}: no answer within {timeout:g} s; either the host refused this key (its public key "
                    f"{keys.public} must be listed under remote.clients in the city config), the server key is not "
                    f"the host's, or nothing listens there")
            frames = self._dealer.recv_multipart()
            if frames[0] != b"WELCOME":
                raise ConnectionRefusedError(f"{endpoint}: the host answered {frames!r} instead of WELCOME")
        except BaseException:
            self._close_sockets()
            raise
        self.name = frames[1].decode() if len(frames) > 1 else ""
        self._thread = threading.Thread(target=self._io, name=f"citylink-remote-{self.name}", daemon=True)
        self._thread.start()

    def publish(self, topic: str, msg: _message.Message, *, correlation_id: str = "",
                attributes: Optional[Mapping[str, str]] = None) -> None:
        """Sends a protobuf message on ``topic``; the host checks this client's grants."""
        self._send(topic, encode(topic, msg, correlation_id, attributes))

    def _send(self, topic: str, env: bytes) -> None:
        with self._out_lock:
            if self._stopping.is_set():
                raise RuntimeError(f"the connection to {self.endpoint} is closed")
            try:
                self._out.send_multipart([topic.encode(), env], zmq.NOBLOCK)
            except zmq.Again:
                raise Backpressure(f"publish {topic!r}: {QUEUE} messages wait for the connection to {self.endpoint}; "
                                   f"the message was dropped") from None

    def forward(self, envelope: Union[Envelope, bytes]) -> None:
        """Sends an envelope another host stamped, unchanged: how one centre forwards chosen
        topics to another. When this client's entry says ``peer_host: true``, the receiving
        host keeps its ``id``, ``origin`` and time and refuses it as a loop if ``origin`` is
        the receiving city; for any other client the host stamps it afresh (docs/remote.md
        §4.1). The host checks this client's grants as for ``publish``."""
        raw = envelope.raw if isinstance(envelope, Envelope) else Envelope.decode(envelope).raw
        if not raw.topic:
            raise ValueError("forward() needs a stamped envelope with a topic (one a subscription received)")
        self._send(raw.topic, raw.SerializeToString())

    def subscribe(self, prefix: str, callback: Callable[[Envelope], Any]) -> Subscription:
        """Calls ``callback(envelope)`` for messages whose topic ``prefix`` matches, among
        those the host delivers to this client (its subscribe grants)."""
        if not callable(callback):
            raise TypeError("subscribe(prefix, callback): callback must be callable")
        sub = Subscription(prefix, callback, self)  # type: ignore[arg-type]
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            sub.active = False
            if sub in self._subs:
                self._subs.remove(sub)

    def run(self, seconds: Optional[float] = None) -> bool:
        """Blocks for ``seconds`` (None: until Ctrl-C or close()); Ctrl-C closes and returns False."""
        return run_until(self._stopping, seconds, self.close)

    def close(self) -> None:
        """Sends what was published, then disconnects. From a callback it only asks the I/O
        thread to finish."""
        with self._out_lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> "RemoteClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _close_sockets(self) -> None:
        if self._handshakes is not None:
            self._dealer.disable_monitor()
        for s in (self._handshakes, self._out, self._in, self._dealer):
            if s is not None:
                s.close()
        self._ctx.term()

    def _next_out(self):
        item, self._carry = self._carry, None
        if item is None:
            try:
                item = self._in.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return None
        return item

    def _forward(self) -> None:
        while True:
            batch = envelope_pb2.EnvelopeBatch()
            size = 0
            while len(batch.items) < BATCH:
                item = self._next_out()
                if item is None:
                    break
                topic, env = item
                cost = len(topic) + len(env) + ITEM_OVERHEAD
                if batch.items and size + cost > BATCH_BYTES:
                    self._carry = item  # opens the next batch
                    break
                batch.items.add(topic=topic.decode(), envelope=env)
                size += cost
            if not batch.items:
                return
            try:
                # Never blocks the I/O thread (a callback publishing, a host gone away).
                self._dealer.send_multipart([b"PUBS", batch.SerializeToString()], zmq.NOBLOCK)
            except zmq.Again:
                self.dropped += len(batch.items)
                log.warning("the connection to %s is full; %d message(s) on %r and after were dropped", self.endpoint,
                            len(batch.items), batch.items[0].topic)

    def _io(self) -> None:
        poller = zmq.Poller()
        poller.register(self._dealer, zmq.POLLIN)
        poller.register(self._in, zmq.POLLIN)
        poller.register(self._handshakes, zmq.POLLIN)
        first = True  # the handshake the constructor's WELCOME came through
        hello_due = False
        try:
            while not self._stopping.is_set():
                for sock, _ in poller.poll(100):
                    if sock is self._in:
                        self._forward()
                    elif sock is self._handshakes:
                        while True:
                            try:
                                recv_monitor_message(self._handshakes, zmq.NOBLOCK)
                            except zmq.Again:
                                break
                            if first:
                                first = False
                                continue
                            log.warning("the connection to %s came back; saying HELLO again", self.endpoint)
                            hello_due = True
                    else:
                        while True:
                            try:
                                frames = self._dealer.recv_multipart(zmq.NOBLOCK)
                            except zmq.Again:
                                break
                            self._on_frames(frames)
                if hello_due:
                    # Behind publishes queued while the host was away, the HELLO may not fit at
                    # once: it is tried on every pass until it leaves.
                    try:
                        self._dealer.send_multipart([b"HELLO", b"batch"], zmq.NOBLOCK)
                        hello_due = False
                        self.reconnects += 1
                    except zmq.Again:
                        pass
            self._forward()  # what was published before close() still leaves (linger)
        finally:
            self._close_sockets()

    def _on_frames(self, frames: List[bytes]) -> None:
        if frames[0] == b"ERR":
            what = frames[1].decode(errors="replace") if len(frames) > 1 else "(no reason)"
            self.errors.append(what)
            log.warning("host %s refused a message: %s", self.endpoint, what)
            return
        if frames[0] == b"MSGS" and len(frames) == 2:
            batch = envelope_pb2.EnvelopeBatch()
            try:
                batch.ParseFromString(frames[1])
            except Exception:
                log.exception("a batch from %s could not be decoded; skipped", self.endpoint)
                return
            for item in batch.items:
                self._deliver(item.topic, item.envelope)
            return
        if frames[0] == b"MSG" and len(frames) == 3:
            self._deliver(frames[1].decode(errors="replace"), frames[2])

    def _deliver(self, topic: str, envelope: bytes) -> None:
        with self._lock:
            subs = [s for s in self._subs if _citylink.grant_allows(s.prefix, topic)]
        if not subs:
            return
        try:
            env = Envelope.decode(envelope)
        except Exception:
            log.exception("a message on %r from %s could not be decoded; skipped", topic, self.endpoint)
            return
        for s in subs:
            if not s.active:
                continue
            try:
                s.callback(env)
            except Exception:
                log.exception("callback for %r raised on %r (id %s)", s.prefix, topic, env.id)


def connect(endpoint: str, keys: Union[Keys, Mapping[str, str]], timeout: float = 5.0) -> RemoteClient:
    """Connects to a running host's CURVE endpoint (``remote.bind`` in its city config).
    ``keys``: a ``Keys`` (``Keys.load(secret_key_file, server_public_key)``) or a dict with
    ``public``, ``secret`` and ``server``. Raises ConnectionRefusedError when the host does
    not admit the key within ``timeout`` seconds."""
    if isinstance(keys, Mapping):
        keys = Keys(keys["public"], keys["secret"], keys["server"])
    return RemoteClient(endpoint, keys, timeout)
