"""The operator's web console in real headless Chromium (Debian's chromium and chromedriver,
driven by Selenium) against a real host with the management API on: the console loads with
no console errors, shows the demo city's cameras, shows a 112 incident and its grant counting
down, revokes the grant, disables and re-enables a plugin, and switches to Korean. A
screenshot of each step is kept in $CITYLINK_ARTIFACT_DIR."""
import json
import os
import time
import urllib.request

import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

import citylink
from citylink.v1 import platform_event_pb2

PLUGINS = os.environ["CITYLINK_PLUGIN_DIR"]
SOURCE = os.environ["CITYLINK_SOURCE_DIR"]
ARTIFACTS = os.environ.get("CITYLINK_ARTIFACT_DIR", "console-artifacts")
TOKEN = "console-test-token-0123456789"


DRIVER = None  # the browser of the running test, for what a failure reports


def wait_for(predicate, what, timeout=30.0):
    """Waits for a condition the test needs (never asserts on time itself); on failure says
    what the page showed and logged."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as e:  # the page may be mid-render
            last = e
        time.sleep(0.05)
    page = ""
    if DRIVER is not None:
        shot(DRIVER, "failed-" + what.replace(" ", "-"))
        page = (f"; status line: {DRIVER.find_element(By.ID, 'status').text!r}; "
                f"browser log: {DRIVER.get_log('browser')}")
    raise AssertionError(f"gave up waiting for {what}" + (f" (last error: {last})" if last else "") + page)


def demo_city():
    """The demo city's camera fleet (300 cameras in Gangnam, one of them offline) and its 112
    scenario, from samples/demo-city/city.yaml."""
    with open(os.path.join(SOURCE, "samples/demo-city/city.yaml"), encoding="utf-8") as f:
        demo = yaml.safe_load(f)
    fleet = next(p for p in demo["plugins"] if p["instance"] == "cctv-gangnam")
    video = dict(demo["scenarios"]["emergency_video_112"], grant_minutes=10)  # the test revokes it first
    return fleet, video


@pytest.fixture()
def city(tmp_path):
    (tmp_path / "ops.token").write_text(TOKEN + "\n")
    fleet, video = demo_city()
    config = {
        "citylink": 1, "city": "console-test",
        "host": {"log_level": "warn", "audit_log": str(tmp_path / "audit.db"), "state_dir": str(tmp_path),
                 "http": {"listen": "127.0.0.1:0",
                          "tokens": [{"name": "kim.ops", "role": "admin", "token_file": str(tmp_path / "ops.token")}]}},
        "plugin_dirs": [PLUGINS],
        "scenarios": {"emergency_video_112": video},
        "incident_authority": {"112UC001": {"topic": "incident.112", "sources": ["dispatcher"]}},
        "clients": [{"name": "dispatcher", "grants": {"publish": ["incident.112"], "subscribe": []}}],
        "plugins": [fleet],
    }
    with citylink.Host(config, client="dispatcher") as host:
        yield host, host.management_url()


@pytest.fixture()
def browser():
    os.makedirs(ARTIFACTS, exist_ok=True)
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--lang=en-US"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    global DRIVER
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    DRIVER = driver
    yield driver
    DRIVER = None
    driver.quit()


def api(base, path, method="GET"):
    req = urllib.request.Request(base + path, method=method, headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def shot(driver, name):
    driver.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))


def rows(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def click(driver, by, selector):
    """Clicks an element of a list the console may re-render at any event (a plugin's state
    changes, a worker restarts): found again until the click lands on a live element."""
    def attempt():
        driver.find_element(by, selector).click()
        return True
    wait_for(attempt, f"a click on {selector}")


def test_the_console_shows_the_city_and_controls_it(city, browser):
    host, base = city
    d = browser
    d.get(base + "/")
    assert "CityLink" in d.title
    d.find_element(By.ID, "token").send_keys(TOKEN)
    click(d, By.ID, "sign-in")
    wait_for(lambda: "kim.ops" in d.find_element(By.ID, "who").text, "the signed-in name")
    assert d.find_element(By.ID, "city").text == "console-test"
    shot(d, "01-signed-in")

    # The demo city's cameras on the map (no tile server: a plain background), with their
    # view cones; the one the fleet reports offline is grey.
    wait_for(lambda: len(api(base, "/api/cameras")["features"]) == 300, "the fleet's 300 cameras in the registry")
    wait_for(lambda: any(not f["properties"]["live"] for f in api(base, "/api/cameras")["features"]),
             "the offline camera")
    d.refresh()
    wait_for(lambda: len(rows(d, "path.camera-marker")) == 300, "300 camera markers on the map")
    assert len(rows(d, "path.camera-cone")) == 300
    wait_for(lambda: d.find_elements(By.CSS_SELECTOR, 'path.camera-marker[stroke="#999999"]'), "a grey marker")
    shot(d, "02-cameras")

    # A 112 report: the incident appears, and its grant counts down.
    report = platform_event_pb2.PlatformEvent(event_code="112UC001", occurrence_number="112-CONSOLE-1", status=10,
                                              grade=10, content="assault reported")
    report.location.lat, report.location.lon = 37.4979, 127.0276  # Gangnam station, as in the demo
    host.publish("incident.112", report)
    wait_for(lambda: rows(d, '#incidents tr[data-incident="112-CONSOLE-1"]'), "the incident in the list")
    wait_for(lambda: len(rows(d, "path.incident-marker")) == 1, "the incident on the map")
    wait_for(lambda: rows(d, "#grants tr[data-grant-id]"), "the grant in the list")
    countdown = lambda: d.find_element(By.CSS_SELECTOR, "#grants tr[data-grant-id] .countdown").text
    first = countdown()
    assert first.count(":") == 1, first
    wait_for(lambda: countdown() != first, "the countdown to move")
    shot(d, "03-incident-and-grant")

    # Revoke it from the console: a reason is required, then the grant is gone.
    click(d, By.CSS_SELECTOR, "#grants button.revoke")
    wait_for(lambda: "reason" in d.find_element(By.ID, "status").text.lower(), "the request for a reason")
    d.find_element(By.CSS_SELECTOR, "#grants input.reason").send_keys("wrong camera set (console test)")
    click(d, By.CSS_SELECTOR, "#grants button.revoke")
    wait_for(lambda: not rows(d, "#grants tr[data-grant-id]"), "the grant to leave the list")
    assert api(base, "/api/grants") == []
    wait_for(lambda: any("wrong camera set" in r.text for r in rows(d, "#audit tr")), "the revoke in the audit panel")
    shot(d, "04-grant-revoked")

    # Disable the camera plugin, then enable it again; the city runs on meanwhile.
    state = lambda: d.find_element(By.CSS_SELECTOR, '#plugins tr[data-instance="cctv-gangnam"] .state').text
    wait_for(lambda: state() == "running", "the plugin running")
    click(d, By.CSS_SELECTOR, '#plugins tr[data-instance="cctv-gangnam"] button.disable')
    wait_for(lambda: state() == "disabled", "the plugin disabled")
    shot(d, "05-plugin-disabled")
    click(d, By.CSS_SELECTOR, '#plugins tr[data-instance="cctv-gangnam"] button.enable')
    wait_for(lambda: state() == "running", "the plugin running again")
    shot(d, "06-plugin-enabled")

    # The transparency report and the Korean labels.
    click(d, By.CSS_SELECTOR, "#transparency-form button[type=submit]")
    wait_for(lambda: rows(d, "#transparency-grants tr td"), "the transparency table")
    click(d, By.ID, "lang")
    wait_for(lambda: d.find_element(By.CSS_SELECTOR, "#grants-panel h2").text == "영상 제공 승인(진행 중)", "Korean labels")
    wait_for(lambda: d.find_element(By.CSS_SELECTOR, '#plugins tr[data-instance="cctv-gangnam"] button.restart').text == "재시작",
             "Korean buttons")
    wait_for(lambda: "투명성 보고서" in d.find_element(By.ID, "transparency").text, "the Korean report")
    shot(d, "07-korean")

    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def test_the_console_without_a_token_asks_for_one_and_a_wrong_token_is_refused(city, browser):
    host, base = city
    d = browser
    d.get(base + "/")
    wait_for(lambda: "token" in d.find_element(By.ID, "status").text.lower(), "the request to sign in")
    d.find_element(By.ID, "token").send_keys("wrong-token-wrong-token")
    click(d, By.ID, "sign-in")
    wait_for(lambda: "token" in d.find_element(By.ID, "status").text.lower() and
             d.find_element(By.ID, "login").is_displayed(), "the refusal")
    shot(d, "08-refused")
    # The refused request is the only console error: the browser logs the 401 it got.
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE" and "401" not in e["message"]]
    assert errors == [], errors
