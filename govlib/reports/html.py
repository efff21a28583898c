"""Offline HTML: the report export (no code, no network) and the small HTML pieces reports show.

nbconvert's default templates load require.js and MathJax from a CDN, which stalls a report on a closed government
network. :func:`export_html` uses ``govlib/templates/govlib_report.html.j2``, a JupyterLab template with every
network resource removed, hides all code (``exclude_input=True``) and embeds images as data URIs.
:func:`network_references` finds anything that would still reach out (scripts, stylesheets, images, fonts by URL).
"""
from __future__ import annotations

import html as _html
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..paths import PACKAGE_DIR

__all__ = ["TEMPLATE_DIR", "export_html", "network_references", "banner_html", "summary_html", "footer_html",
           "linked_table_html", "visible_text",
           "escape"]

TEMPLATE_DIR = PACKAGE_DIR / "reports" / "templates"
_NETWORK = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import\s+(?:url\()?["']?(?:https?:)?//|"""
                      r"""url\(\s*["']?(?:https?:)?//""", re.I)


def escape(text: Any) -> str:
    """HTML-escape any value (names come from data files and may hold ``<`` or ``&``).

    Examples
    --------
    >>> escape("<b>陆家嘴</b> & co")
    '&lt;b&gt;陆家嘴&lt;/b&gt; &amp; co'
    """
    return _html.escape(str(text), quote=True)


def network_references(text: str) -> list[str]:
    """Every place in an HTML text that would load something over the network (empty list: fully offline).

    Plain links (``<a href="https://...">``) do not load anything and are not reported.

    Examples
    --------
    >>> network_references('<script src="https://cdn.x/require.js"></script><a href="https://x.org">x</a>')
    ['src="https://cdn.x/require.js"']
    >>> network_references('<img src="data:image/png;base64,AAA">')
    []
    """
    found = []
    for m in _NETWORK.finditer(text):
        start = m.start()
        tag_open = text.rfind("<", 0, start)
        if tag_open >= 0 and re.match(r"<a[\s>]", text[tag_open:tag_open + 3], re.I):
            continue
        end = text.find(" ", m.end())
        found.append(text[start: end if end > 0 else m.end() + 40].rstrip(">"))
    return [f.split(">")[0] for f in found]


def banner_html(synthetic: bool, lang: str = "zh") -> str:
    """The synthetic-data banner (empty when the data are real).

    Examples
    --------
    >>> "合成" in banner_html(True), banner_html(False)
    (True, '')
    """
    if not synthetic:
        return ""
    # one language per report: the notice is in the report's language only
    text = ("演示数据：本报告中的所有数据均为合成（虚构）数据，不代表任何真实街镇的情况。"
            if lang == "zh" else
            "SYNTHETIC DEMO DATA: every number in this report is synthetic and describes no real place.")
    return f'<div class="govlib-banner" role="note" style="background:#fff3cd;border:1px solid #E69F00;' \
           f'padding:8px 12px;font-weight:bold">{escape(text)}</div>'


def summary_html(text: str) -> str:
    """The summary paragraph in its box."""
    return f'<p class="govlib-summary" style="background:#f4f8fb;border-left:4px solid #0072B2;padding:10px 14px;' \
           f'line-height:1.7">{escape(text)}</p>'


def footer_html(prov: Mapping[str, Any], lang: str = "zh") -> str:
    """The provenance footer: manifest hash, framework version, settings hash, govlib version, build time.

    Examples
    --------
    >>> "abc123" in footer_html({"manifest_hash": "abc123", "framework_version": "1", "settings_hash": "s",
    ...                          "govlib_version": "0.1.0", "built_at": "now"})
    True
    """
    zh = lang == "zh"
    items = [("数据版本（清单哈希）" if zh else "Data (manifest hash)", prov.get("manifest_hash", "")),
             ("指标体系版本" if zh else "Framework version", prov.get("framework_version", "")),
             ("设置哈希" if zh else "Settings hash", prov.get("settings_hash", "")),
             ("govlib 版本" if zh else "govlib version", prov.get("govlib_version", "")),
             ("构建时间" if zh else "Built at", prov.get("built_at", ""))]
    body = " · ".join(f"{escape(k)}: <code>{escape(v)}</code>" for k, v in items)
    return f'<div class="govlib-footer" style="color:#555;font-size:0.85em;border-top:1px solid #ccc;' \
           f'margin-top:24px;padding-top:8px">{body}</div>'


def import_notebook_tools() -> None:
    """Import nbformat (and with it jsonschema) without jsonschema's optional ``iri`` format checker.

    ``jsonschema`` imports ``rfc3987_syntax`` when it is installed (``nbformat`` pulls it in through
    ``jsonschema[format-nongpl]``), and that module compiles some 35 Lark grammars at import: 1-3 s in every
    process that reads or writes a notebook (the report command, each worker), for a format no notebook schema uses
    and nothing here validates (python-jsonschema/jsonschema#1428). Blocking that one module while jsonschema loads
    leaves only the ``iri``/``iri-reference`` format checks unregistered, in this process. Idempotent; does nothing
    when jsonschema is already imported (someone imported it the ordinary way first).

    Examples
    --------
    >>> import_notebook_tools(); import sys
    >>> "nbformat" in sys.modules and sys.modules.get("rfc3987_syntax", "absent") is not None
    True
    """
    import sys

    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # `from rfc3987_syntax import` -> ImportError
        try:
            import jsonschema  # noqa: F401
        finally:
            del sys.modules["rfc3987_syntax"]
    import nbformat  # noqa: F401


@lru_cache(maxsize=1)
def _exporter() -> Any:
    """One HTML exporter per process: its Jinja templates compile once (0.3-0.7 s), not once per report."""
    import_notebook_tools()
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    # Cells tagged "report-hide" (the notebook's own how-to notes) are for researchers, not for the report.
    config.TagRemovePreprocessor.remove_cell_tags = ("report-hide",)
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=config, template_file="govlib_report.html.j2", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True)
    exporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    exporter.template_paths = [str(TEMPLATE_DIR)] + list(exporter.template_paths)
    return exporter


def load_exporter() -> None:
    """Import the notebook tools and compile the HTML exporter's templates now (e.g. in a thread while a kernel
    starts), so the first report does not wait for them."""
    _exporter()


def export_html(notebook: str | Path | Any, target: str | Path, title: str | None = None) -> Path:
    """Write an executed notebook as an offline HTML report (no code cells, no network resources), atomically.

    Parameters
    ----------
    notebook : path of an executed ``.ipynb`` or an ``nbformat`` notebook node.
    target : the ``.html`` file to write.
    title : the page title (default: the notebook's name).

    Raises
    ------
    RuntimeError
        If the result would still load anything from the network (a template regression).
    """
    import_notebook_tools()
    import nbformat

    from ..data.store import atomic_write_text

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    nb.metadata.pop("widgets", None)  # widget state would need the CDN renderer; reports have static fallbacks
    if title:
        nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title or Path(str(target)).stem}})
    leaks = network_references(body)
    if leaks:
        raise RuntimeError(f"HTML export would load network resources: {leaks[:5]}")
    atomic_write_text(target, body)
    return Path(target)


def linked_table_html(df, link_column: int, hrefs, classes: str = "dataframe") -> str:
    """A table whose ``link_column``-th cells link to ``hrefs`` (one per row; empty = no link); all text escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> linked_table_html(pd.DataFrame({"街镇": ["陆家嘴街道"]}), 0, ["street_x.html#alerts"]).split("<tbody>")[1]
    '<tr><td><a href="street_x.html#alerts">陆家嘴街道</a></td></tr></tbody></table>'
    """
    head = "".join(f"<th>{escape(c)}</th>" for c in df.columns)
    rows = []
    for values, href in zip(df.itertuples(index=False), hrefs):
        cells = []
        for i, v in enumerate(values):
            text = "–" if v is None or (isinstance(v, float) and v != v) else escape(v)
            cells.append(f'<td><a href="{escape(href)}">{text}</a></td>' if i == link_column and href
                         else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>' + "".join(rows) + "</tbody></table>"


def visible_text(page: str) -> str:
    """The text a reader sees in an HTML page: no tags, styles, scripts, comments or attribute values.

    Examples
    --------
    >>> visible_text('<style>p{x:1}</style><p title="no">得分 <b>71.2</b></p><script>var a;</script>')
    '得分 71.2'
    """
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("style", "script", "title", "template"):
                self.skip += 1

        def handle_endtag(self, tag):
            if tag in ("style", "script", "title", "template") and self.skip:
                self.skip -= 1

        def handle_data(self, data):
            if not self.skip and data.strip():
                self.parts.append(data.strip())

    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)
