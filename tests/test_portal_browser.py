"""The portal in headless Chromium (Debian's ``chromium``): loads offline with no console errors and no network
requests, shows Chinese text, every link resolves, the league table sorts, the indicator explorer reacts to the node
picker, the peer-group filter and the search; a screenshot is written to the project's ``outputs/site/``.

The browser is driven through the DevTools protocol (``govlib.reports.browser``): console messages, exceptions and
every network request are events, so "nothing went to the network" is observed, not assumed.
"""
from __future__ import annotations

import base64
import json
import os
import re
import time
import urllib.parse
from pathlib import Path

import pytest

from govlib.data.sample_store import build_fake_store
from govlib.reports.browser import Chromium, chromium_path


def _screenshot_targets(site: Path, name: str) -> list[Path]:
    """Where a screenshot goes: the test's own project and, under `make test` (GOVLIB_ROOT = the test project),
    that project's ``outputs/site/`` too, so a reviewer can look without a browser."""
    targets = [site / name]
    if os.environ.get("GOVLIB_ROOT"):
        from govlib.settings import load_settings

        targets.append(load_settings().outputs_dir / "site" / name)
    for t in targets:
        t.parent.mkdir(parents=True, exist_ok=True)
    return targets


@pytest.fixture()
def browser():
    assert chromium_path(), "Debian's chromium is needed for the portal test (apt-get install chromium)"
    with Chromium(window=(1280, 2000)) as chromium:
        client = chromium.page()
        yield client
        client.close()


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
    browser.load(portal.as_uri())
    time.sleep(0.5)  # let late console messages arrive

    # Chinese text is there, and the escaped name shows as text, not as a script.
    text = browser.evaluate("document.body.innerText")
    assert "浦东新区社会治理指数" in text and "陆家嘴街道" in text and "合成" in text
    assert "花木<script>alert(1)</script>街道" in text
    # scripts: the bundled ECharts and the exported data beside the page, the inline sorter and explorer
    sources = browser.evaluate("Array.from(document.scripts).map(s => s.getAttribute('src') || '')")
    assert sorted(sources) == ["", "", "echarts.min.js", "explorer-data.js"]

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

    # The explorer: the index first; picking a dimension changes the title, the map and the ranking.
    def state():
        return browser.evaluate("""(() => { const c = window.GOVLIB_CHARTS;
            const m = c.map.getOption().series[0].data, r = c.ranking.getOption();
            return {node: document.body.dataset.node, title: document.getElementById('explorer-title').innerText,
                    tiles: m.length, first_tile: m[0].value[2], first_ranked: r.yAxis[0].data[0],
                    ranked: r.yAxis[0].data.length, intervals: r.series[0].data.length,
                    lines: c.series.getOption().series.length}; })()""")

    before = state()
    assert before["node"] == "SGI" and before["tiles"] == 36 and before["ranked"] == 36
    assert before["intervals"] == 36 and before["lines"] == 36  # rank intervals for the index
    browser.evaluate("(() => { const s = document.getElementById('node'); s.value = 'D3';"
                     " s.dispatchEvent(new Event('change')); })()")
    after = state()
    assert after["node"] == "D3" and "平安法治" in after["title"]
    assert after["first_tile"] != before["first_tile"] and after["first_ranked"] != before["first_ranked"]
    assert after["intervals"] == 0  # no Monte Carlo interval below the index: none drawn
    # a peer-group filter keeps only that group; the search marks units by name or code
    browser.evaluate("(() => { const boxes = document.querySelectorAll('input.peer'); boxes.forEach((b, i) => "
                     "{ b.checked = i === 0; }); document.getElementById('peers').dispatchEvent(new Event('change',"
                     " {bubbles: true})); })()")
    filtered = state()
    assert 0 < filtered["tiles"] < 36 and filtered["ranked"] == filtered["tiles"] == filtered["lines"]
    browser.evaluate("(() => { document.querySelectorAll('input.peer').forEach(b => { b.checked = true; });"
                     " const q = document.getElementById('search'); q.value = '310115005000';"
                     " q.dispatchEvent(new Event('input')); })()")
    marked = browser.evaluate("window.GOVLIB_CHARTS.map.getOption().series[0].data"
                              ".filter(d => d.itemStyle.borderWidth === 3).map(d => d.code)")
    assert marked == ["310115005000"]

    shot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    # written to the project's outputs/site/ so a reviewer can look without a browser
    for target in _screenshot_targets(portal.parent, "portal.png"):
        target.write_bytes(base64.b64decode(shot["data"]))
        assert target.stat().st_size > 10_000

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

    from govlib.reports.portal import SIZE_BUDGET

    page = portal.read_text(encoding="utf-8")
    assert network_references(page) == []
    assert "<link" not in page
    # only the two local scripts beside the page
    assert re.findall(r'<script src="([^"]+)"', page) == ["echarts.min.js", "explorer-data.js"]
    # the size budget: the page (with its font subset) and the data script; ECharts
    page_bytes = portal.stat().st_size + (portal.parent / "explorer-data.js").stat().st_size
    assert page_bytes <= SIZE_BUDGET["page"], page_bytes
    assert (portal.parent / "echarts.min.js").stat().st_size <= SIZE_BUDGET["echarts"]
    # the explorer's data: every node of the framework, scores of 36 units in every period
    data = json.loads((portal.parent / "explorer-data.js").read_text(encoding="utf-8")
                      .split("window.GOVLIB_DATA = ", 1)[1].split(";\nwindow.GOVLIB_TEXT", 1)[0])
    assert {n["code"] for n in data["nodes"]} >= {"SGI", "D1", "D6"}
    assert all(len(v["score"]) == 36 for node in data["values"].values() for v in node.values())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
