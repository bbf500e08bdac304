"""Python plugins the tests run in real workers: each misbehaves in one way on purpose."""
import ctypes
import os
import threading

import citylink
from citylink.v1 import sensor_pb2


class Echo(citylink.Plugin):
    """Republishes every reading it gets on sensor.echo, with its own id."""
    id = "kr.citylink.test.py-echo"
    kind = "analytics"
    publishes = ["sensor.echo"]
    subscribes = ["sensor.reading"]

    def configure(self, config):
        self.prefix = config.get("prefix", "echo-")
        self.fail_on = config.get("fail_on", "")
        self.crash_on = config.get("crash_on", "")

    def on_message(self, envelope):
        sid = envelope.message.sensor_id
        if sid == self.fail_on:
            raise ValueError(f"cannot echo {sid}")
        if sid == self.crash_on:
            ctypes.string_at(0)  # a real segfault, as a broken C extension would cause
        self.publish("sensor.echo", sensor_pb2.SensorReading(sensor_id=self.prefix + sid, value=envelope.message.value),
                     correlation_id=envelope.id)


class Counter(citylink.Plugin):
    """Publishes N readings from a thread at start."""
    id = "kr.citylink.test.py-counter"
    kind = "sensor"
    publishes = ["sensor.reading"]

    def configure(self, config):
        self.n = int(config.get("n", 10))
        self.topic = config.get("topic", "sensor.reading")

    def start(self):
        def run():
            for i in range(self.n):
                try:
                    self.publish(self.topic, sensor_pb2.SensorReading(sensor_id=f"PYC-{i}", value=i))
                except Exception as e:  # a refusal is the test's to see in the log
                    self.log.error("publish %d refused: %s", i, e)
        self.thread = threading.Thread(target=run)
        self.thread.start()

    def stop(self):
        self.thread.join()


class BadConfig(citylink.Plugin):
    id = "kr.citylink.test.py-bad-config"
    kind = "sensor"

    def configure(self, config):
        raise ValueError("threshold must be a number, not 'high'")


class NotAPlugin:
    pass


class BadId(citylink.Plugin):
    id = "Not A Reverse DNS Id!"
    kind = "sensor"
