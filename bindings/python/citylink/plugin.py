"""citylink.Plugin: write a plugin in Python. The host runs each instance in a worker
process of its own (``runtime: python`` in the city config), through the same router,
grants, supervisor and counters as a C++ plugin (docs/python.md)."""
from __future__ import annotations

import logging
from typing import Any, Callable, ClassVar, Dict, Mapping, Optional, Sequence

from google.protobuf import message as _message

from .envelope import Envelope, encode


class Plugin:
    """Subclass it, declare what the plugin is, and implement what it does::

        class Gauge(citylink.Plugin):
            id = "kr.example.gauge"
            kind = "sensor"
            publishes = ["sensor.reading"]

            def configure(self, config): self.every = config.get("interval_ms", 1000)
            def start(self): ...          # start threads or timers; publish from any thread
            def stop(self): ...           # stop them; nothing is published after this returns
            def on_message(self, envelope): ...   # only if it subscribes

    The descriptor fields are what the plugin *asks* for; the city config grants."""

    id: ClassVar[str] = ""               # reverse DNS, unique world-wide: "kr.acme.water-level"
    name: ClassVar[str] = ""
    vendor: ClassVar[str] = ""
    version: ClassVar[str] = "0.1.0"
    kind: ClassVar[str] = ""             # camera, analytics, sensor, wearable, bridge, sink, ...
    description: ClassVar[str] = ""
    publishes: ClassVar[Sequence[str]] = ()
    subscribes: ClassVar[Sequence[str]] = ()
    config_schema: ClassVar[Optional[Dict[str, Any]]] = None  # JSON Schema of its config
    features: ClassVar[Sequence[str]] = ()     # what it can do beyond its kind: "ptz", "analytics.detection"

    #: This instance's name in the city; set before configure().
    instance_id: str = ""
    #: Its logger: records go to the host's log, tagged with the instance.
    log: logging.Logger = logging.getLogger("citylink.plugin")

    _publish: Optional[Callable[[str, bytes], None]] = None

    @classmethod
    def describe(cls) -> Dict[str, Any]:
        """The descriptor as the host reads it (the worker's --describe prints this)."""
        return {"id": cls.id, "name": cls.name or cls.__name__, "vendor": cls.vendor, "version": cls.version,
                "kind": cls.kind, "description": cls.description or (cls.__doc__ or "").strip().split("\n")[0],
                "publishes": list(cls.publishes), "subscribes": list(cls.subscribes),
                "config_schema": cls.config_schema, "features": list(cls.features)}

    @classmethod
    def receives(cls) -> bool:
        return cls.on_message is not Plugin.on_message

    def configure(self, config: Dict[str, Any]) -> None:
        """Called once, before start, with the instance's ``config:`` from the city config.
        Raise ValueError (or any exception) to refuse it; the message reaches the operator."""

    def start(self) -> None:
        """Called when the city starts it. Messages published from here on are routed."""

    def stop(self) -> None:
        """Stop publishing and stop any threads. Called once; must return within seconds."""

    def on_message(self, envelope: Envelope) -> None:
        """A message of a granted subscription; one at a time, in order. An exception is
        logged with its traceback and counted as a failed delivery (for a durable
        subscription, the message is redelivered)."""
        raise NotImplementedError

    def publish(self, topic: str, msg: _message.Message, *, correlation_id: str = "",
                attributes: Optional[Mapping[str, str]] = None) -> None:
        """Publishes a protobuf message; from start until stop, from any thread. The host
        checks the grants and stamps id, source and time."""
        if self._publish is None:
            raise RuntimeError(f"{type(self).__name__}.publish: the plugin is not running in a worker")
        self._publish(topic, encode(topic, msg, correlation_id, attributes))
