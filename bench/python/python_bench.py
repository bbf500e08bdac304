#!/usr/bin/python3
"""Python throughput beside pyzmq, in one script on one machine (docs/performance.md):

  into Python:   messages/s reaching a Python callback (citylink.Host.subscribe) from a C++
                 plugin publishing as fast as the bus takes it, beside a pyzmq PULL loop fed
                 by a PUSH in another process over ipc;
  out of Python: messages/s a Python loop publishes (citylink.Host.publish of a protobuf
                 message, delivered to a C++ counter plugin), beside a pyzmq PUSH loop of the
                 same bytes to a PULL in another process.

    PYTHONPATH=build/python /usr/bin/python3 bench/python/python_bench.py [COUNT]

Prints a table and writes build/bench/python.json. Benchmarks, not tests: nothing asserts."""
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time

import zmq

import citylink
from citylink.v1 import sensor_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("CITYLINK_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
PAYLOAD = 200


def _pusher(endpoint: str, n: int, size: int) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.sndhwm = 0
    s.connect(endpoint)
    msg = b"p" * size
    for _ in range(n):
        s.send(msg)
    s.close(linger=-1)
    ctx.term()


def _puller(endpoint: str, n: int, ready) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.rcvhwm = 0
    s.bind(endpoint)
    ready.set()
    for _ in range(n):
        s.recv()
    s.close()
    ctx.term()


def pyzmq_in(n: int) -> float:
    """A Python PULL loop receiving n messages from a PUSH in another process."""
    with tempfile.TemporaryDirectory() as d:
        ep = f"ipc://{d}/in"
        ctx = zmq.Context()
        s = ctx.socket(zmq.PULL)
        s.rcvhwm = 0
        s.bind(ep)
        p = mp.Process(target=_pusher, args=(ep, n, PAYLOAD))
        p.start()
        s.recv()  # the clock starts at the first message, as for CityLink below
        t0 = time.perf_counter()
        for _ in range(n - 1):
            s.recv()
        dt = time.perf_counter() - t0
        p.join()
        s.close()
        ctx.term()
    return (n - 1) / dt


def pyzmq_out(n: int) -> float:
    """A Python PUSH loop sending n messages to a PULL in another process (until all arrived)."""
    with tempfile.TemporaryDirectory() as d:
        ep = f"ipc://{d}/out"
        ready = mp.Event()
        p = mp.Process(target=_puller, args=(ep, n, ready))
        p.start()
        ready.wait()
        ctx = zmq.Context()
        s = ctx.socket(zmq.PUSH)
        s.sndhwm = 0
        s.connect(ep)
        msg = sensor_pb2.SensorReading(sensor_id="S-1", value=1.0, unit="x" * (PAYLOAD - 20)).SerializeToString()
        t0 = time.perf_counter()
        for _ in range(n):
            s.send(msg)
        p.join()
        dt = time.perf_counter() - t0
        s.close()
        ctx.term()
    return n / dt


def city(*plugins, clients):
    return {"citylink": 1, "city": "py-bench", "host": {"log_level": "warn", "queue_depth": 100000, "publish_rate": "unlimited"},
            "plugin_dirs": [os.path.join(BUILD, "bench", "plugins")], "plugins": list(plugins), "clients": clients}


def citylink_in(n: int):
    """A C++ publisher plugin -> router -> a Python callback counting n messages."""
    pub = {"instance": "pub", "file": "bench_plugins.so", "plugin": "kr.citylink.bench.publisher",
           "grants": {"publish": ["bench.data"]}, "config": {"count": n, "payload_bytes": PAYLOAD}}
    done = threading.Event()
    state = {"n": 0, "t0": 0.0}

    def cb(env):
        state["n"] += 1
        if state["n"] == 1:
            state["t0"] = time.perf_counter()
        elif state["n"] == n:
            state["t1"] = time.perf_counter()
            done.set()

    # The script's queue exists from start, so nothing the plugin publishes before the
    # subscription is lost.
    cfg = city(pub, clients=[{"name": "bench", "grants": {"subscribe": ["bench.data"]}}])
    with citylink.Host(cfg) as host:
        host.subscribe("bench.data", cb)
        if not done.wait(300):
            print(f"into Python: only {state['n']} of {n} arrived", file=sys.stderr)
            return state["n"] / (time.perf_counter() - state["t0"]), 0
        dropped = host.stats()["clients"]["bench"]["dropped_incoming"]
    return (n - 1) / (state["t1"] - state["t0"]), dropped


def citylink_out(n: int) -> float:
    """A Python loop publishing n protobuf messages -> router -> a C++ counter plugin."""
    sink = {"instance": "sink", "file": "bench_plugins.so", "plugin": "kr.citylink.bench.counter",
            "grants": {"subscribe": ["sensor.reading"]}}
    msg = sensor_pb2.SensorReading(sensor_id="S-1", value=1.0, unit="x" * (PAYLOAD - 20))
    with citylink.Host(city(sink, clients=[{"name": "bench", "grants": {"publish": ["sensor.reading"]}}])) as host:
        t0 = time.perf_counter()
        sent = 0
        while sent < n:
            try:
                host.publish("sensor.reading", msg)
                sent += 1
            except citylink.Backpressure:
                time.sleep(0.0005)
        deadline = time.monotonic() + 300
        while host.stats()["instances"]["sink"]["delivered"] < n and time.monotonic() < deadline:
            time.sleep(0.001)
        dt = time.perf_counter() - t0
    return n / dt


def median_of(runs: int, f, n: int):
    results = [f(n) for _ in range(runs)]
    key = (lambda r: r[0]) if isinstance(results[0], tuple) else (lambda r: r)
    return sorted(results, key=key)[runs // 2]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    # Interleaved, median of `runs` each: two cores make single runs noisy.
    zin = median_of(runs, pyzmq_in, n)
    cin, dropped = median_of(runs, citylink_in, n)
    zout = median_of(runs, pyzmq_out, n)
    cout = median_of(runs, citylink_out, n)
    rows = [("into Python (callback / PULL loop)", cin, zin), ("out of Python (publish / PUSH loop)", cout, zout)]
    print(f"{n} messages of {PAYLOAD} bytes, median of {runs} runs; CityLink beside pyzmq PUSH/PULL over ipc")
    print(f"{'':38} {'CityLink msg/s':>15} {'pyzmq msg/s':>13} {'ratio':>7}")
    for name, c, z in rows:
        print(f"{name:38} {c:>15,.0f} {z:>13,.0f} {c / z:>7.2f}")
    if dropped:
        print(f"(the Python subscriber's queue dropped {dropped} messages; they are counted, not waited for)")
    out = {"count": n, "runs": runs, "payload_bytes": PAYLOAD,
           "into_python": {"citylink": cin, "pyzmq": zin, "ratio": cin / zin, "dropped": dropped},
           "out_of_python": {"citylink": cout, "pyzmq": zout, "ratio": cout / zout}}
    os.makedirs(os.path.join(BUILD, "bench"), exist_ok=True)
    with open(os.path.join(BUILD, "bench", "python.json"), "w") as f:
        json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
