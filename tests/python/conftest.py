"""Shared pieces of the Python suite: where the build put things, and small city configs.
Every test runs real plugins (.so from the build) in a real host through the citylink package."""
import os
import stat
import threading
import time

import pytest
import zmq

PLUGINS = os.environ.get("CITYLINK_PLUGIN_DIR", "")
TEST_PLUGINS = os.environ.get("CITYLINK_TEST_PLUGIN_DIR", "")
SOURCE = os.environ.get("CITYLINK_SOURCE_DIR", "")


def gauge(instance="gauge-1", interval_ms=20, sensor_id="WL-1"):
    return {"instance": instance, "file": "water_level_sensor.so", "grants": {"publish": ["sensor.reading"]},
            "config": {"sensor_id": sensor_id, "interval_ms": interval_ms, "lat": 37.5, "lon": 127.0,
                       "zone": "flood-prone-road:test"}}


def console(instance="console-1", subscribe=("sensor.reading",)):
    return {"instance": instance, "file": "console_sink.so", "grants": {"subscribe": list(subscribe)},
            "config": {"label": instance}}


def city(*plugins, clients=None, **extra):
    cfg = {"citylink": 1, "city": "py-test", "host": {"log_level": "warn"}, "plugin_dirs": [PLUGINS],
           "plugins": list(plugins)}
    if clients is not None:
        cfg["clients"] = clients
    cfg.update(extra)
    return cfg


def script_client(publish=("sensor.reading",), subscribe=("sensor.reading",), name="script", **extra):
    return dict({"name": name, "grants": {"publish": list(publish), "subscribe": list(subscribe)}}, **extra)


def wait_for(predicate, what, timeout=30.0):
    """Waits for a condition the test needs (never asserts on time itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


class Collector:
    """A callback that keeps what it got, thread-safely."""

    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def __call__(self, env):
        with self.lock:
            self.items.append(env)

    def __len__(self):
        with self.lock:
            return len(self.items)


@pytest.fixture
def curve_server(tmp_path):
    """A host CURVE key pair: (secret key file, public key)."""
    public, secret = zmq.curve_keypair()
    path = tmp_path / "host-curve.key"
    path.write_bytes(secret)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return str(path), public.decode()
