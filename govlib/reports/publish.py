"""After the reports are rendered: embed the font subset in their HTML, print their PDFs (one browser).

:func:`finish_reports` is the one call ``govlib report`` makes after the runner. It takes the runner's results,
so the runner (and its executors) stay unaware of fonts and PDFs.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

from ..settings import Settings

__all__ = ["embed_fonts", "finish_reports"]


def embed_fonts(html_paths: Iterable[Path]) -> int:
    """Embed one WOFF2 subset (the characters of all these pages) in every page that has none yet; the count."""
    from ..data.store import atomic_write_text
    from .pdf import cached_font_face_css
    from .webfont import WEBFONT_MARK, page_characters

    pages = {Path(p): Path(p).read_text(encoding="utf-8") for p in html_paths}
    pages = {p: text for p, text in pages.items() if WEBFONT_MARK not in text}
    if not pages:
        return 0
    chars = "".join(sorted(set("".join(page_characters(text) for text in pages.values()))))
    style = f'{WEBFONT_MARK}<style id="govlib-webfont">{cached_font_face_css(chars)}</style>'
    for path, text in pages.items():
        at = text.lower().find("</head>")
        atomic_write_text(path, text[:at] + style + text[at:] if at >= 0 else style + text)
    return len(pages)


def finish_reports(results, settings: Settings, pdf: bool = True, log=print, browser=None) -> dict[str, object]:
    """Fonts into the rendered reports' HTML, then their PDFs (when Chromium is installed) and the bundles.

    ``results`` are the runner's results; reports that were skipped as up to date keep their files (their PDF is
    printed only if it is missing). ``browser``: a Chromium the caller launched early (and closes), or None.
    """
    from .browser import chromium_path
    from .pdf import write_report_pdfs
    from .runner import output_paths
    from ..data.processed import provenance

    t0 = time.perf_counter()
    done = [output_paths(r.job, settings)["html"] for r in results if r.status in ("ok", "skipped")]
    done = [p for p in done if p.exists()]
    n_fonts = embed_fonts(done)
    out: dict[str, object] = {"fonts": n_fonts, "pdfs": []}
    t1 = time.perf_counter()
    if pdf and done:
        if not chromium_path():
            log("PDF: skipped - Chromium is not installed (make chromium)")
            return out
        rendered = {output_paths(r.job, settings)["html"] for r in results if r.status == "ok"}
        todo = [p for p in done if p in rendered or not (settings.outputs_dir / "pdf" / f"{p.stem}.pdf").exists()]
        synthetic = bool(provenance(settings).get("synthetic"))
        out["pdfs"] = write_report_pdfs(todo, settings.outputs_dir, synthetic, browser=browser) if todo else []
    log(f"fonts embedded in {n_fonts} report(s) ({t1 - t0:.1f} s); PDF: {len(out['pdfs'])} file(s) "
        f"({time.perf_counter() - t1:.1f} s) -> {settings.outputs_dir / 'pdf'}")
    return out
