"""Every report also as an A4 PDF, printed by headless Chromium in one browser; one bundle PDF per period.

Why Chromium and not WeasyPrint: the reports are JupyterLab HTML whose layout (flex outputs, CSS variables) only a
browser engine renders faithfully; Chromium is already the browser of the test suite, prints through the DevTools
protocol (``Page.printToPDF``) with a header and footer template, embeds the fonts it used as subsets, repeats
``<thead>`` rows on every page, and needs no second rendering engine. One browser prints all reports in turn (a
page load and a print each, well under a second), so 37 reports cost seconds, not minutes.

Each page carries a running header (the 街镇 or report name, the period, and the synthetic-data notice when the
data are synthetic) and a footer with "page N / M". Print CSS in the report template keeps charts whole.
The bundle (``bundle_<period>_<lang>.pdf``) is the district report followed by every 街镇 profile, with bookmarks.
"""
from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Mapping

from .html import escape

__all__ = ["A4_INCHES", "cached_font_face_css", "header_html", "footer_html_template", "print_pdfs", "bundle_pdf", "write_report_pdfs"]

A4_INCHES = (8.27, 11.69)
_MM = 1 / 25.4


def cached_font_face_css(characters: str, weights: tuple[str, ...] = ("Regular", "Bold")) -> str:
    """:func:`govlib.reports.webfont.font_face_css`, kept on disk beside the font instances and keyed by what it
    depends on (the characters, the weights, the fonts' bytes, govlib's version): subsetting and WOFF2-compressing
    the CJK font takes 2-8 s, and a report run usually needs the same characters as the one before.

    Examples
    --------
    >>> css = cached_font_face_css("陆家嘴", ("Regular",))
    >>> css == cached_font_face_css("陆家嘴", ("Regular",)) and "font/woff2" in css
    True
    """
    import hashlib

    from .. import __version__
    from ..data.store import atomic_write_text
    from .fonts import font_cache_dir, static_font_paths
    from .webfont import font_face_css

    h = hashlib.sha256(f"{__version__}\0{','.join(weights)}\0{characters}".encode())
    for style in weights:
        font = static_font_paths()[style]
        h.update(f"{font.name}:{font.stat().st_size}:{font.stat().st_mtime_ns}".encode())
    path = font_cache_dir() / "webfont" / f"{h.hexdigest()[:32]}.css"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    css = font_face_css(characters, weights)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, css)
    except OSError:  # a read-only cache only costs time
        pass
    return css


def header_html(title: str, period: str, synthetic: bool, lang: str = "zh", font_css: str = "") -> str:
    """Chromium's header template: title and period left, the synthetic-data notice right.

    Examples
    --------
    >>> "合成" in header_html("陆家嘴街道", "2025", True, "zh")
    True
    """
    notice = ("合成示例数据，不代表真实情况" if lang == "zh" else "Synthetic demo data") if synthetic else ""
    return (f"<style>{font_css}</style>"
            '<div style="font-size:7.5pt;width:100%;margin:0 12mm;display:flex;justify-content:space-between;'
            'color:#444;font-family:\'govlib Noto Sans SC\',\'Noto Sans CJK SC\',sans-serif">'
            f"<span>{escape(title)} · {escape(period)}</span><span style=\"color:#9C5700\">{escape(notice)}</span>"
            "</div>")


def footer_html_template(lang: str = "zh", font_css: str = "") -> str:
    """Chromium's footer template: the page number of the total, centred."""
    word = ("第 ", " 页 / 共 ", " 页") if lang == "zh" else ("Page ", " of ", "")
    return (f"<style>{font_css}</style>"
            '<div style="font-size:7.5pt;width:100%;text-align:center;color:#444;'
            'font-family:\'govlib Noto Sans SC\',\'Noto Sans CJK SC\',sans-serif">'
            f'{word[0]}<span class="pageNumber"></span>{word[1]}<span class="totalPages"></span>{word[2]}</div>')


def print_pdfs(jobs: Iterable[tuple[Path, Path, Mapping]], timeout: float = 120, tabs: int | None = None,
               done: Callable[[Path], None] | None = None, browser=None) -> list[Path]:
    """Print ``(html, pdf, header)`` jobs in one headless Chromium (``tabs`` pages at a time, default one per
    core up to 4); ``header`` has ``title, period, synthetic, lang``. Each PDF is written atomically (then
    ``done(pdf)`` is called, from a printing thread); returns the written paths in the order of the jobs.
    ``browser``: a :class:`govlib.reports.browser.Chromium` already launched (the caller closes it); default: one
    started and closed here."""
    import contextlib
    import os

    from .browser import Chromium, file_url
    from ..data.store import atomic_path

    jobs = list(jobs)
    if not jobs:
        return []
    tabs = max(1, tabs or min(4, os.cpu_count() or 1))
    # the header/footer templates get their own small font subset (their text only)
    texts = "".join(h["title"] + h["period"] for _, _, h in jobs) + "合成示例数据，不代表真实情况第页共/·0123456789"
    font_css = cached_font_face_css("".join(sorted(set(texts))), weights=("Regular",)).split("\n:root")[0]
    written: list[Path] = []
    todo = list(jobs)
    lock = threading.Lock()

    def work(page) -> None:
        page.send("Page.enable")
        while True:
            with lock:
                if not todo:
                    return
                html, pdf, head = todo.pop(0)
            page.load(file_url(html), timeout=timeout)
            result = page.send("Page.printToPDF", paperWidth=A4_INCHES[0], paperHeight=A4_INCHES[1],
                               marginTop=16 * _MM, marginBottom=14 * _MM, marginLeft=12 * _MM, marginRight=12 * _MM,
                               printBackground=True, displayHeaderFooter=True,
                               headerTemplate=header_html(head["title"], head["period"], head["synthetic"],
                                                          head.get("lang", "zh"), font_css),
                               footerTemplate=footer_html_template(head.get("lang", "zh"), font_css))
            pdf.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(pdf, suffix=".pdf") as tmp:
                Path(tmp).write_bytes(base64.b64decode(result["data"]))
            with lock:
                written.append(pdf)
            if done is not None:
                done(pdf)

    with contextlib.nullcontext(browser.ready()) if browser is not None else Chromium() as browser:
        # a few tabs print at once (each page renders in its own process); one per core is enough
        pages = [browser.page()] + [browser.new_page() for _ in range(min(tabs, len(jobs)) - 1)]
        with ThreadPoolExecutor(len(pages)) as pool:
            for future in [pool.submit(work, page) for page in pages]:
                future.result()
        for page in pages:
            page.close()
    order = {pdf: i for i, (_, pdf, _) in enumerate(jobs)}
    return sorted(written, key=order.get)


def bundle_pdf(parts: list[tuple[str, Path]], target: Path, ready: Callable[..., bool] | None = None) -> Path:
    """Concatenate PDFs into one, with a bookmark per part (``(title, pdf)``), written atomically.

    ``ready(pdf, wait)``, when given, says whether a part is written: with ``wait=False`` at once (the parts
    already there are parsed first, while the others still print), with ``wait=True`` after waiting for it;
    False then means give up (nothing is written; :class:`RuntimeError`)."""
    from pypdf import PdfReader, PdfWriter

    from ..data.store import atomic_path

    readers = {path: PdfReader(str(path)) for _, path in parts if ready is not None and ready(path, False)}
    writer = PdfWriter()
    for title, path in parts:
        if path not in readers and ready is not None and not ready(path, True):
            raise RuntimeError(f"bundle {target.name}: part {Path(path).name} was not printed")
        writer.append(readers.pop(path, None) or str(path), outline_item=title)
    writer.page_mode = "/UseOutlines"
    with atomic_path(target, suffix=".pdf") as tmp:
        with open(tmp, "wb") as fh:
            writer.write(fh)
    return target


def _header_for(sidecar: Mapping, synthetic: bool) -> dict:
    params = sidecar.get("parameters", {})
    facts = sidecar.get("facts", {}) or {}
    lang = params.get("lang") or sidecar.get("lang") or "zh"
    kind = sidecar.get("kind", "")
    zh = lang == "zh"
    if kind == "street":
        title = facts.get("name_zh" if zh else "name_en") or facts.get("name_zh") or params.get("unit", "")
    elif kind == "district":
        title = "浦东新区社会治理指数" if zh else "Pudong Social Governance Index"
    else:
        title = "方法审计" if zh else "Methodology audit"
    return {"title": str(title), "period": str(params.get("period") or facts.get("period") or ""),
            "synthetic": synthetic, "lang": lang, "kind": kind}


def write_report_pdfs(html_paths: Iterable[Path], outputs_dir: Path, synthetic: bool, browser=None) -> list[Path]:
    """PDFs of the given rendered reports in ``outputs/pdf/`` (beside each HTML its JSON sidecar names the 街镇 and
    period), then a bundle per period and language that has a district report."""
    jobs, heads = [], {}
    for html in sorted(Path(p) for p in html_paths):
        sidecar_path = html.with_suffix(".json")
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8")) if sidecar_path.exists() else {}
        head = _header_for(sidecar, synthetic)
        pdf = outputs_dir / "pdf" / f"{html.stem}.pdf"
        jobs.append((html, pdf, head))
        heads[pdf] = head
    # bundles: the district report, then every 街镇 profile of the same period and language (printed now or
    # before). Planned before printing, and assembled in a thread while the pages print: a part still being
    # printed is waited for, so the bundle reads the parts printed so far instead of waiting for all of them.
    pdf_dir = outputs_dir / "pdf"
    printing = {pdf: threading.Event() for _, pdf, _ in jobs}
    gave_up = threading.Event()
    plans = []
    districts = {p for p in pdf_dir.glob("district_*.pdf")} | {p for p in printing if p.stem.startswith("district_")}
    for district in sorted(districts):
        _, period, lang = district.stem.split("_", 2)
        streets = sorted({*pdf_dir.glob(f"street_*_{period}_{lang}.pdf"),
                          *(p for p in printing if p.parent == pdf_dir and p.stem.startswith("street_")
                            and p.stem.endswith(f"_{period}_{lang}"))})
        if not {district, *streets} & set(printing):
            continue
        parts = [(heads.get(district, {}).get("title") or district.stem, district)]
        for s in streets:
            side = (outputs_dir / "reports" / f"{s.stem}.json")
            head = heads.get(s) or _header_for(json.loads(side.read_text(encoding="utf-8")) if side.exists() else {},
                                               synthetic)
            parts.append((head["title"] or s.stem, s))
        plans.append((parts, pdf_dir / f"bundle_{period}_{lang}.pdf"))

    def ready(path: Path, wait: bool) -> bool:
        if path in printing:
            if not wait and not printing[path].is_set():
                return False
            printing[path].wait()
        return not gave_up.is_set()

    bundles: list[Path] = []

    def assemble() -> None:
        for parts, target in plans:
            bundles.append(bundle_pdf(parts, target, ready))

    with ThreadPoolExecutor(1, thread_name_prefix="govlib-bundle") as pool:
        assembled = pool.submit(assemble)
        try:
            written = print_pdfs(jobs, done=lambda pdf: printing[pdf].set(), browser=browser)
        finally:
            if not all(event.is_set() for event in printing.values()):
                gave_up.set()  # a print failed: the bundle thread stops at its next part (nothing written)
            for event in printing.values():
                event.set()
        assembled.result()
    return written + bundles
