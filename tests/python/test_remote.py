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


def test_a_script_forwards_between_two_centres_and_each_message_keeps_its_identity(curve_server):
    """Two operations centres (docs/remote.md §4.1): a script reads centre A and forwards to
    centre B, where it is listed as a peer host. B's subscribers see A's id and origin, the
    peer's name as source; an envelope claiming B as its origin is refused as a loop."""
    key_file, server_public = curve_server
    reader, peer, watcher = citylink.keygen(), citylink.keygen(), citylink.keygen()
    remote = {"bind": "tcp://127.0.0.1:0", "secret_key_file": key_file}
    centre_a = city(gauge(), city="centre-a", remote=dict(remote, clients=[
        {"name": "to-centre-b", "public_key": reader.public, "grants": {"subscribe": ["sensor.reading"]}}]))
    centre_b = city(console(), city="centre-b", remote=dict(remote, clients=[
        {"name": "centre-a", "public_key": peer.public, "peer_host": True, "origins": ["centre-a"],
         "grants": {"publish": ["sensor.reading"]}},
        {"name": "watcher", "public_key": watcher.public, "grants": {"subscribe": ["sensor.reading"]}}]))
    keys = lambda k: citylink.Keys(k.public, k.secret, server_public)  # noqa: E731
    with citylink.Host(centre_a) as a, citylink.Host(centre_b) as b:
        got, read = Collector(), Collector()
        with citylink.connect(b.remote_endpoint(), keys=keys(watcher)) as watch, \
                citylink.connect(b.remote_endpoint(), keys=keys(peer)) as to_b, \
                citylink.connect(a.remote_endpoint(), keys=keys(reader)) as from_a:
            watch.subscribe("sensor.reading", got)

            def forward(env):
                read(env)
                to_b.forward(env)
            from_a.subscribe("sensor.reading", forward)
            wait_for(lambda: len(got) >= 3, "readings forwarded from centre A to centre B")
            at_a = {e.id: e for e in read.items}
            for e in got.items[:3]:
                assert e.origin == "centre-a"
                assert e.source == "centre-a"  # who vouches for it at B: the peer's listed name
                assert e.id in at_a, "B must keep the id A gave the message"
                assert e.time_unix_ns == at_a[e.id].time_unix_ns
                assert e.message.sensor_id == "WL-1"

            loop = sensor_pb2.SensorReading(sensor_id="LOOP")
            env = citylink.Envelope.decode(got.items[0].raw.SerializeToString())
            env.raw.origin, env.raw.payload = "centre-b", loop.SerializeToString()
            to_b.forward(env)
            wait_for(lambda: b.stats()["remote"]["centre-a"]["rejected"]["loop"] == 1, "the loop to be refused")
            assert all(e.message.sensor_id != "LOOP" for e in got.items)


def test_a_backlog_of_large_messages_never_makes_a_batch_the_host_cuts(curve_server):
    # A host whose frames may be 4096 + 4096 bytes: 200 readings of 3,000 bytes published at
    # once leave in batches that each fit, so none is lost to a cut connection.
    key_file, server_public = curve_server
    mine = citylink.keygen()
    cfg = remote_city(key_file, mine.public)
    cfg["host"]["max_message_bytes"] = 4096
    with citylink.Host(cfg) as host:
        keys = citylink.Keys(mine.public, mine.secret, server_public)
        with citylink.connect(host.remote_endpoint(), keys=keys) as remote:
            for i in range(200):
                remote.publish("sensor.reading", sensor_pb2.SensorReading(sensor_id=f"B-{i}", kind="x" * 3000))
            wait_for(lambda: host.stats()["remote"]["field-script"]["published"] == 200, "every large publish")
            assert remote.dropped == 0


def test_a_client_says_hello_again_when_the_host_restarts_so_its_subscriptions_keep_delivering(curve_server):
    # The restarted host knows nothing of the client until it says HELLO: without it the
    # client stays connected and its subscription silent.
    key_file, server_public = curve_server
    mine = citylink.keygen()
    keys = citylink.Keys(mine.public, mine.secret, server_public)
    got = Collector()
    with citylink.Host(remote_city(key_file, mine.public)) as first:
        endpoint = first.remote_endpoint()
        remote = citylink.connect(endpoint, keys=keys)
        remote.subscribe("sensor.reading", got)
        wait_for(lambda: len(got) >= 1, "a reading from the first host")
    try:
        cfg = remote_city(key_file, mine.public)
        cfg["remote"]["bind"] = endpoint  # the same port
        with citylink.Host(cfg) as second:
            wait_for(lambda: remote.reconnects == 1, "the client to reconnect and say HELLO again")
            seen = len(got)
            wait_for(lambda: len(got) >= seen + 3, "readings from the restarted host")
            wait_for(lambda: second.stats()["remote"]["field-script"]["delivered"] >= 3, "the host to count them")
    finally:
        remote.close()
