"""The Python samples a user copies (samples/python/) run as documented."""
import os
import signal
import subprocess
import sys

import citylink
from citylink.v1 import geo_pb2, platform_event_pb2 as pe
from conftest import PLUGINS, SOURCE, city, script_client

SAMPLES = os.path.join(SOURCE, "samples", "python")


def env():
    e = dict(os.environ)
    e["CITYLINK_PLUGIN_DIR"] = PLUGINS
    return e


def test_raise_112_prints_the_grant_the_scenario_issued():
    done = subprocess.run([sys.executable, os.path.join(SAMPLES, "raise_112.py")], capture_output=True, text=True,
                          timeout=120, env=env())
    assert done.returncode == 0, done.stderr
    assert "ACTION_ISSUE grant G-20261202112000001" in done.stdout
    assert "to '112'" in done.stdout
    assert done.stdout.count("camera GN-") == 3


def test_watch_city_prints_incidents_from_a_live_host(curve_server, tmp_path):
    key_file, server_public = curve_server
    watcher = citylink.keygen()
    secret = tmp_path / "watcher.key"
    secret.write_text(watcher.secret)
    secret.chmod(0o600)
    cfg = city(clients=[script_client(name="feeder", publish=["incident.112"], subscribe=[])],
               remote={"bind": "tcp://127.0.0.1:0", "secret_key_file": key_file,
                       "clients": [{"name": "watcher", "public_key": watcher.public,
                                    "grants": {"subscribe": ["incident.*"]}}]})
    with citylink.Host(cfg) as host:
        p = subprocess.Popen([sys.executable, os.path.join(SAMPLES, "watch_city.py"), "--endpoint",
                              host.remote_endpoint(), "--secret-key-file", str(secret),
                              # "=": a Z85 key may begin with "-" (one run in about 85 failed so)
                              "--server-key=" + server_public,
                              "--for", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
        try:
            first = p.stdout.readline()
            if "connected to" not in first:  # say why, not only that it did not
                p.kill()
                assert False, f"watch_city.py did not connect: {first!r} {p.communicate()[1]!r}"
            event = pe.PlatformEvent(event_code="112UC001", event_name="test report", occurrence_number="N-1",
                                     location=geo_pb2.GeoPoint(lat=37.5, lon=127.0))
            host.publish("incident.112", event)
            line = p.stdout.readline()
            assert "incident.112" in line and "from feeder" in line and "112UC001" in line and "#N-1" in line
        finally:
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
