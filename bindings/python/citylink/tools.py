"""inspect and verify a plugin file. Both run the plugin in child processes of the
`citylink` command (GStreamer's out-of-process scanner idea): a plugin that crashes or hangs
while loading is reported, never fatal to the script."""
from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict, Optional, Union

from . import _paths

PathLike = Union[str, os.PathLike]


class PluginError(RuntimeError):
    """The plugin file could not be read or loaded; the message names the file and the fix."""


def _run(args: list, timeout: float) -> Dict[str, Any]:
    exe = _paths.citylink_bin()
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PluginError(f"`citylink {' '.join(args)}` did not finish within {timeout:g} s") from None
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise PluginError(f"`citylink {' '.join(args)}` failed (exit {done.returncode}): "
                          f"{done.stderr.strip() or done.stdout.strip()}") from None


def inspect(path: PathLike, *, timeout: float = 30.0) -> Dict[str, Any]:
    """The plugin file's descriptors as a dict: {"file", "abi", "plugins": [{id, name,
    kind, vendor, version, publishes, subscribes, config_schema, ...}]}. Raises
    PluginError naming the file when it cannot be loaded."""
    out = _run(["plugin", "inspect", "--json", os.fspath(path)], timeout)
    if "error" in out:
        raise PluginError(out["error"])
    return out


def verify(path: PathLike, *, check: Optional[str] = None, timeout: float = 300.0) -> Dict[str, Any]:
    """Runs the conformance checks (each in its own child process) and returns
    {"file", "ok", "passed", "total", "checks": [{"check", "ok", "detail"}, ...]}. A failing plugin is a
    result, not an exception; PluginError only when the checks could not run."""
    args = ["plugin", "verify", "--json", os.fspath(path)]
    if check:
        args += ["--check", check]
    out = _run(args, timeout)
    if "checks" not in out:
        raise PluginError(out.get("error", f"`citylink plugin verify` gave no checks for {os.fspath(path)}"))
    out.setdefault("ok", all(c.get("ok") for c in out["checks"]))
    return out
