"""CityLink for Python: run a city, script its bus, write plugins, inspect and verify
plugin files, and talk to a running host over CURVE. Messages are the generated protobuf
classes in ``citylink.v1`` (e.g. ``citylink.v1.sensor_pb2.SensorReading``). Guide:
docs/python.md.

The native host (``citylink._citylink``) loads on first use of what needs it, so a Python
plugin's worker process, which needs only ``Plugin`` and the messages, never loads it."""
import importlib

from .envelope import Envelope, message_class
from .errors import Backpressure, Unavailable
from .plugin import Plugin

# name -> module that defines it, imported on first access (PEP 562).
_LAZY = {
    "Host": "host", "Subscription": "host",
    "Keys": "remote", "RemoteClient": "remote", "connect": "remote", "keygen": "remote",
    "PluginError": "tools", "inspect": "tools", "verify": "tools",
    "ConfigError": "_citylink", "abi_version": "_citylink", "host_version": "_citylink",
}

__all__ = sorted(["Backpressure", "Envelope", "Plugin", "Unavailable", "message_class", *_LAZY])


def __getattr__(name: str):
    if name == "__version__":
        name = "host_version"
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'citylink' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
