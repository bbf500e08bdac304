"""A Python plugin: replays a CSV file of sensor readings onto the bus as SensorReadings.

Enable it in a city config (docs/python.md):

    plugins:
      - instance: csv-gauges
        runtime: python
        file: csv_sensor.py           # found through plugin_dirs, like a library
        class: CsvSensor
        grants: {publish: [sensor.reading]}
        config: {csv: readings.csv, interval_ms: 200, loop: true}

The CSV has a header row: sensor_id,kind,value,unit,lat,lon,zone
"""
import csv
import os
import threading
import time

import citylink
from citylink.v1 import geo_pb2, sensor_pb2


class CsvSensor(citylink.Plugin):
    id = "kr.citylink.samples.csv-sensor"
    name = "CSV sensor replay"
    vendor = "CityLink samples"
    version = "1.0.0"
    kind = "sensor"
    description = "Publishes the rows of a CSV file as sensor readings, one every interval_ms."
    publishes = ["sensor.reading"]
    config_schema = {
        "type": "object",
        "required": ["csv"],
        "properties": {"csv": {"type": "string"}, "interval_ms": {"type": "integer", "minimum": 1},
                       "loop": {"type": "boolean"}},
        "additionalProperties": False,
    }

    def configure(self, config):
        path = config["csv"]
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(os.path.abspath(__file__)), path)
        with open(path, newline="") as f:
            self.rows = [self.reading(r, i) for i, r in enumerate(csv.DictReader(f), start=2)]
        if not self.rows:
            raise ValueError(f"{path} has no readings; expected a header row and at least one row")
        self.every = config.get("interval_ms", 1000) / 1000.0
        self.loop = config.get("loop", False)
        self.done = threading.Event()

    @staticmethod
    def reading(row, line):
        try:
            return sensor_pb2.SensorReading(
                sensor_id=row["sensor_id"], kind=row["kind"], value=float(row["value"]), unit=row["unit"],
                position=geo_pb2.GeoPoint(lat=float(row["lat"]), lon=float(row["lon"])), zone=row.get("zone", ""))
        except (KeyError, ValueError) as e:
            raise ValueError(f"line {line}: {e}; columns are sensor_id,kind,value,unit,lat,lon,zone") from None

    def start(self):
        self.thread = threading.Thread(target=self.replay, daemon=True)
        self.thread.start()
        self.log.info("replaying %d readings every %.3f s", len(self.rows), self.every)

    def replay(self):
        while not self.done.is_set():
            for r in self.rows:
                if self.done.wait(self.every):
                    return
                r.time_unix_ns = time.time_ns()
                try:
                    self.publish("sensor.reading", r)
                except citylink.Backpressure:
                    self.log.warning("queue full; reading %s dropped", r.sensor_id)
            if not self.loop:
                return

    def stop(self):
        self.done.set()
        self.thread.join()
