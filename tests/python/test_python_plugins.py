"""Plugins written in Python: each instance in a real worker process speaking the worker
protocol, through the same router, grants, supervisor and counters as a C++ plugin."""
import os
import signal
import subprocess
import time

import pytest

import citylink
from conftest import Collector, PLUGINS, SOURCE, city, gauge, script_client, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.join(HERE, "plugins", "zoo.py")


def py_plugin(instance, cls, grants, config=None, **extra):
    entry = {"instance": instance, "runtime": "python", "file": ZOO, "class": cls, "grants": grants}
    if config is not None:
        entry["config"] = config
    entry.update(extra)
    return entry


def echo(config=None, **extra):
    return py_plugin("py-echo", "Echo", {"publish": ["sensor.echo"], "subscribe": ["sensor.reading"]}, config, **extra)


def watcher():
    return script_client(publish=["sensor.reading"], subscribe=["sensor.echo"])


def instance_stats(host, name):
    return host.stats()["instances"][name]


def worker_pids(instance):
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"runner.py" in b" ".join(argv) and instance.encode() in argv:
            pids.append(int(pid))
    return pids


def test_a_python_plugin_receives_and_publishes_through_the_router():
    got = Collector()
    with citylink.Host(city(gauge(), echo(), clients=[watcher()])) as host:
        host.subscribe("sensor.echo", got)
        wait_for(lambda: len(got) >= 5, "echoes from the Python plugin")
        # The worker needs Plugin and the messages, never the native host.
        for pid in worker_pids("py-echo"):
            with open(f"/proc/{pid}/maps") as maps:
                assert "_citylink" not in maps.read()
        (p,) = [p for p in host.plugins() if p["instance"] == "py-echo"]
        assert p["state"] == "running"
        assert p["plugin"] == "kr.citylink.test.py-echo"
        assert p["isolation"] == "process"
    e = got.items[0]
    assert e.source == "py-echo"  # stamped by the host, not taken from the worker
    assert e.message.sensor_id == "echo-WL-1"
    assert e.correlation_id  # the id of the reading it answered


def test_an_exception_in_on_message_is_logged_with_its_traceback_counted_and_the_plugin_goes_on(capfd):
    got = Collector()
    with citylink.Host(city(echo({"fail_on": "BAD"}), clients=[watcher()])) as host:
        host.subscribe("sensor.echo", got)
        from citylink.v1 import sensor_pb2
        host.publish("sensor.reading", sensor_pb2.SensorReading(sensor_id="BAD"))
        host.publish("sensor.reading", sensor_pb2.SensorReading(sensor_id="GOOD"))
        wait_for(lambda: len(got) >= 1, "the good one echoed")
        wait_for(lambda: instance_stats(host, "py-echo")["failed"] == 1, "the failure counted")
        assert instance_stats(host, "py-echo")["restarts"] == 0
    err = capfd.readouterr().err
    assert "Traceback" in err and "ValueError: cannot echo BAD" in err


def test_a_python_plugin_killed_mid_stream_is_restarted_by_the_supervisor():
    got = Collector()
    cfg = city(gauge(interval_ms=10), echo(worker={"backoff_ms": 50}), clients=[watcher()])
    with citylink.Host(cfg) as host:
        host.subscribe("sensor.echo", got)
        wait_for(lambda: len(got) >= 5, "echoes before the kill")
        # One: a worker of an earlier test may still be finishing its last send (linger).
        wait_for(lambda: len(worker_pids("py-echo")) == 1, "the worker process")
        (pid,) = worker_pids("py-echo")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: instance_stats(host, "py-echo")["restarts"] >= 1, "the restart")
        after = len(got)
        wait_for(lambda: len(got) >= after + 5, "echoes from the new worker")
        assert worker_pids("py-echo") and pid not in worker_pids("py-echo")


def test_a_python_crash_on_a_message_ends_only_its_worker():
    got = Collector()
    cfg = city(echo({"crash_on": "CRASH"}, worker={"backoff_ms": 50}), clients=[watcher()])
    with citylink.Host(cfg) as host:
        host.subscribe("sensor.echo", got)
        from citylink.v1 import sensor_pb2
        host.publish("sensor.reading", sensor_pb2.SensorReading(sensor_id="CRASH"))
        wait_for(lambda: instance_stats(host, "py-echo")["restarts"] >= 1, "the restart after the segfault")
        host.publish("sensor.reading", sensor_pb2.SensorReading(sensor_id="AFTER"))
        wait_for(lambda: any(e.message.sensor_id == "echo-AFTER" for e in list(got.items)), "an echo after it")


def test_a_python_plugin_gets_only_its_grants():
    counter = py_plugin("py-counter", "Counter", {"publish": ["sensor.reading"]}, {"n": 5, "topic": "camera.status"})
    with citylink.Host(city(counter)) as host:
        wait_for(lambda: instance_stats(host, "py-counter")["rejected"]["not_granted"] == 5, "five refusals")
        assert instance_stats(host, "py-counter")["published"] == 0


@pytest.mark.parametrize("cls,reason", [
    ("BadConfig", "threshold must be a number"),
    ("NotAPlugin", "not a subclass of citylink.Plugin"),
    ("Missing", "has no class Missing"),
    ("BadId", "Not A Reverse DNS Id!"),
])
def test_a_broken_python_plugin_is_refused_with_why_and_the_city_runs_on(cls, reason):
    broken = py_plugin("py-broken", cls, {"publish": ["sensor.reading"]})
    with citylink.Host(city(gauge(), broken)) as host:
        plugins = {p["instance"]: p for p in host.plugins()}
    assert plugins["gauge-1"]["state"] == "running"
    assert plugins["py-broken"]["state"] == "failed"
    assert reason in plugins["py-broken"]["error"]


def test_an_allow_list_that_does_not_pin_the_python_file_refuses_it():
    cfg = city(echo(), allow_list=[{"plugin": "kr.citylink.test.py-echo", "sha256": "0" * 64}])
    with citylink.Host(cfg) as host:
        (p,) = host.plugins()
    assert p["state"] == "failed"
    assert "sha256" in p["error"].lower() or "allow" in p["error"].lower()


def test_python_runtime_config_mistakes_are_config_errors():
    with pytest.raises(citylink.ConfigError, match="always runs in its own worker process"):
        citylink.Host(city(echo(isolation="none")))
    no_class = echo()
    del no_class["class"]
    with pytest.raises(citylink.ConfigError, match="class"):
        citylink.Host(city(no_class))
    with pytest.raises(citylink.ConfigError, match="not a runtime"):
        citylink.Host(city(echo(runtime="ruby")))


def test_citylink_run_runs_the_csv_sample_plugin(tmp_path):
    cfg = tmp_path / "city.yaml"
    cfg.write_text(f"""citylink: 1
city: csv-city
host: {{state_dir: {tmp_path}}}
plugin_dirs: [{os.path.join(SOURCE, 'samples/python')}, {PLUGINS}]
plugins:
  - instance: csv-gauges
    runtime: python
    file: csv_sensor.py
    class: CsvSensor
    grants: {{publish: [sensor.reading]}}
    config: {{csv: readings.csv, interval_ms: 10, loop: true}}
  - instance: ops-console
    file: console_sink.so
    grants: {{subscribe: [sensor.reading]}}
""")
    from citylink import _paths
    exe = _paths.citylink_bin()
    done = subprocess.run([exe, "run", "--config", str(cfg), "--for", "3"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.strip()}
    assert "csv-gauges" in rows and "ops-console" in rows, done.stdout
    assert "replaying 6 readings" in done.stderr


def test_a_python_plugin_is_held_to_its_publish_rate_in_its_worker():
    # 100 a second: a turn every 10 ms, too far off to wait for, so most of 600 quick attempts
    # are refused in the worker (Backpressure) and counted by the host from its heartbeats.
    counter = py_plugin("py-counter", "Counter", {"publish": ["sensor.reading"]}, {"n": 600}, publish_rate=100)
    t0 = time.monotonic()
    with citylink.Host(city(counter, clients=[])) as host:
        wait_for(lambda: instance_stats(host, "py-counter")["published"]
                 + instance_stats(host, "py-counter")["refused_rate"] == 600, "every attempt accounted for")
        seconds = time.monotonic() - t0
        s = instance_stats(host, "py-counter")
        assert s["refused_rate"] > 0
        assert s["published"] <= 10 + int(seconds * 100) + 1
        assert s["dropped_outgoing"] == 0
