"""citylink.Host: a city in the script's own process, and the script as one of its clients."""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from google.protobuf import message as _message

from . import _citylink, _paths
from .envelope import Envelope, check_message
from .errors import raise_for_status

log = logging.getLogger("citylink")

Callback = Callable[[Envelope], Any]


def run_until(stopping: threading.Event, seconds: Optional[float], on_ctrl_c: Callable[[], None],
              first: Optional[Callable[[], None]] = None) -> bool:
    """Blocks until ``stopping`` is set or ``seconds`` passed (None: no limit); True then.
    Ctrl-C calls ``on_ctrl_c`` and returns False. The main thread waits in short steps, so
    it comes back to Python, where Ctrl-C is seen, at once."""
    try:
        if first is not None:
            first()
        if seconds is None:
            while not stopping.wait(0.1):
                pass
        else:
            stopping.wait(seconds)
    except KeyboardInterrupt:
        on_ctrl_c()
        return False
    return True


class Subscription:
    """What ``Host.subscribe`` returns; pass it to ``unsubscribe`` (or call ``cancel``)."""

    __slots__ = ("prefix", "callback", "_owner", "active")

    def __init__(self, prefix: str, callback: Callback, owner: "Host"):
        self.prefix, self.callback, self._owner, self.active = prefix, callback, owner, True

    def cancel(self) -> None:
        self._owner.unsubscribe(self)

    def __repr__(self) -> str:
        return f"Subscription({self.prefix!r}, active={self.active})"


class Host:
    """A CityLink host built from a city config (a file path or a dict), run inside this
    process. The script is a client of it like any plugin: it publishes and reads as the
    config's ``clients:`` entry named by ``client`` (the only one, when there is one) and
    gets exactly that entry's grants.

    Use it as a context manager::

        with citylink.Host("city.yaml") as city:
            city.subscribe("incident", print)
            city.run(30)
    """

    def __init__(self, config: Union[str, os.PathLike, Mapping[str, Any]], *, client: Optional[str] = None,
                 citylink_bin: Optional[str] = None):
        if isinstance(config, Mapping):
            # JSON is YAML: the host reads the dict with the same checks as a file, and the
            # indented text gives its errors useful line numbers.
            cfg = _citylink.parse_config(json.dumps(config, indent=2), "<dict>", os.getcwd())
        else:
            cfg = _citylink.load_config(os.fspath(config))
        exe = citylink_bin or _paths.citylink_bin()
        # Python plugins (runtime: python) run in this interpreter's runner, isolated (-I).
        runner = [sys.executable, "-I", os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner.py")]
        self._native = _citylink.Host(cfg, [exe, "__probe"], [exe, "worker"], runner)
        names = self._native.client_names()
        if client is None and len(names) > 1:
            raise ValueError(f"the city config lists several clients ({', '.join(names)}); "
                             f"choose one with citylink.Host(config, client=NAME)")
        self._client_name = client if client is not None else (names[0] if names else None)
        self._client = None
        self._subs: List[Subscription] = []
        self._lock = threading.Lock()
        self._matching: Dict[str, List[Subscription]] = {}  # topic -> its subscriptions; reset on change
        self._calling = threading.RLock()  # held while callbacks run; unsubscribe waits for it
        self._dispatcher: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._callback_errors = 0
        self._callbacks_run = 0

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "Host":
        """Starts the router, the scenario engine and every enabled plugin. A plugin that
        cannot start is listed by ``plugins()`` as failed with its reason; the others run."""
        self._native.start(self._client_name or "")
        return self

    def stop(self) -> None:
        """Stops every plugin and drains the bus. Safe from any thread, also from inside a
        callback, and more than once."""
        self._stopping.set()
        t = self._dispatcher
        if t is not None and t is not threading.current_thread():
            t.join()
        self._native.stop()

    def run(self, seconds: Optional[float] = None) -> bool:
        """Blocks while the city runs: for ``seconds``, or until Ctrl-C or ``stop()`` from
        another thread (None: until one of those). Ctrl-C stops the host cleanly and
        returns False; otherwise returns True."""
        if not self._native.running:
            raise RuntimeError("the host is not running; call start() first (or use `with citylink.Host(...)`)")
        def announce() -> None:  # inside the wait's try: a Ctrl-C right after this line is caught
            log.info("city %r running %s; Ctrl-C stops it", self.city,
                     "until stopped" if seconds is None else f"for {seconds:g} s")

        def interrupted() -> None:
            log.warning("Ctrl-C: stopping the city")
            self.stop()

        return run_until(self._stopping, seconds, interrupted, announce)

    @property
    def running(self) -> bool:
        return self._native.running

    def __enter__(self) -> "Host":
        try:
            return self.start()
        except BaseException:  # a Ctrl-C during the start, too: nothing keeps running
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- what runs -------------------------------------------------------------------
    @property
    def city(self) -> str:
        return self._native.city

    def plugins(self) -> List[Dict[str, Any]]:
        """Every plugin entry of the config with its state (running, stopped, failed, ...),
        its isolation, what the city granted it, its counters, and why it failed if it did."""
        status = {s["instance"]: s for s in self._native.status()}
        failures = dict(self._native.failures())
        out = []
        for e in self._native.entries():
            s = status.get(e["instance"], {})
            d = dict(e)
            d["plugin"] = s.get("plugin", "")
            d["state"] = s.get("state", "disabled" if not e["enabled"] else "not started")
            d["counters"] = s.get("counters", {})
            if e["instance"] in failures:
                d["error"] = failures[e["instance"]]
            out.append(d)
        return out

    def stats(self) -> Dict[str, Any]:
        """Counters as plain data: per instance, per client (remote and local), the router's,
        and this script's callbacks."""
        out: Dict[str, Any] = {"instances": {}, "clients": {}, "remote": {}, "engine": None,
                               "router": self._native.router(),
                               "callbacks": {"run": self._callbacks_run, "errors": self._callback_errors}}
        for s in self._native.status():
            if s["state"] == "client":
                out["clients"][s["instance"]] = s["counters"]
            elif s["state"] == "remote":
                out["remote"][s["instance"]] = s["counters"]
            elif s["instance"] == "scenario-engine":
                out["engine"] = s["counters"]
            else:
                out["instances"][s["instance"]] = s["counters"]
        return out

    def metrics(self) -> str:
        """The counters in the Prometheus text format."""
        return self._native.metrics()

    def remote_endpoint(self) -> str:
        """The CURVE TCP endpoint (``remote:`` in the config) with its real port, or ''."""
        return self._native.remote_endpoint()

    def management_url(self) -> str:
        """The management API and console (``host.http`` in the config), e.g.
        'http://127.0.0.1:8080' with its real port, or '' when not served."""
        return self._native.management_url()

    # -- the bus ---------------------------------------------------------------------
    def _bus_client(self):
        if not self._native.running:
            raise RuntimeError("the host is not running; call start() first (or use `with citylink.Host(...)`)")
        if self._client is None:
            if self._client_name is None:
                raise PermissionError("the city config lists no `clients:`, so this script may neither publish nor "
                                      "subscribe; add clients: [{name: script, grants: {publish: [...], "
                                      "subscribe: [...]}}]")
            self._client = self._native.client(self._client_name)
        return self._client

    def publish(self, topic: str, msg: _message.Message, *, correlation_id: str = "",
                attributes: Optional[Mapping[str, str]] = None) -> None:
        """Publishes a protobuf message on ``topic``. Raises PermissionError outside the
        client's grants, ValueError for a bad topic or an oversized message, Backpressure when
        its queue is full; the host stamps id, source and time."""
        client = self._client or self._bus_client()
        try:
            status, why = client.publish_payload(topic, msg.DESCRIPTOR.full_name, msg.SerializeToString(),
                                                 correlation_id, dict(attributes) if attributes else None)
        except AttributeError:
            check_message(topic, msg)  # not a protobuf message: say so
            raise
        if status:
            raise_for_status(status, topic, why)

    def subscribe(self, prefix: str, callback: Callback) -> Subscription:
        """Calls ``callback(envelope)`` for every message whose topic ``prefix`` matches
        (by segment: "camera" matches camera.status, never cameras). Callbacks run one at a
        time on one dispatch thread, in arrival order (critical topics first). ``prefix``
        must lie inside the client's subscribe grants (PermissionError otherwise)."""
        if not callable(callback):
            raise TypeError("subscribe(prefix, callback): callback must be callable")
        client = self._bus_client()
        ok, why = client.may_subscribe(prefix)
        if not ok:
            raise PermissionError(why)
        sub = Subscription(prefix, callback, self)
        with self._lock:
            self._subs.append(sub)
            self._matching = {}
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch, name=f"citylink-{self._client_name}",
                                                    daemon=True)
                self._dispatcher.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """No more calls to that subscription's callback once this returns: from another
        thread it waits for a callback running now (also when called from inside a callback,
        which then simply returns). Unsubscribing twice does nothing."""
        with self._lock:
            sub.active = False
            if sub in self._subs:
                self._subs.remove(sub)
            self._matching = {}
        if self._dispatcher is not None and self._dispatcher is not threading.current_thread():
            with self._calling:
                pass

    def _subscribers(self, topic: str) -> List[Subscription]:
        subs = self._matching.get(topic)  # a dict read is atomic; the cache is replaced, never edited
        if subs is None:
            with self._lock:
                subs = [s for s in self._subs if _citylink.grant_allows(s.prefix, topic)]
                matching = {} if len(self._matching) > 4096 else dict(self._matching)  # topics can be many
                matching[topic] = subs
                self._matching = matching
        return subs

    def _dispatch(self) -> None:
        client = self._client
        while not self._stopping.is_set():
            batch = client.receive_many(100, 256)  # waits without the GIL
            with self._calling:  # one acquisition per burst; unsubscribe() waits for it
                for topic, data in batch:
                    subs = self._subscribers(topic)
                    if not subs:
                        continue
                    try:
                        env = Envelope.decode(data)
                    except Exception:
                        self._callback_errors += 1
                        log.exception("a message on %r could not be decoded; skipped", topic)
                        continue
                    for s in subs:
                        if not s.active:
                            continue  # unsubscribed by an earlier callback or another thread
                        self._callbacks_run += 1
                        try:
                            s.callback(env)
                        except Exception:
                            self._callback_errors += 1
                            log.exception("callback %r for %r raised on %r (id %s); the host runs on",
                                          getattr(s.callback, "__qualname__", s.callback), s.prefix, topic, env.id)
                    if self._stopping.is_set():
                        break
