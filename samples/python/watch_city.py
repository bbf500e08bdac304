#!/usr/bin/python3
"""Watch a live city: connect to a running `citylink run` host over its CURVE endpoint and
print every incident (and whatever else the city config grants this client) as it happens.

    citylink keygen --curve --secret-key-file watcher.key      # once; the printed public
                                                              # key goes into remote.clients
    PYTHONPATH=build/python /usr/bin/python3 samples/python/watch_city.py \\
        --endpoint tcp://127.0.0.1:7450 --secret-key-file watcher.key --server-key="<host's public key>"

(Write --server-key=KEY with the '=': a Z85 key may begin with '-', which would otherwise
read as an option.)
"""
import argparse
import datetime
import sys

import citylink


def show(env: citylink.Envelope) -> None:
    when = datetime.datetime.fromtimestamp(env.time_unix_ns / 1e9).strftime("%H:%M:%S.%f")[:-3]
    m = env.message
    if env.schema == "citylink.v1.PlatformEvent":
        what = f"{m.event_code} {m.event_name!r} #{m.occurrence_number} at ({m.location.lat:.5f}, {m.location.lon:.5f})"
    elif m is not None:
        what = " ".join(str(m).split())[:160]
    else:
        what = f"{len(env.payload)} bytes of {env.schema or 'unknown schema'}"
    print(f"{when} {env.topic:<22} from {env.source:<16} {what}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True, help="the host's remote.bind, e.g. tcp://10.0.0.5:7450")
    ap.add_argument("--secret-key-file", required=True, help="this client's CURVE secret key (citylink keygen --curve)")
    ap.add_argument("--server-key", required=True, help="the host's CURVE public key")
    ap.add_argument("--prefix", action="append", help="topic prefixes to print (default: incident)")
    ap.add_argument("--for", dest="seconds", type=float, help="stop after this many seconds (default: Ctrl-C)")
    a = ap.parse_args()
    keys = citylink.Keys.load(a.secret_key_file, a.server_key)
    try:
        client = citylink.connect(a.endpoint, keys=keys)
    except ConnectionRefusedError as e:
        print(f"watch_city: {e}", file=sys.stderr)
        return 1
    with client:
        # Subscribed first: the client drops what arrives for no subscription, and whoever
        # reads "connected" may send at once.
        for prefix in a.prefix or ["incident"]:
            client.subscribe(prefix, show)
        print(f"connected to {a.endpoint} as '{client.name}'", flush=True)
        client.run(a.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
