"""Envelopes: what travels on the bus, and the protobuf message inside each."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Dict, Mapping, Optional

from google.protobuf import message

from .v1 import envelope_pb2

_classes: Optional[Dict[str, type]] = None


def _walk(desc, module_attr, out: Dict[str, type]) -> None:
    out[desc.full_name] = module_attr
    for nested in desc.nested_types:
        _walk(nested, getattr(module_attr, nested.name), out)


def _load_schema() -> Dict[str, type]:
    """Imports every generated citylink.v1 module once and maps each message's full name to
    its generated class (the very class a script imports, so isinstance works)."""
    global _classes
    if _classes is None:
        from . import v1
        found: Dict[str, type] = {}
        for info in pkgutil.iter_modules(v1.__path__):
            if info.name.endswith("_pb2"):
                mod = importlib.import_module(f"{v1.__name__}.{info.name}")
                for name, desc in mod.DESCRIPTOR.message_types_by_name.items():
                    _walk(desc, getattr(mod, name), found)
        _classes = found
    return _classes


def message_class(schema: str):
    """The generated protobuf class for a full type name ("citylink.v1.SensorReading"), or None."""
    return _load_schema().get(schema)


class Envelope:
    """One message as a subscriber receives it: the stamped envelope fields and the payload,
    decoded on first use of ``message`` (None when the schema is not one this package knows
    or the bytes do not parse; the raw bytes stay in ``payload``)."""

    __slots__ = ("raw", "_message", "_decoded", "redelivery_count")

    def __init__(self, raw: envelope_pb2.Envelope, msg: Optional[message.Message] = None, redelivery_count: int = 0):
        self.raw = raw
        self._message = msg
        self._decoded = msg is not None
        #: For a durable subscription: how often this message was delivered before (0: first time).
        self.redelivery_count = redelivery_count

    @classmethod
    def decode(cls, data: bytes) -> "Envelope":
        raw = envelope_pb2.Envelope()
        raw.ParseFromString(data)
        return cls(raw)

    @property
    def message(self) -> Optional[message.Message]:
        """The payload as its generated protobuf class (citylink.v1.*_pb2)."""
        if not self._decoded:
            self._decoded = True
            cls_ = message_class(self.raw.schema) if self.raw.schema else None
            if cls_ is not None:
                msg = cls_()
                try:
                    msg.ParseFromString(self.raw.payload)
                    self._message = msg
                except message.DecodeError:
                    pass
        return self._message

    id = property(lambda self: self.raw.id, doc="Unique per message; stamped by the host.")
    topic = property(lambda self: self.raw.topic)
    source = property(lambda self: self.raw.source, doc="The publishing instance or client; stamped by the host.")
    time_unix_ns = property(lambda self: self.raw.time_unix_ns)
    schema = property(lambda self: self.raw.schema)
    payload = property(lambda self: self.raw.payload)
    correlation_id = property(lambda self: self.raw.correlation_id)
    origin = property(lambda self: self.raw.origin)
    recipient = property(lambda self: self.raw.recipient)

    @property
    def attributes(self) -> Dict[str, str]:
        return dict(self.raw.attributes)

    def __repr__(self) -> str:
        return f"Envelope(topic={self.topic!r}, source={self.source!r}, id={self.id!r}, schema={self.schema!r})"


def check_message(topic: str, msg: message.Message) -> None:
    if not isinstance(msg, message.Message):
        raise TypeError(f"publish({topic!r}, ...) needs a protobuf message (e.g. citylink.v1.sensor_pb2."
                        f"SensorReading()), not {type(msg).__name__}")


def encode(topic: str, msg: message.Message, correlation_id: str = "",
           attributes: Optional[Mapping[str, str]] = None) -> bytes:
    """A serialized Envelope around ``msg``, for publishing on ``topic``. The host stamps
    id, source, time and origin; whatever a script writes there is replaced."""
    check_message(topic, msg)
    env = envelope_pb2.Envelope(topic=topic, schema=msg.DESCRIPTOR.full_name, payload=msg.SerializeToString(),
                                correlation_id=correlation_id)
    if attributes:
        env.attributes.update(attributes)
    return env.SerializeToString()
