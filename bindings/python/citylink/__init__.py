"""CityLink for Python: run a city, script its bus, inspect and verify plugins, and talk
to a running host over CURVE. Messages are the generated protobuf classes in
``citylink.v1`` (e.g. ``citylink.v1.sensor_pb2.SensorReading``). Guide: docs/python.md."""
from ._citylink import abi_version, host_version
from .envelope import Envelope, message_class
from .errors import Backpressure, ConfigError, Unavailable
from .host import Host, Subscription
from .plugin import Plugin
from .remote import Keys, RemoteClient, connect, keygen
from .tools import PluginError, inspect, verify

__version__ = host_version

__all__ = [
    "Backpressure", "ConfigError", "Envelope", "Host", "Keys", "Plugin", "PluginError", "RemoteClient", "Subscription",
    "Unavailable", "abi_version", "connect", "host_version", "inspect", "keygen", "message_class", "verify",
]
