"""citylink.connect: a script talking to a running host over its CURVE TCP endpoint."""
import pytest

import citylink
from citylink.v1 import sensor_pb2
from conftest import Collector, city, console, gauge, wait_for


def remote_city(server_key_file, client_public, **client):
    entry = {"name": "field-script", "public_key": client_public,
             "grants": {"publish": ["sensor.reading"], "subscribe": ["sensor.reading"]}}
    entry.update(client)
    return city(gauge(), console(), remote={"bind": "tcp://127.0.0.1:0", "secret_key_file": server_key_file,
                                            "clients": [entry]})


def test_a_remote_client_with_its_key_subscribes_and_publishes(curve_server):
    key_file, server_public = curve_server
    mine = citylink.keygen()
    with citylink.Host(remote_city(key_file, mine.public)) as host:
        endpoint = host.remote_endpoint()
        assert endpoint.startswith("tcp://127.0.0.1:")
        keys = citylink.Keys(mine.public, mine.secret, server_public)
        got = Collector()
        with citylink.connect(endpoint, keys=keys) as remote:
            assert remote.name == "field-script"
            remote.subscribe("sensor.reading", got)
            wait_for(lambda: len(got) >= 3, "readings over TCP")
            assert got.items[0].source == "gauge-1"
            assert got.items[0].message.sensor_id == "WL-1"
            before = host.stats()["instances"]["console-1"]["delivered"]
            for i in range(5):
                remote.publish("sensor.reading", sensor_pb2.SensorReading(sensor_id=f"R-{i}"))
            wait_for(lambda: host.stats()["remote"]["field-script"]["published"] == 5, "five remote publishes")
            wait_for(lambda: host.stats()["instances"]["console-1"]["delivered"] >= before + 5, "console deliveries")


def test_a_remote_publish_outside_its_grants_comes_back_as_an_error(curve_server):
    key_file, server_public = curve_server
    mine = citylink.keygen()
    with citylink.Host(remote_city(key_file, mine.public)) as host:
        keys = citylink.Keys(mine.public, mine.secret, server_public)
        with citylink.connect(host.remote_endpoint(), keys=keys) as remote:
            remote.publish("camera.status", sensor_pb2.SensorReading())
            wait_for(lambda: host.stats()["remote"]["field-script"]["rejected"]["not_granted"] == 1,
                     "the host to refuse it")


def test_a_client_without_a_listed_key_is_refused(curve_server):
    key_file, server_public = curve_server
    listed, stranger = citylink.keygen(), citylink.keygen()
    with citylink.Host(remote_city(key_file, listed.public)) as host:
        keys = citylink.Keys(stranger.public, stranger.secret, server_public)
        with pytest.raises(ConnectionRefusedError, match="remote.clients"):
            citylink.connect(host.remote_endpoint(), keys=keys, timeout=1.0)


def test_keys_load_reads_a_keygen_secret_file(curve_server, tmp_path):
    key_file, server_public = curve_server
    k = citylink.Keys.load(key_file, "x" * 40)
    assert len(k.public) == 40 and len(k.secret) == 40 and k.server == "x" * 40
    bad = tmp_path / "short.key"
    bad.write_text("too-short")
    with pytest.raises(ValueError, match="40-character"):
        citylink.Keys.load(bad, server_public)
