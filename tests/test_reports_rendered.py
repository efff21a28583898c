"""Rendered reports as a reader gets them (fake store, zh and en): one language per report, A4 PDFs with text on
every page, embedded fonts and running headers, a bundle, and Chinese that renders in a browser with no CJK font.

One module-scoped run renders a street profile, the district report and the audit in both languages, then
``finish_reports`` (the call ``govlib report`` makes) embeds the font subset and prints the PDFs in one browser.
"""
from __future__ import annotations

import base64
import re
import time

import pytest

from govlib.data.sample_store import build_fake_store
from govlib.reports.browser import Chromium, chromium_path
from govlib.reports.html import visible_text
from govlib.reports.publish import finish_reports
from govlib.reports.runner import audit_job, district_job, output_paths, run_reports, street_job
from govlib.settings import load_settings

STREET = "310115005000"
pytestmark = pytest.mark.skipif(not chromium_path(), reason="needs Debian's chromium (make chromium)")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    settings = load_settings(root=build_fake_store(tmp_path_factory.mktemp("rendered")))
    jobs = [street_job(STREET, "2025", lang) for lang in ("zh", "en")] + \
           [district_job("2025", lang) for lang in ("zh", "en")] + [audit_job("2025", lang) for lang in ("zh", "en")]
    results = run_reports(jobs, settings, workers=2, timeout=600, force=True, progress=False)
    assert [r.status for r in results] == ["ok"] * len(jobs), [r.error for r in results]
    t0 = time.perf_counter()
    out = finish_reports(results, settings, log=lambda *a: None)
    out["seconds"] = time.perf_counter() - t0
    out["html"] = {r.job.name: output_paths(r.job, settings)["html"] for r in results}
    out["settings"] = settings
    return out


# ---- one language per report ------------------------------------------------------------------------------------

#: English UI strings that must not appear in a Chinese report (the issue's list and their kin)
EN_IN_ZH = ["per 10k per year", "(items)", "(meetings per year)", "period", "composite", "release", "suppress",
            "score", "rank", "synthetic", "eblup", "direct", "manifest", "True", "False"]
#: Latin words a Chinese report may show: method and person names, codes, units of measure
ZH_ALLOWED = {"Sen", "Mann-Kendall", "Fay-Herriot", "Benjamini-Hochberg", "CUSUM", "EWMA", "Sobol", "S1", "ST",
              "Pearson", "Cronbach", "govlib", "Monte", "Carlo", "SGI", "OECD", "JRC", "PCA", "p", "q", "r", "n",
              "demo-", "yuan"}


def test_chinese_reports_have_no_english_ui_strings(rendered):
    for name, path in rendered["html"].items():
        if not name.endswith("_zh"):
            continue
        text = visible_text(path.read_text(encoding="utf-8"))
        for word in EN_IN_ZH:
            assert not re.search(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", text, re.I), (name, word)
        if not name.startswith("audit"):  # the audit shows engine tables with their codes
            # Latin words of two letters or more, less codes (D3) and hash fragments in the provenance footer
            words = {w for w in re.findall(r"[A-Za-z][A-Za-z\-]+", text) if not re.fullmatch(r"D\d+|[a-f]+", w)}
            assert words <= ZH_ALLOWED, (name, sorted(words - ZH_ALLOWED))


def test_english_reports_have_no_chinese_ui_strings(rendered):
    import pandas as pd

    settings = rendered["settings"]
    units = pd.read_parquet(settings.processed_dir / "units.parquet")
    proper = set(units["name_zh"].astype(str))  # names of places may stay in Chinese
    for name, path in rendered["html"].items():
        if not name.endswith("_en"):
            continue
        text = visible_text(path.read_text(encoding="utf-8"))
        for n in sorted(proper, key=len, reverse=True):
            text = text.replace(n, " ")
        chinese = re.findall(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]+", text)
        assert not chinese, (name, chinese[:10])


# ---- PDF ------------------------------------------------------------------------------------------------------

def _pdf(rendered, name):
    return rendered["settings"].outputs_dir / "pdf" / f"{name}.pdf"


def _embedded(reader):
    fonts, missing = set(), []
    for page in reader.pages:
        for ref in (page["/Resources"].get("/Font") or {}).values():
            font = ref.get_object()
            desc = font.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in font:
                desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            name = str(font.get("/BaseFont"))
            fonts.add(name)
            if not any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                missing.append(name)
    return fonts, missing


@pytest.mark.parametrize("name, low, high", [(f"street_{STREET}_2025_zh", 3, 25), (f"street_{STREET}_2025_en", 3, 25),
                                             ("district_2025_zh", 3, 30), ("audit_2025_en", 2, 40)])
def test_pdf_pages_have_text_embedded_fonts_headers_and_page_numbers(rendered, name, low, high):
    from pypdf import PdfReader

    path = _pdf(rendered, name)
    reader = PdfReader(str(path))
    n = len(reader.pages)
    assert low <= n <= high, n
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)  # A4
    zh = name.endswith("_zh")
    for i, page in enumerate(reader.pages, 1):
        text = page.extract_text()
        assert len(text.strip()) > 40, (name, i)
        assert ("合成示例数据" if zh else "Synthetic demo data") in text, (name, i)  # running header
        number = rf"第\s*{i}\s*页\s*/\s*共\s*{n}\s*页" if zh else rf"Page\s+{i}\s+of\s+{n}"
        assert re.search(number, text), (name, i)
        assert "2025" in text
        if name.startswith("street"):
            assert ("陆家嘴街道" if zh else "Lujiazui") in text, (name, i)
    fonts, missing = _embedded(reader)
    assert fonts and not missing, missing


def test_bundle_is_the_district_report_then_the_street_profiles(rendered):
    from pypdf import PdfReader

    bundle = PdfReader(str(_pdf(rendered, "bundle_2025_zh")))
    parts = [PdfReader(str(_pdf(rendered, n))) for n in ("district_2025_zh", f"street_{STREET}_2025_zh")]
    assert len(bundle.pages) == sum(len(p.pages) for p in parts)
    assert [o.title for o in bundle.outline] == ["浦东新区社会治理指数", "陆家嘴街道"]
    assert (rendered["settings"].outputs_dir / "pdf" / "bundle_2025_en.pdf").exists()


def test_pdfs_cost_seconds_not_minutes(rendered):
    # six reports: fonts + PDFs in one browser; a generous bound for a busy 2-core machine
    assert rendered["seconds"] < 90, rendered["seconds"]
    assert len(rendered["pdfs"]) == 6 + 2  # six reports and two bundles


# ---- fonts: Chinese renders on a machine without a CJK font --------------------------------------------------------

@pytest.fixture(scope="module")
def no_cjk_fontconfig(tmp_path_factory):
    """A fontconfig that knows only DejaVu: a machine without any CJK font."""
    d = tmp_path_factory.mktemp("fontconfig")
    conf = d / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{d}/cache</cachedir></fontconfig>""",
                    encoding="utf-8")
    return {"FONTCONFIG_FILE": str(conf)}


def _platform_fonts(page, selector):
    page.send("DOM.enable")
    page.send("CSS.enable")
    root = page.send("DOM.getDocument")["root"]["nodeId"]
    node = page.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
    return page.send("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]


def test_chinese_renders_from_the_embedded_font_without_any_cjk_font(rendered, no_cjk_fontconfig, tmp_path):
    html = rendered["html"][f"street_{STREET}_2025_zh"]
    page_text = html.read_text(encoding="utf-8")
    assert page_text.count("font/woff2;base64,") == 2  # Regular and Bold subsets
    bare = tmp_path / "bare.html"  # the same page without the embedded font: the control
    bare.write_text(re.sub(r'<style id="govlib-webfont">.*?</style>', "", page_text, flags=re.S), encoding="utf-8")
    with Chromium(window=(1100, 1400), env=no_cjk_fontconfig) as chromium:
        page = chromium.page()
        page.send("Page.enable")
        page.load(html.as_uri())
        used = _platform_fonts(page, "h1")
        cjk = [f for f in used if f["glyphCount"]][0]  # the web font (its own name table says Noto Sans SC)
        assert cjk["isCustomFont"] and cjk["familyName"] == "Noto Sans SC", used
        assert all(f["isCustomFont"] for f in used if f["familyName"] != "DejaVu Sans"), used
        assert page.evaluate("document.fonts.check('16px \"govlib Noto Sans SC\"', '陆家嘴街道')")
        shot = page.send("Page.captureScreenshot", format="png")
        page.load(bare.as_uri())
        control = _platform_fonts(page, "h1")
        assert not any(f["isCustomFont"] for f in control), control  # without it: no font with the glyphs
        page.close()
    # the street report as a reader sees it, beside the portal, for a reviewer without a browser
    from test_portal_browser import _screenshot_targets

    for target in _screenshot_targets(rendered["settings"].outputs_dir / "site", "street_report.png"):
        target.write_bytes(base64.b64decode(shot["data"]))
        assert target.stat().st_size > 20_000


def test_font_subset_holds_only_the_glyphs_used(rendered):
    from io import BytesIO

    from fontTools.ttLib import TTFont

    page = rendered["html"][f"street_{STREET}_2025_zh"].read_text(encoding="utf-8")
    data = re.search(r"font/woff2;base64,([A-Za-z0-9+/=]+)", page).group(1)
    font = TTFont(BytesIO(base64.b64decode(data)))
    cmap = set(font.getBestCmap())
    assert {ord(c) for c in "陆家嘴街道社会治理指数"} <= cmap
    assert 300 < len(cmap) < 3000  # the reports' characters, not the font's 30,000 glyphs
    assert ord("鬱") not in cmap
