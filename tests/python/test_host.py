"""citylink.Host: a real host with real plugins in this process; the script as its client."""
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import citylink
from citylink.v1 import sensor_pb2
from conftest import Collector, TEST_PLUGINS, city, console, gauge, script_client, wait_for


def counters(host, instance):
    return host.stats()["instances"][instance]


def test_a_plugins_messages_reach_a_python_callback_decoded():
    got = Collector()
    with citylink.Host(city(gauge(), clients=[script_client()])) as host:
        host.subscribe("sensor.reading", got)
        wait_for(lambda: len(got) >= 5, "five readings")
    env = got.items[0]
    assert env.topic == "sensor.reading"
    assert env.source == "gauge-1"  # stamped by the host
    assert env.id and env.time_unix_ns > 0
    assert isinstance(env.message, sensor_pb2.SensorReading)
    assert env.message.sensor_id == "WL-1"


def test_a_python_publish_reaches_a_plugin_and_is_stamped_with_the_clients_name():
    with citylink.Host(city(console(), clients=[script_client()])) as host:
        for i in range(10):
            host.publish("sensor.reading", sensor_pb2.SensorReading(sensor_id=f"PY-{i}"), correlation_id="c-1")
        wait_for(lambda: counters(host, "console-1")["delivered"] == 10, "the console to get all ten")
        assert host.stats()["clients"]["script"]["published"] == 10


def test_publish_outside_the_grants_is_refused_with_the_fix_and_counted():
    with citylink.Host(city(clients=[script_client()])) as host:
        with pytest.raises(PermissionError, match=r"not granted to publish 'incident\.112'.*clients:"):
            host.publish("incident.112", sensor_pb2.SensorReading())
        with pytest.raises(PermissionError, match="only by the scenario engine"):
            host.publish("grant.video.112", sensor_pb2.SensorReading())
        with pytest.raises(ValueError, match="not a topic"):
            host.publish("Not A Topic", sensor_pb2.SensorReading())
        with pytest.raises(TypeError, match="protobuf message"):
            host.publish("sensor.reading", {"sensor_id": "x"})
        rejected = host.stats()["clients"]["script"]["rejected"]
        assert rejected["not_granted"] == 1 and rejected["reserved"] == 1 and rejected["bad_topic"] == 1


def test_subscribing_wider_than_the_grants_is_refused():
    with citylink.Host(city(clients=[script_client(subscribe=["sensor.reading"])])) as host:
        with pytest.raises(PermissionError, match="not granted 'sensor'"):
            host.subscribe("sensor", print)
        with pytest.raises(PermissionError, match="not granted"):
            host.subscribe("*", print)
        host.subscribe("sensor.reading", print)  # exactly the grant is fine


def test_without_a_clients_entry_a_script_may_neither_publish_nor_subscribe():
    with citylink.Host(city(gauge())) as host:
        with pytest.raises(PermissionError, match="lists no `clients:`"):
            host.publish("sensor.reading", sensor_pb2.SensorReading())
        with pytest.raises(PermissionError, match="lists no `clients:`"):
            host.subscribe("sensor.reading", print)


def test_an_exception_in_a_callback_is_logged_with_its_traceback_counted_and_the_rest_runs(caplog):
    good = Collector()

    def bad(env):
        raise KeyError("boom in the callback")

    with citylink.Host(city(gauge(), clients=[script_client()])) as host:
        host.subscribe("sensor.reading", bad)
        host.subscribe("sensor.reading", good)
        with caplog.at_level(logging.ERROR, logger="citylink"):
            wait_for(lambda: len(good) >= 3, "the good callback to go on")
        errors = host.stats()["callbacks"]["errors"]
    assert errors >= 3
    text = caplog.text
    assert "Traceback" in text and "boom in the callback" in text and "bad" in text


def test_unsubscribing_inside_the_callback_stops_further_calls():
    calls = []
    other = Collector()
    with citylink.Host(city(gauge(), clients=[script_client()])) as host:
        def once(env):
            calls.append(env)
            host.unsubscribe(sub)
            host.unsubscribe(sub)  # twice does nothing
        sub = host.subscribe("sensor.reading", once)
        host.subscribe("sensor.reading", other)
        wait_for(lambda: len(other) >= 10, "ten more readings")
    assert len(calls) == 1
    assert not sub.active


def test_stop_from_another_thread_ends_run_and_stops_every_plugin():
    host = citylink.Host(city(gauge(), console(), clients=[script_client()]))
    host.start()
    seen = Collector()
    host.subscribe("sensor.reading", seen)

    def stopper():
        wait_for(lambda: len(seen) >= 3, "readings before the stop")
        host.stop()

    t = threading.Thread(target=stopper)
    t.start()
    assert host.run() is True  # returns when the other thread stopped the host
    t.join()
    assert not host.running
    assert all(p["state"] == "stopped" for p in host.plugins())
    host.stop()  # idempotent


def test_stop_from_inside_a_callback_does_not_deadlock():
    with citylink.Host(city(gauge(), clients=[script_client()])) as host:
        done = threading.Event()

        def stop_here(env):
            host.stop()
            done.set()

        host.subscribe("sensor.reading", stop_here)
        assert host.run() is True  # returns once the callback asked for the stop
        assert done.wait(30)  # and the callback itself came back from stop()
    assert not host.running


def test_a_slow_callback_does_not_stall_the_plugins():
    release = threading.Event()
    entered = threading.Event()

    def slow(env):
        entered.set()
        release.wait(60)

    with citylink.Host(city(gauge(interval_ms=5), console(), clients=[script_client()])) as host:
        host.subscribe("sensor.reading", slow)
        entered.wait(30)
        before = counters(host, "console-1")["delivered"]
        # The Python callback is blocked; C++ routing and the console go on.
        wait_for(lambda: counters(host, "console-1")["delivered"] >= before + 20, "the console to go on")
        release.set()


def test_plugins_lists_each_instance_with_state_grants_and_why_one_failed():
    broken = {"instance": "broken-1", "file": os.path.join(TEST_PLUGINS, "not_a_library.so"),
              "grants": {"publish": ["sensor.reading"]}}
    with citylink.Host(city(gauge(), broken)) as host:
        plugins = {p["instance"]: p for p in host.plugins()}
    assert plugins["gauge-1"]["state"] == "running"
    assert plugins["gauge-1"]["plugin"] == "kr.citylink.samples.water-level-sensor"
    assert plugins["gauge-1"]["publish_grants"] == ["sensor.reading"]
    assert plugins["broken-1"]["state"] == "failed"
    assert "not_a_library.so" in plugins["broken-1"]["error"]


def test_stats_and_metrics_are_plain_data():
    with citylink.Host(city(gauge(), console())) as host:
        wait_for(lambda: counters(host, "console-1")["delivered"] >= 3, "deliveries")
        stats = host.stats()
        assert stats["router"]["routed"] >= 3
        assert stats["instances"]["gauge-1"]["published"] >= 3
        assert 'citylink_published_total{instance="gauge-1"}' in host.metrics()


def test_a_bad_config_is_a_config_error_naming_the_line_and_the_fix(tmp_path):
    bad = city(gauge())
    bad["plugins"][0]["grantz"] = {}
    with pytest.raises(citylink.ConfigError, match=r"<dict>:\d+:\d+: .*grantz"):
        citylink.Host(bad)
    path = tmp_path / "city.yaml"
    path.write_text("citylink: 1\nplugins:\n  - instance: BAD NAME\n    file: x.so\n")
    with pytest.raises(citylink.ConfigError, match=r"city.yaml:3"):
        citylink.Host(path)
    with pytest.raises(citylink.ConfigError):
        citylink.Host(tmp_path / "missing.yaml")


def test_a_host_runs_once_and_refuses_use_before_start():
    host = citylink.Host(city(clients=[script_client()]))
    with pytest.raises(RuntimeError, match="not running"):
        host.run(0.1)
    with pytest.raises(RuntimeError, match="not running"):
        host.publish("sensor.reading", sensor_pb2.SensorReading())
    host.start()
    host.stop()
    with pytest.raises(RuntimeError, match="runs once"):
        host.start()


def test_several_clients_need_a_choice_and_each_gets_its_own_grants():
    clients = [script_client(name="reader", publish=[]), script_client(name="writer", subscribe=[])]
    with pytest.raises(ValueError, match="several clients"):
        citylink.Host(city(clients=clients))
    with citylink.Host(city(clients=clients), client="reader") as host:
        with pytest.raises(PermissionError):
            host.publish("sensor.reading", sensor_pb2.SensorReading())


def test_ctrl_c_stops_a_running_host_cleanly(tmp_path):
    script = tmp_path / "run_city.py"
    script.write_text(textwrap.dedent(f"""
        import citylink, logging, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from conftest import city, gauge, console
        logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
        with citylink.Host(city(gauge(), console())) as host:
            finished = host.run()
            print("run returned", finished, "running", host.running, flush=True)
        print("stopped cleanly", flush=True)
        """))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:  # run() says so from inside its wait
        if "Ctrl-C stops it" in line:
            break
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "run returned False running False" in out
    assert "stopped cleanly" in out
