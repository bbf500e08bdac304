#!/usr/bin/python3
"""End-to-end prototype: a city with a camera fleet and the 112 video scenario; this
script raises a 112 report (as the platform's 112 system would) and prints the video
grant the scenario engine issues to the 112 centre: which cameras, for how long, why.

    PYTHONPATH=build/python /usr/bin/python3 samples/python/raise_112.py
"""
import os
import sys
import threading
import time

import citylink
from citylink.v1 import camera_pb2, geo_pb2, platform_event_pb2 as pe

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = os.environ.get("CITYLINK_PLUGIN_DIR", os.path.join(HERE, "..", "..", "build", "plugins"))

CITY = {
    "citylink": 1,
    "city": "prototype-112",
    "host": {"log_level": "warn"},
    "plugin_dirs": [PLUGINS],
    "plugins": [{
        "instance": "cameras-gangnam", "file": "camera_fleet.so",
        "grants": {"publish": ["camera.info", "camera.status"]},
        "cameras": {"id_prefix": "GN-", "stream_base": "rtsp://vms.example/"},
        "config": {"grid": {"origin_lat": 37.4950, "origin_lon": 127.0230, "rows": 10, "cols": 10,
                            "spacing_m": 80, "fov_deg": 90, "range_m": 120, "id_prefix": "GN"},
                   "stream_base": "rtsp://vms.example/live/", "owner": "Gangnam-gu control centre",
                   "heartbeat_ms": 1000},
    }],
    "scenarios": {"emergency_video_112": {"radius_m": 300, "max_cameras": 3, "grant_minutes": 2,
                                         "renew_before_seconds": 30}},
    # This script is the 112 system's stand-in: it may raise 112 reports, and as recipient
    # "112" it reads the grants addressed to the 112 centre. Nothing else.
    "incident_authority": {"112UC001": {"topic": "incident.112", "sources": ["prototype-112"]}},
    "clients": [{"name": "prototype-112", "recipient": "112",
                 "grants": {"publish": ["incident.112"], "subscribe": ["grant.video.112"]}}],
}


def main() -> int:
    granted = threading.Event()

    def on_grant(env: citylink.Envelope) -> None:
        g: camera_pb2.VideoShareGrant = env.message
        action = camera_pb2.VideoShareGrant.Action.Name(g.action)
        print(f"{action} grant {g.grant_id} for incident {g.incident_id} to '{g.recipient}':")
        print(f"  purpose: {g.purpose}\n  legal basis: {g.legal_basis}")
        print(f"  valid for {(g.expires_unix_ns - g.issued_unix_ns) / 1e9:.0f} s")
        for cam, uri in zip(g.camera_ids, g.stream_uris):
            print(f"  camera {cam}: {uri}")
        granted.set()

    with citylink.Host(CITY) as city:
        city.subscribe("grant.video.112", on_grant)
        time.sleep(1.5)  # the fleet registers its cameras with the engine at start
        report = pe.PlatformEvent(
            event_code="112UC001", event_name="112 emergency video request", grade=pe.EVENT_GRADE_URGENT,
            occurrence_number="20261202112000001", status=pe.EVENT_STATUS_OCCURRED,
            location=geo_pb2.GeoPoint(lat=37.4975, lon=127.0265), content="assault reported near the station",
            occurred_unix_ns=time.time_ns(), sender_system="112")
        city.publish("incident.112", report, correlation_id=report.occurrence_number)
        print(f"raised 112 report {report.occurrence_number} at ({report.location.lat}, {report.location.lon})")
        if not granted.wait(10):
            print("no grant within 10 s; see the host's log above", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
