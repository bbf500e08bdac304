#!/usr/bin/python3
"""The scaling curves (issue 12): throughput and latency as subscribers (1 -> 64), plugins
(2 -> 200) and registered cameras (1,000 -> 1,000,000) grow, on this machine, in one run.
Writes docs/performance/scaling-{subscribers,plugins,cameras}.csv and a PNG of each
(python3-matplotlib from Debian).

    bench/scaling.py [--build build] [--out docs/performance] [--quick] [--sweeps subscribers,plugins,cameras]

Each point runs with a deadline; a point that misses it is written with what it printed
and left out of the plot. Numbers are never asserted."""
import argparse
import csv
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(argv, timeout):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return out + "\n(timed out)"


def find(pattern, text):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def scaling_point(build, messages, subscribers, plugins, paced):
    out = run([os.path.join(build, "bench", "citylink_bench_scaling"), str(messages), str(subscribers), str(plugins),
               str(paced)], 300)
    return {
        "deliveries_per_s": find(r"throughput: ([0-9.]+) deliveries/s", out),
        "p50_us": find(r"p50 ([0-9.]+) us", out),
        "p99_us": find(r"p99 ([0-9.]+) us", out),
        "p999_us": find(r"p99\.9 ([0-9.]+) us", out),
    }, out


def camera_point(build, cameras, reports):
    out = run([os.path.join(build, "bench", "citylink_bench_scenario_latency"), str(cameras), str(reports), "0"], 900)
    grant = r"VideoShareGrant received\s+p50\s+([0-9.]+) us"
    return {
        "p50_us": find(grant, out),
        "p99_us": find(r"VideoShareGrant received\s+p50\s+[0-9.]+ us\s+p99\s+([0-9.]+) us", out),
        "bus_p99_us": find(r"subscriber\s+p50\s+[0-9.]+ us\s+p99\s+([0-9.]+) us", out),
        "registered": find(r"([0-9]+) of [0-9]+ cameras registered", out),
    }, out


def write_csv(path, key, rows):
    fields = [key] + [k for k in rows[0][1] if k]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for x, data in rows:
            w.writerow([x] + ["" if data.get(k) is None else data[k] for k in fields[1:]])


def plot(path, title, xlabel, rows, series, logx=True):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(series), figsize=(5.5 * len(series), 4))
    if len(series) == 1:
        axes = [axes]
    for ax, (key, label) in zip(axes, series):
        xs = [x for x, d in rows if d.get(key) is not None]
        ys = [d[key] for x, d in rows if d.get(key) is not None]
        ax.plot(xs, ys, marker="o")
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "performance"))
    ap.add_argument("--quick", action="store_true", help="fewer messages and no 1,000,000-camera point")
    ap.add_argument("--sweeps", default="subscribers,plugins,cameras", help="which curves to measure")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    wanted = set(a.sweeps.split(","))
    messages = 20_000 if a.quick else 100_000
    paced = 500 if a.quick else 2000  # at 1,000 a second, well within what 64 subscribers take

    sweeps = []
    rows = []
    for subs in [1, 2, 4, 8, 16, 32, 64] if "subscribers" in wanted else []:
        data, out = scaling_point(a.build, messages, subs, subs + 1, paced)
        print(f"subscribers {subs:>3}: {data}", flush=True)
        rows.append((subs, data))
    if rows:
        sweeps.append(("subscribers", "subscribers on the stream (plugins = subscribers + 1)", rows,
                       [("deliveries_per_s", "deliveries / s (all subscribers)"), ("p99_us", "p99 latency (us)")]))

    rows = []
    for plugins in [2, 10, 50, 100, 200] if "plugins" in wanted else []:
        data, out = scaling_point(a.build, messages, 1, plugins, paced)
        print(f"plugins {plugins:>3}: {data}", flush=True)
        rows.append((plugins, data))
    if rows:
        sweeps.append(("plugins", "plugin instances in the city (1 publisher, 1 subscriber, the rest idle)", rows,
                       [("deliveries_per_s", "deliveries / s"), ("p99_us", "p99 latency (us)")]))

    rows = []
    for cameras in ([1_000, 10_000, 100_000] + ([] if a.quick else [1_000_000])) if "cameras" in wanted else []:
        data, out = camera_point(a.build, cameras, 200)
        print(f"cameras {cameras:>8}: {data}", flush=True)
        rows.append((cameras, data))
    if rows:
        sweeps.append(("cameras", "cameras registered (112 report -> VideoShareGrant)", rows,
                       [("p50_us", "p50 latency (us)"), ("p99_us", "p99 latency (us)")]))

    for name, xlabel, rows, series in sweeps:
        write_csv(os.path.join(a.out, f"scaling-{name}.csv"), name, rows)
        plot(os.path.join(a.out, f"scaling-{name}.png"), f"CityLink scaling: {name}", xlabel, rows, series)
        print(f"wrote {os.path.join(a.out, 'scaling-' + name)}.csv and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
