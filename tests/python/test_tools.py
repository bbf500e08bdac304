"""citylink.inspect and citylink.verify on real plugin files (each load in a child process)."""
import os

import pytest

import citylink
from conftest import PLUGINS, TEST_PLUGINS


def test_inspect_returns_the_descriptor_as_a_dict():
    d = citylink.inspect(os.path.join(PLUGINS, "water_level_sensor.so"))
    assert d["abi"].startswith("1.")
    (p,) = d["plugins"]
    assert p["id"] == "kr.citylink.samples.water-level-sensor"
    assert p["kind"] == "sensor"
    assert "sensor.reading" in p["publishes"]
    assert p["config_schema"]["type"] == "object"


def test_inspect_of_a_missing_or_crashing_file_raises_naming_it():
    with pytest.raises(citylink.PluginError, match="does not exist"):
        citylink.inspect("/nonexistent/plugin.so")
    with pytest.raises(citylink.PluginError, match="zoo_crash_on_init.so"):
        citylink.inspect(os.path.join(TEST_PLUGINS, "zoo_crash_on_init.so"))


def test_verify_a_good_plugin_passes_every_check():
    r = citylink.verify(os.path.join(PLUGINS, "console_sink.so"))
    assert r["ok"] is True
    assert r["passed"] == r["total"] == len(r["checks"]) > 5
    assert {"check", "ok", "detail"} <= set(r["checks"][0])


def test_verify_a_crashing_plugin_is_a_failed_result_not_an_exception():
    r = citylink.verify(os.path.join(TEST_PLUGINS, "zoo_crash_on_message.so"))
    assert r["ok"] is False
    failed = [c for c in r["checks"] if not c["ok"]]
    assert failed and any("crash" in c["detail"] or "signal" in c["detail"] for c in failed)
