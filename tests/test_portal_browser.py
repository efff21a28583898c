"""The portal in headless Chromium (Debian's ``chromium``): loads offline with no console errors and no network
requests, shows Chinese text, every link resolves, the league table sorts; a screenshot is saved in tmp_path.

The browser is driven through the DevTools protocol over a websocket (``websocket-client``): console messages,
exceptions and every network request are events, so "nothing went to the network" is observed, not assumed.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import websocket

from _fake_processed import build_fake_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--remote-debugging-port=0", "--window-size=1280,2000"]


class DevTools:
    """A minimal DevTools-protocol client for one page: commands by id, events collected in order."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == method for e in self.events):
                return
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(f"no {method} within {timeout} s")

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")


@pytest.fixture()
def browser(tmp_path):
    assert CHROMIUM, "Debian's chromium is needed for the portal test (apt-get install chromium)"
    profile = tmp_path / "profile"
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
            elif not line and proc.poll() is not None:
                break
        assert port, "chromium did not start its DevTools endpoint"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            pages = [t for t in json.load(resp) if t["type"] == "page"]
        client = DevTools(pages[0]["webSocketDebuggerUrl"])
        yield client
        client.ws.close()
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """A fake store, two cheap stand-in reports (sidecar + HTML, as the runner writes them), the workbook, the
    portal. A unit name with markup checks the escaping."""
    import pandas as pd

    from govlib.reports.excel import write_workbook
    from govlib.reports.portal import write_portal
    from govlib.settings import load_settings
    from govlib.data.store import write_table

    root = build_fake_store(tmp_path_factory.mktemp("portal") / "project")
    units_path = root / "data" / "processed" / "units.parquet"
    units = pd.read_parquet(units_path)
    units.loc[units["code"] == "310115016000", "name_zh"] = "花木<script>alert(1)</script>街道"
    write_table(units, units_path)
    settings = load_settings(root=root)
    reports = settings.outputs_dir / "reports"
    reports.mkdir(parents=True)
    for name, kind, params in (("street_310115005000_2025_zh", "street", {"unit": "310115005000", "period": "2025"}),
                               ("district_2025_zh", "district", {"period": "2025", "lang": "zh"})):
        (reports / f"{name}.html").write_text(f"<!DOCTYPE html><title>{name}</title><p>报告</p>", encoding="utf-8")
        (reports / f"{name}.json").write_text(json.dumps({"kind": kind, "html": f"{name}.html", "parameters": params,
                                                          "facts": {"name_zh": "陆家嘴街道"}}), encoding="utf-8")
    write_workbook("latest", settings)
    return write_portal("latest", settings)


def test_portal_offline_in_headless_chromium(browser, portal, tmp_path):
    browser.send("Page.enable")
    browser.send("Runtime.enable")
    browser.send("Log.enable")
    browser.send("Network.enable")
    browser.send("Page.navigate", url=portal.as_uri())
    browser.wait_for("Page.loadEventFired")
    time.sleep(0.3)  # let late console messages arrive

    # Chinese text is there, and the escaped name shows as text, not as a script.
    text = browser.evaluate("document.body.innerText")
    assert "浦东新区社会治理指数" in text and "陆家嘴街道" in text and "合成" in text
    assert "花木<script>alert(1)</script>街道" in text
    assert browser.evaluate("document.scripts.length") == 1  # only the inline sorter

    # The league table sorts: click "得分" (score) twice -> ascending then descending.
    first_rank = "document.querySelector('#league tbody tr').cells[0].innerText"
    assert browser.evaluate(first_rank) == "1"
    browser.evaluate("document.querySelectorAll('#league th')[0].click()")
    browser.evaluate("document.querySelectorAll('#league th')[0].click()")
    assert browser.evaluate(first_rank) == "36"

    # Every link resolves to a file that exists.
    hrefs = browser.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.href)")
    assert len(hrefs) >= 3
    for href in hrefs:
        assert href.startswith("file://"), href
        assert Path(urllib.parse.unquote(urllib.parse.urlparse(href).path)).is_file(), href

    shot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    (tmp_path / "portal.png").write_bytes(base64.b64decode(shot["data"]))
    assert (tmp_path / "portal.png").stat().st_size > 10_000

    # Nothing went wrong and nothing went to the network.
    events = browser.events
    console_errors = [e for e in events if e.get("method") == "Runtime.consoleAPICalled"
                      and e["params"]["type"] in ("error", "assert")]
    exceptions = [e for e in events if e.get("method") == "Runtime.exceptionThrown"]
    log_errors = [e for e in events if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"]
    requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    assert not console_errors and not exceptions and not log_errors, (console_errors, exceptions, log_errors)
    assert requests, "the DevTools client saw no requests at all (the page load itself is one)"
    remote = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not remote, remote


def test_portal_html_has_no_network_references(portal):
    from govlib.reports.html import network_references

    page = portal.read_text(encoding="utf-8")
    assert network_references(page) == []
    assert "<script src" not in page and "<link" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
