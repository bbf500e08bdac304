"""The Python worker: runs one citylink.Plugin instance for the host, speaking the worker
protocol (sdk/proto/citylink/worker/v1/worker.proto) exactly as `citylink worker` does for
a plugin library, so the host's supervisor, counters and grants treat both alike.

The host starts it as ``python3 -I .../citylink/runner.py --endpoint ipc://DIR --plugin
FILE --sha256 HEX --instance NAME --parent PID --class NAME [limits]``; with ``--describe``
it prints the class's descriptor as JSON instead (the host's scanner). Exit codes: 0 after
destroy, 2 bad arguments, 3 the host went away, 4 the file is not the one the host checked."""
import os
import sys

if __name__ == "__main__":
    # -I leaves the script's folder off sys.path; the package's parent goes on instead.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from citylink.runner import main
    sys.exit(main(sys.argv[1:]))

import argparse  # noqa: E402
import ctypes  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import types  # noqa: E402

import zmq  # noqa: E402

from .envelope import Envelope  # noqa: E402
from .errors import Backpressure  # noqa: E402
from .plugin import Plugin  # noqa: E402
from .worker.v1 import worker_pb2 as wv1  # noqa: E402

PROTOCOL = 1  # Hello.protocol; the host's kWorkerProtocol
BEAT_EVERY = 0.2
# citylink_status and citylink_log_level (sdk/include/citylink/abi.h)
OK, ERR_CONFIG, ERR_STATE, ERR_UNSUPPORTED, ERR_UNAVAILABLE, ERR_INTERNAL = 0, 2, 3, 4, 9, 10
LOG_LEVELS = [(logging.ERROR, 4), (logging.WARNING, 3), (logging.INFO, 2), (logging.DEBUG, 1)]


class FileChanged(Exception):
    """The plugin file is not the one whose hash the host checked."""


def load_class(path: str, sha256: str, class_name: str):
    """Executes the very bytes whose hash the host checked, and returns the class."""
    with open(path, "rb") as f:
        code = f.read()
    found = hashlib.sha256(code).hexdigest()
    if found != sha256:
        raise FileChanged(f"plugin file '{path}' changed after the host checked it (SHA-256 {found}, checked "
                              f"{sha256}); it was not run")
    name = "citylink_plugin_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    mod = types.ModuleType(name)
    mod.__file__ = path
    sys.modules[name] = mod
    exec(compile(code, path, "exec"), mod.__dict__)
    cls = getattr(mod, class_name, None)
    if cls is None:
        raise LookupError(f"'{path}' has no class {class_name}")
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise TypeError(f"'{path}': {class_name} is not a subclass of citylink.Plugin")
    return cls


def short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _pattern_matches(pattern: str, topic: str) -> bool:
    """citylink_topic_pattern_matches (sdk/include/citylink/topics.h): "*", a subtree
    "a.b.*" / "a.b." (strict descendants), or a topic with its descendants."""
    if pattern == "*":
        return True
    if pattern.endswith(".*") or pattern.endswith("."):
        base = pattern[:-2] if pattern.endswith(".*") else pattern[:-1]
        return topic.startswith(base + ".") and len(topic) > len(base) + 1
    return topic == pattern or (topic.startswith(pattern + ".") and len(topic) > len(pattern) + 1)


class _PublishRate:
    """The instance's publish_rate (Create.publish_rate), as the host's PublishRate: a token
    bucket of `per_second` telemetry messages a second holding a tenth of a second's worth; a
    publish over it sleeps until its turn if that comes within 1 ms, else sleeps 1 ms and is
    refused. 0: no limit."""
    MAX_WAIT = 0.001

    def __init__(self, per_second: int = 0):
        self.per_second = per_second
        self.burst = max(1.0, per_second / 10.0)
        self.tokens = self.burst
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        if not self.per_second:
            return True
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.per_second)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            wait = (1 - self.tokens) / self.per_second
            if wait <= self.MAX_WAIT:
                self.tokens -= 1
        time.sleep(min(wait, self.MAX_WAIT))
        return wait <= self.MAX_WAIT


class _ToHost(logging.Handler):
    """The plugin's log records, as Log messages to the host's log."""

    def __init__(self, worker: "Worker"):
        super().__init__(logging.DEBUG)
        self.worker = worker

    def emit(self, record: logging.LogRecord) -> None:
        level = next(v for lv, v in LOG_LEVELS + [(0, 0)] if record.levelno >= lv)
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        m = wv1.WorkerToHost()
        m.log.level = level
        m.log.message = text
        self.worker.send(m, block=False)


class Worker:
    def __init__(self, args: argparse.Namespace):
        self.a = args
        self.ctx = zmq.Context()
        self.inp = self.ctx.socket(zmq.PULL)
        self.inp.rcvhwm = 100
        self.inp.linger = 0
        self.out = self.ctx.socket(zmq.PUSH)
        self.out.sndhwm = 10000
        self.out.linger = 2000  # what the plugin published before destroy still leaves
        # Heartbeats, answers, acks and nacks go on the control channel, which the host reads
        # while one of this worker's publishes waits (worker.proto).
        self.control = self.ctx.socket(zmq.PUSH)
        self.control.linger = 2000
        self.inp.connect(args.endpoint + "/to-worker")
        self.out.connect(args.endpoint + "/from-worker")
        self.control.connect(args.endpoint + "/control")
        self.out_lock = threading.Lock()
        self.control_lock = threading.Lock()
        self.data_frames = 0  # sent on the data channel, under out_lock
        self.plugin = None
        self.cls = None
        self.receives = False
        self.running = False
        self.handled = self.failed = 0
        self.max_bytes = 0
        self.rate = _PublishRate()
        self.critical_topics = []
        self.refused_rate = 0
        self.log = logging.getLogger(f"citylink.plugin.{args.instance}")
        self.log.propagate = False
        self.log.setLevel(logging.DEBUG)
        self.log.addHandler(_ToHost(self))

    def send(self, m, block: bool = True) -> bool:
        data = m.SerializeToString()
        with self.out_lock:
            if self.out.closed:
                return False
            try:
                self.out.send(data, 0 if block else zmq.NOBLOCK)
                self.data_frames += 1
                return True
            except zmq.Again:
                return False

    def send_control(self, m, ordered: bool, block: bool = True) -> None:
        """`ordered`: the host applies it only after what was sent on the data channel before it."""
        if ordered:
            with self.out_lock:
                m.after_data_frames = self.data_frames
        data = m.SerializeToString()
        with self.control_lock:
            if self.control.closed:
                return
            try:
                self.control.send(data, 0 if block else zmq.NOBLOCK)
            except zmq.Again:
                pass  # a beat: the next one carries the counts so far

    def result(self, seq: int, status: int, message: str = "", receives: bool = False,
               ordered: bool = False) -> None:
        """`ordered` for stop and destroy, heard after what the plugin published before them."""
        m = wv1.WorkerToHost(seq=seq)
        m.result.status, m.result.message, m.result.receives = status, message, receives
        self.send_control(m, ordered)

    def beat(self) -> None:
        m = wv1.WorkerToHost()
        m.heartbeat.handled, m.heartbeat.failed, m.heartbeat.pid = self.handled, self.failed, os.getpid()
        m.heartbeat.refused_rate = self.refused_rate
        self.send_control(m, False, block=False)

    def publish(self, topic: str, envelope: bytes) -> None:
        if not self.running:
            raise RuntimeError(f"instance '{self.a.instance}' is not running (publish before start or after stop)")
        limit = self.max_bytes
        if limit and len(envelope) > limit:
            raise ValueError(f"message on '{topic}' is {len(envelope)} bytes, over the host limit of {limit} "
                             f"(host.max_message_bytes)")
        # Refused here, as in `citylink worker`: a flood costs this process only.
        if self.rate.per_second and not any(_pattern_matches(p, topic) for p in self.critical_topics) \
                and not self.rate.take():
            with self.rate.lock:  # plugin threads may publish at once
                self.refused_rate += 1
                n = self.refused_rate
            why = (f"'{self.a.instance}' is over its publish_rate of {self.rate.per_second} telemetry messages a "
                   f"second; the message on '{topic}' was not sent. Publish less often, back off on Backpressure, "
                   f"or have the operator raise publish_rate for it in the city config")
            if n <= 5 or n % 10000 == 0:
                self.log.warning("publish refused (rate, #%d): %s", n, why)
            raise Backpressure(why)
        m = wv1.WorkerToHost()
        m.publish.topic, m.publish.envelope = topic, envelope
        if not self.send(m, block=False):
            raise Backpressure(f"publish '{topic}': the worker's queue to the host is full; message dropped")

    def run(self) -> int:
        hello = wv1.WorkerToHost()
        hello.hello.protocol, hello.hello.pid, hello.hello.plugin_sha256 = PROTOCOL, os.getpid(), self.a.sha256
        self.send(hello)
        next_beat = time.monotonic()
        while True:
            if os.getppid() != self.a.parent:
                return 3
            if self.inp.poll(int(BEAT_EVERY * 1000)):
                while True:
                    try:
                        raw = self.inp.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    m = wv1.HostToWorker()
                    try:
                        m.ParseFromString(raw)
                    except Exception:
                        continue
                    if not self.handle(m):
                        return 0
                    if time.monotonic() >= next_beat:
                        self.beat()
                        next_beat = time.monotonic() + BEAT_EVERY
            if time.monotonic() >= next_beat:
                self.beat()
                next_beat = time.monotonic() + BEAT_EVERY

    def handle(self, m) -> bool:
        call = m.WhichOneof("call")
        if call == "create":
            self.create(m.seq, m.create)
        elif call == "start":
            if self.plugin is None:
                self.result(m.seq, ERR_STATE, "start before create")
                return True
            self.running = True  # the host holds what start publishes until it succeeds
            try:
                self.plugin.start()
                status, why = OK, ""
            except Exception as e:
                self.running = False
                self.log.exception("start failed")
                status, why = ERR_INTERNAL, "start raised " + short(e)
            self.beat()
            self.result(m.seq, status, why)
        elif call == "stop":
            if self.plugin is not None:
                try:
                    self.plugin.stop()
                except Exception:
                    self.log.exception("stop raised; the instance is stopped anyway")
            self.running = False
            self.beat()
            self.result(m.seq, OK, ordered=True)
        elif call == "destroy":
            if self.running and self.plugin is not None:  # destroy without stop is allowed: stop it first
                try:
                    self.plugin.stop()
                except Exception:
                    self.log.exception("stop (at destroy) raised")
            self.running = False
            self.plugin = None
            self.beat()
            self.result(m.seq, OK, ordered=True)
            return False
        elif call == "deliver":
            self.deliver(m.seq, m.deliver)
        return True

    def create(self, seq: int, c) -> None:
        if self.plugin is not None:
            return self.result(seq, ERR_STATE, "already created")
        # Loaded here, as the C++ worker loads its library at Create: after Hello, so slow
        # imports count against the create call's time, not the start of the process.
        try:
            self.cls = load_class(self.a.plugin, self.a.sha256, self.a.class_name)
        except Exception as e:
            return self.result(seq, ERR_UNAVAILABLE, short(e) + "\n" + traceback.format_exc(limit=-3).rstrip())
        self.max_bytes = c.max_message_bytes
        self.rate = _PublishRate(c.publish_rate)
        self.critical_topics = list(c.critical_topics)
        try:
            plugin = self.cls()
            plugin.instance_id = c.instance_id
            plugin.log = self.log
            plugin._publish = self.publish
            plugin.configure(json.loads(c.config_json or "{}"))
        except Exception as e:
            self.log.exception("configure failed")
            return self.result(seq, ERR_CONFIG, short(e))
        self.plugin = plugin
        self.receives = self.cls.receives()
        self.result(seq, OK, "", self.receives)

    def deliver(self, seq: int, d) -> None:
        if self.plugin is None:
            return  # meant for the worker before this one; the host counted it lost there
        self.handled += 1
        if not self.receives:
            self.failed += 1
            return self.result(seq, ERR_UNSUPPORTED, f"on '{d.topic}': the plugin takes no messages (no on_message)")
        try:
            env = Envelope.decode(d.envelope)
            env.redelivery_count = d.redelivery_count
            self.plugin.on_message(env)
        except Exception as e:
            self.failed += 1
            self.log.exception("on_message raised on '%s'", d.topic)
            if d.delivery_tag:
                self.settle(d.delivery_tag, ack=False)
            return self.result(seq, ERR_INTERNAL, f"on '{d.topic}': on_message raised {short(e)}")
        if d.delivery_tag:
            self.settle(d.delivery_tag, ack=True)

    def settle(self, tag: int, ack: bool) -> None:
        """Durable deliveries: acked when on_message returned, nacked for redelivery when it raised."""
        m = wv1.WorkerToHost()
        if ack:
            m.ack.delivery_tag = tag
        else:
            m.nack.delivery_tag, m.nack.requeue = tag, True
        self.send_control(m, True)

    def close(self) -> None:
        with self.out_lock:
            self.out.close()  # lingers until the last answer has left
        with self.control_lock:
            self.control.close()
        self.inp.close()
        self.ctx.term()


def _parse(argv):
    p = argparse.ArgumentParser(prog="citylink python runner", add_help=False)
    for name in ("--endpoint", "--instance"):
        p.add_argument(name)
    p.add_argument("--plugin", required=True)
    p.add_argument("--sha256", required=True)
    p.add_argument("--class", dest="class_name", required=True)
    p.add_argument("--parent", type=int, default=0)
    for name in ("--memory-mb", "--open-files", "--cpu-seconds"):
        p.add_argument(name, type=int, default=0)
    p.add_argument("--describe", action="store_true")
    a = p.parse_args(argv)
    if not a.describe and not (a.endpoint and a.instance and a.parent > 0):
        p.error("--endpoint, --instance and --parent are required (the host starts the worker; it is not run by hand)")
    return a


def _limit(which: int, value: int) -> None:
    if value:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError) as e:
            print(f"citylink python worker: setrlimit({which}) failed: {e}", file=sys.stderr)


def main(argv) -> int:
    try:
        a = _parse(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    if a.describe:
        _limit(resource.RLIMIT_AS, a.memory_mb << 20)
        _limit(resource.RLIMIT_NOFILE, a.open_files)
        _limit(resource.RLIMIT_CPU, a.cpu_seconds)
        out, sys.stdout = sys.stdout, sys.stderr  # what the module prints must not spoil the JSON
        try:
            cls = load_class(a.plugin, a.sha256, a.class_name)
            out.write(json.dumps(cls.describe()) + "\n")
            return 0
        except FileChanged as e:
            print(e, file=sys.stderr)
            return 4
        except Exception:
            traceback.print_exc(limit=-3)
            return 1
    # Dies with the host, whatever the plugin does; and if the host died already, now.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != a.parent:
        return 3
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the host, which stops this worker in order
    _limit(resource.RLIMIT_AS, a.memory_mb << 20)
    _limit(resource.RLIMIT_NOFILE, a.open_files)
    _limit(resource.RLIMIT_CPU, a.cpu_seconds)
    w = Worker(a)
    rc = w.run()
    w.close()
    sys.stdout.flush()
    os._exit(rc)  # a plugin thread still running must not keep the worker alive
