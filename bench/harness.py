#!/usr/bin/python3
"""The side-by-side performance harness (issue 12): runs every benchmark of this tree in
one go on this machine, each with a deadline, and prints one table of comparisons, each a
ratio to its baseline from the same run. Writes build/bench/results.json.

    scripts/bench            # the full set (about 15 minutes on 2 cores)
    scripts/bench --quick    # smaller counts, under 2 minutes (CI runs this)

A benchmark that does not finish in time is reported with what it printed, never waited
for. Numbers are never asserted; the exit status is 1 only when a benchmark crashed or
printed nothing this harness can read (a broken benchmark, not a slow one)."""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(argv, timeout, env=None):
    """(stdout, stderr, status) where status is 'ok', 'timeout' or 'failed (exit N)'."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        status = "ok" if p.returncode == 0 else f"failed (exit {p.returncode})"
        return p.stdout, p.stderr, status, time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return out, err, "timeout", time.monotonic() - t0


def number(pattern, text, group=1):
    m = re.search(pattern, text)
    return float(m.group(group).replace(",", "")) if m else None


def numbers(text, patterns):
    """{name: the number each pattern finds in text}, leaving out those it does not find."""
    found = {name: number(p, text) for name, p in patterns.items()}
    return {k: v for k, v in found.items() if v is not None}


class Harness:
    def __init__(self, build, quick):
        self.build, self.quick = build, quick
        self.results = {"quick": quick, "machine": {"cores": os.cpu_count()}, "benchmarks": {}}
        self.rows = []  # (comparison, value, baseline, ratio, unit)
        self.broken = []

    def record(self, name, status, seconds, data, out, err):
        entry = {"status": status, "seconds": round(seconds, 1), **data}
        if status != "ok" or not data:
            entry["output"] = (out[-2000:] + "\n" + err[-2000:]).strip()
        self.results["benchmarks"][name] = entry
        if not data and status != "timeout":
            self.broken.append(name)
        print(f"  {name:<34} {status:<18} {seconds:6.1f} s", flush=True)

    def bin(self, name):
        return os.path.join(self.build, "bench", name)

    def throughput(self):
        n, rounds = (200_000, 3) if self.quick else (1_000_000, 5)
        out, err, status, secs = run([self.bin("citylink_bench_throughput"), str(n), "200", str(rounds), "isolated"],
                                     600)
        d = numbers(out, {
            "raw_inproc": r"raw libzmq inproc PUSH/PULL\s+([\d.]+) msg/s",
            "citylink_in_process": r"CityLink plugin -> router -> plugin\s+([\d.]+) msg/s",
            "raw_ipc": r"raw libzmq ipc PUSH/PULL\s+([\d.]+) msg/s",
            "citylink_isolated": r"CityLink, both plugins isolated\s+([\d.]+) msg/s",
        })
        self.record("routing throughput", status, secs, d, out, err)
        if "raw_inproc" in d and "citylink_in_process" in d:
            self.rows.append(("in-process routing / raw inproc", d["citylink_in_process"], d["raw_inproc"], "msg/s", 0.80))
        if "raw_ipc" in d and "citylink_isolated" in d:
            self.rows.append(("isolated routing / raw ipc", d["citylink_isolated"], d["raw_ipc"], "msg/s", None))

    def api_overhead(self):
        n, rounds = (200_000, 3) if self.quick else (1_000_000, 5)
        out, err, status, secs = run([self.bin("citylink_bench_throughput"), str(n), "200", str(rounds), "api"], 600)
        d = numbers(out, {
            "without_api": r"routing without the management API\s+([\d.]+) msg/s",
            "with_api_10_streams": r"routing with the API, \d+ streams\s+([\d.]+) msg/s",
        })
        self.record("routing with the management API", status, secs, d, out, err)
        if len(d) == 2:
            self.rows.append(("routing with API + 10 streams / without", d["with_api_10_streams"], d["without_api"],
                              "msg/s", 0.95))

    def scenario(self, cameras, flood=0, flood_rate=None):
        """flood_rate: the flooder's publish_rate; None: the host's default, 0: unlimited."""
        reports = 500 if self.quick or flood else 2000
        args = [self.bin("citylink_bench_scenario_latency"), str(cameras), str(reports)] + ([str(flood)] if flood else [])
        if flood and flood_rate is not None:
            args.append(str(flood_rate))
        out, err, status, secs = run(args, 120 if self.quick else 600)
        pat = r"112 report -> engine -> VideoShareGrant received\s+p50\s+([\d.]+) us\s+p99\s+([\d.]+) us\s+p99\.9\s+([\d.]+)"
        m = re.search(pat, out)
        bus = re.search(r"bus only .*?p50\s+([\d.]+) us\s+p99\s+([\d.]+) us", out)
        reg = re.search(r"(\d+) of (\d+) cameras registered", out)
        d = {}
        if m:
            d = {"p50_us": float(m.group(1)), "p99_us": float(m.group(2)), "p999_us": float(m.group(3))}
        if bus:
            d.update({"bus_p50_us": float(bus.group(1)), "bus_p99_us": float(bus.group(2))})
        if reg:
            d.update({"cameras_registered": int(reg.group(1)), "cameras": int(reg.group(2))})
        rate = "" if not flood or flood_rate is None else (" (unlimited)" if flood_rate == 0 else f" ({flood_rate:,}/s)")
        during = f", during a {flood:,}-message flood{rate}" if flood else ""
        self.record(f"112 latency, {cameras:,} cameras{during}", status, secs, d, out, err)
        if "p99_us" in d and "bus_p99_us" in d:
            self.rows.append((f"112 -> grant p99, {cameras:,} cameras{' + flood' + rate if flood else ''} / bus p99",
                              d["p99_us"], d["bus_p99_us"], "us", None))

    def durable(self):
        exe = self.bin("citylink_bench_durable")
        if not os.path.exists(exe):
            self.results["benchmarks"]["durable delivery"] = {"status": "not built (libmosquitto-dev missing)"}
            return
        n, rounds = (20_000, 1) if self.quick else (100_000, 3)
        out, err, status, secs = run([exe, str(n), str(rounds)], 300 if self.quick else 900)
        d = numbers(out, {
            "citylink_durable": r"citylink durable \(.*\): ([\d.]+) msg/s",
            "mosquitto_qos1": r"mosquitto QoS 1 \(.*\):\s+([\d.]+) msg/s",
            "ceiling": r"ceiling \(outbox \+ one CURVE hop \+ acks, no CityLink\):\s+([\d.]+) msg/s",
        })
        self.record("durable delivery", status, secs, d, out, err)
        if "citylink_durable" in d and "mosquitto_qos1" in d:
            self.rows.append(("acked durable / Mosquitto QoS 1", d["citylink_durable"], d["mosquitto_qos1"], "msg/s", 10.0))
        if "ceiling" in d and "mosquitto_qos1" in d:  # what the target above can reach on this machine
            self.rows.append(("outbox + one CURVE hop alone / Mosquitto QoS 1", d["ceiling"], d["mosquitto_qos1"],
                              "msg/s", None))
        if "citylink_durable" in d and "ceiling" in d:
            self.rows.append(("acked durable / outbox + one CURVE hop alone", d["citylink_durable"], d["ceiling"],
                              "msg/s", None))

    def remote(self):
        exe = self.bin("citylink_bench_remote")
        if not os.path.exists(exe):
            self.results["benchmarks"]["remote streams"] = {"status": "not built (libmosquitto-dev missing)"}
            return
        n, rounds = (50_000, 1) if self.quick else (200_000, 3)
        out, err, status, secs = run([exe, str(n), str(rounds)], 120 if self.quick else 900)
        d = numbers(out, {
            "raw_tcp": r"raw libzmq tcp PUSH/PULL\s+([\d.]+) msg/s",
            "raw_tcp_curve": r"raw libzmq tcp\+CURVE PUSH/PULL \(one hop\)\s+([\d.]+) msg/s",
            "citylink_remote_curve": r"CityLink remote TCP\+CURVE pub -> router -> sub\s+([\d.]+) msg/s",
            "citylink_remote_curve_batched": r"CityLink remote TCP\+CURVE, batches of 64\s+([\d.]+) msg/s",
            "mosquitto_qos0": r"Mosquitto QoS 0 pub -> broker -> sub\s+([\d.]+) msg/s",
            "mosquitto_qos1": r"Mosquitto QoS 1 pub -> broker -> sub\s+([\d.]+) msg/s",
            "raw_relay": r"raw libzmq, batches of 64\s+two CURVE hops, relay\s+([\d.]+) msg/s",
            "raw_relay_1024": r"raw libzmq, batches of 1024 two CURVE hops, relay\s+([\d.]+) msg/s",
        })
        self.record("remote streams (TCP)", status, secs, d, out, err)
        if "raw_relay_1024" in d and "mosquitto_qos0" in d:  # what the 5x target can reach on this machine
            self.rows.append(("raw two CURVE hops, batches of 1024 / Mosquitto QoS 0", d["raw_relay_1024"],
                              d["mosquitto_qos0"], "msg/s", None))
        if "citylink_remote_curve_batched" in d and "raw_relay" in d:  # the same frames, without CityLink
            self.rows.append(("remote TCP+CURVE batched / raw two CURVE hops", d["citylink_remote_curve_batched"],
                              d["raw_relay"], "msg/s", None))
        if "citylink_remote_curve_batched" in d and "mosquitto_qos0" in d:  # PUBS and MSGS, as citylink.connect
            self.rows.append(("remote TCP+CURVE batched / Mosquitto QoS 0", d["citylink_remote_curve_batched"],
                              d["mosquitto_qos0"], "msg/s", 5.0))
        if "citylink_remote_curve" in d and "mosquitto_qos0" in d:  # one PUB and one MSG per message
            self.rows.append(("remote TCP+CURVE / Mosquitto QoS 0", d["citylink_remote_curve"], d["mosquitto_qos0"],
                              "msg/s", None))
        if "raw_tcp_curve" in d and "mosquitto_qos0" in d:  # the ceiling of the target above
            self.rows.append(("raw tcp+CURVE one hop / Mosquitto QoS 0", d["raw_tcp_curve"], d["mosquitto_qos0"],
                              "msg/s", None))
        if "citylink_remote_curve" in d and "raw_tcp_curve" in d:
            self.rows.append(("remote TCP+CURVE / raw tcp+CURVE one hop", d["citylink_remote_curve"],
                              d["raw_tcp_curve"], "msg/s", None))
        if "citylink_remote_curve" in d and "raw_tcp" in d:
            self.rows.append(("remote TCP+CURVE / raw libzmq tcp", d["citylink_remote_curve"], d["raw_tcp"], "msg/s",
                              None))

    def footprint(self):
        exe = self.bin("citylink_bench_footprint")
        if not os.path.exists(exe):
            self.results["benchmarks"]["footprint"] = {"status": "not built"}
            return
        out, err, status, secs = run([exe, "100"], 120)
        d = numbers(out, {
            "idle_rss_mb": r"host idle RSS \(started, no plugins\)\s+([\d.]+) MB",
            "rss_100_mb": r"RSS with 100 plugin instances\s+([\d.]+) MB",
            "per_instance_kb": r"per instance\s+([\d.]+) kB",
            "start_100_ms": r"100 instances: load and start\s+([\d.]+) ms",
            "stop_100_ms": r"100 instances: stop\s+([\d.]+) ms",
        })
        self.record("footprint", status, secs, d, out, err)

    def python(self):
        py_dir = os.path.join(self.build, "python")
        if not os.path.isdir(py_dir):
            self.results["benchmarks"]["python"] = {"status": "not built (CITYLINK_PYTHON=OFF)"}
            return
        n, runs = (50_000, 1) if self.quick else (200_000, 3)
        env = dict(os.environ, PYTHONPATH=py_dir, CITYLINK_BUILD_DIR=self.build)
        out, err, status, secs = run(["/usr/bin/python3", os.path.join(HERE, "python", "python_bench.py"), str(n),
                                      str(runs)], 300 if self.quick else 900, env)
        d = {}
        path = os.path.join(self.build, "bench", "python.json")
        if status == "ok" and os.path.exists(path):
            with open(path) as f:
                d = json.load(f)
        self.record("python", status, secs, d, out, err)
        if d:
            self.rows.append(("into a Python callback / pyzmq", d["into_python"]["citylink"],
                              d["into_python"]["pyzmq"], "msg/s", 0.5))
            self.rows.append(("out of Python publish / pyzmq", d["out_of_python"]["citylink"],
                              d["out_of_python"]["pyzmq"], "msg/s", 0.5))

    def report(self):
        print(f"\n{'comparison (same run)':<46} {'value':>12} {'baseline':>12} {'ratio':>8} {'target':>8}")
        for name, value, base, unit, target in self.rows:
            ratio = value / base if base else 0.0
            t = "" if target is None else f">= {target:g}"
            print(f"{name:<46} {value:>12,.1f} {base:>12,.1f} {ratio:>8.2f} {t:>8}")
        self.results["comparisons"] = [
            {"name": n, "value": v, "baseline": b, "unit": u, "ratio": (v / b if b else None), "target_ratio": t}
            for n, v, b, u, t in self.rows]
        os.makedirs(os.path.join(self.build, "bench"), exist_ok=True)
        path = os.path.join(self.build, "bench", "results.json")
        with open(path, "w") as f:
            json.dump(self.results, f, indent=2)
        fp = self.results["benchmarks"].get("footprint", {})
        if "idle_rss_mb" in fp:
            print(f"\nfootprint: idle host {fp['idle_rss_mb']:.1f} MB (target < 30); 100 instances "
                  f"{fp.get('rss_100_mb', 0):.1f} MB, {fp.get('per_instance_kb', 0):.0f} kB each; load+start "
                  f"{fp.get('start_100_ms', 0):.0f} ms, stop {fp.get('stop_100_ms', 0):.0f} ms (targets < 1000 ms)")
        print(f"\nwritten: {path}")
        for name in self.broken:
            print(f"broken: '{name}' printed nothing this harness can read (see its output in results.json)")
        return 1 if self.broken else 0


def main() -> int:
    ap = argparse.ArgumentParser(description="CityLink's side-by-side performance harness")
    ap.add_argument("--quick", action="store_true", help="smaller counts; under 2 minutes")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="the build directory (default: build)")
    a = ap.parse_args()
    h = Harness(os.path.abspath(a.build), a.quick)
    print(f"CityLink benchmarks ({'quick' if a.quick else 'full'}), build {h.build}", flush=True)
    h.throughput()
    h.api_overhead()
    h.scenario(10_000)
    h.scenario(10_000, flood=1_000_000)  # the flooder held to the default publish_rate
    if not a.quick:
        h.scenario(100_000)
        h.scenario(1_000_000)
        h.scenario(100_000, flood=1_000_000)
        h.scenario(100_000, flood=1_000_000, flood_rate=0)  # an operator's publish_rate: unlimited
        h.scenario(1_000_000, flood=1_000_000)
    h.remote()
    h.durable()
    h.python()
    h.footprint()
    return h.report()


if __name__ == "__main__":
    sys.exit(main())
