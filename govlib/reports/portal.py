"""The report portal: ``outputs/site/index.html``, one static page that works offline.

It shows the period's league table (sortable by clicking a column header; a few lines of inline JavaScript), small
charts (a tile map and rank intervals, embedded as PNG data URIs), the alerts summary, links to every rendered
report and workbook (relative links, only to files that exist), and a banner when the data are synthetic. Nothing
is loaded from the network: no CDN, no web fonts, no external scripts or stylesheets. Every name from the data is
HTML-escaped.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Mapping

import pandas as pd

from .html import banner_html, escape, footer_html, network_references
from ..settings import Settings, load_settings

__all__ = ["write_portal", "portal_html"]

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
 max-width:1180px;margin:0 auto;padding:0 16px 40px;color:#222}
h1{font-size:1.6em;margin:16px 0 4px} h2{font-size:1.2em;border-bottom:2px solid #0072B2;padding-bottom:2px}
table{border-collapse:collapse;font-size:0.92em} th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:left}
th{background:#eef3f8;cursor:pointer;user-select:none;white-space:nowrap} th.sorted-asc::after{content:" ▲"}
th.sorted-desc::after{content:" ▼"} span.val{display:inline-block;width:3em} td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:9px;background:#0072B2;vertical-align:middle;margin-left:6px}
.red{color:#D55E00;font-weight:bold}.amber{color:#9C5700;font-weight:bold}.info{color:#0072B2}
.grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.grid img{max-width:100%;border:1px solid #eee}
.links a{display:inline-block;margin:2px 10px 2px 0} .muted{color:#666;font-size:0.9em}
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.querySelectorAll('th');
  heads.forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      heads.forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-sort'), y = b.cells[col].getAttribute('data-sort');
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y), 'zh');
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _png_uri(fig) -> str:
    from .plots import figure_png

    import matplotlib.pyplot as plt

    try:
        return "data:image/png;base64," + base64.b64encode(figure_png(fig, dpi=90)).decode("ascii")
    finally:
        plt.close(fig)


def _num_cell(value, digits: int = 1, signed: bool = False) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="num" data-sort="">–</td>'
    text = f"{value:+.{digits}f}" if signed and value else f"{value:.{digits}f}"
    return f'<td class="num" data-sort="{value:.6f}">{escape(text)}</td>'


def _reports(outputs: Path) -> list[dict]:
    found = []
    for path in sorted((outputs / "reports").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        html = outputs / "reports" / str(data.get("html", path.with_suffix(".html").name))
        if html.exists():
            found.append({"kind": data.get("kind", ""), "facts": data.get("facts", {}), "html": html,
                          "parameters": data.get("parameters", {})})
    return found


def portal_html(period: str, settings: Settings | None = None, tables: Mapping[str, pd.DataFrame] | None = None,
                lang: str = "zh", site_dir: Path | None = None) -> str:
    """The portal page as text (links relative to ``site_dir``, default ``outputs/site``)."""
    import os

    import matplotlib.pyplot as plt

    from . import plots as plots

    from . import views as views
    from .fonts import strict_glyphs
    from .narrative import LEVEL_NAMES
    from ..data.processed import provenance

    settings = settings or load_settings()
    tables = tables if tables is not None else views.load_report_tables(settings)
    period = views.resolve_period(period, tables)
    zh = lang == "zh"
    outputs = settings.outputs_dir
    site_dir = site_dir or outputs / "site"
    prov = provenance(settings)
    league = views.league_table(tables, period, lang)
    alerts = tables.get("alerts")
    alerts = alerts[alerts["period"].astype(str) == period] if alerts is not None and len(alerts) else pd.DataFrame(
        columns=["unit", "level"])

    def rel(path: Path) -> str:
        return Path(os.path.relpath(path, site_dir)).as_posix()

    def t(zh_text: str, en_text: str) -> str:
        return zh_text if zh else en_text

    reports = [r for r in _reports(outputs) if r["parameters"].get("period") == period]
    street_links = {r["parameters"].get("unit"): r for r in reports if r["kind"] == "street"}
    max_score = max(float(league["score"].max()), 1.0)
    rows = []
    for row in league.itertuples(index=False):
        n_alerts = int((alerts["unit"] == row.code).sum())
        worst = ""
        if n_alerts:
            levels = set(alerts.loc[alerts["unit"] == row.code, "level"])
            worst = next((lv for lv in ("red", "amber", "info") if lv in levels), "")
        link = street_links.get(row.code)
        name = escape(row.name)
        name_cell = f'<a href="{escape(rel(link["html"]))}">{name}</a>' if link else name
        interval = "–" if pd.isna(row.rank_low) else f"{row.rank_low:.0f}–{row.rank_high:.0f}"
        bar = f'<span class="bar" style="width:{max(0.0, row.score) / max_score * 120:.0f}px"></span>'
        rows.append(
            "<tr>" + _num_cell(row.rank, 0) + f'<td data-sort="{escape(row.name)}">{name_cell}</td>'
            + f'<td data-sort="{escape(row.kind)}">{escape(row.kind)}</td>'
            + f'<td data-sort="{escape(row.peer_group)}">{escape(row.peer_group)}</td>'
            + f'<td class="num" data-sort="{row.score:.6f}"><span class="val">{row.score:.1f}</span>{bar}</td>'
            + f'<td class="num" data-sort="{0 if pd.isna(row.rank_low) else row.rank_low}">{interval}</td>'
            + _num_cell(row.rank_change, 0, signed=True)
            + f'<td class="num {worst}" data-sort="{n_alerts}">{n_alerts or ""}</td></tr>')
    heads = (["排名", "街镇", "类型", "同类组", "得分", "排名区间(5–95%)", "排名变化", "预警"] if zh else
             ["Rank", "Unit", "Kind", "Peer group", "Score", "Rank interval (5-95%)", "Rank change", "Alerts"])
    league_html = ('<table class="sortable" id="league"><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in heads)
                   + "</tr></thead><tbody>" + "\n".join(rows) + "</tbody></table>")

    with strict_glyphs():
        fig, ax = plt.subplots(figsize=(4.4, 6.2), layout="constrained")
        plots.tile_map(dict(zip(league["code"], league["score"])), ax=ax,
                       labels=dict(zip(tables["units"]["code"], tables["units"]["name_zh"])),
                       colorbar_label="得分" if zh else "score")
        tile_uri = _png_uri(fig)
        fig, ax = plt.subplots(figsize=(5.6, max(3.0, 0.18 * len(league) + 1.2)), layout="constrained")
        plots.rank_dot_plot(league.assign(label=league["name"]), ax=ax,
                            xlabel="排名（5%–95%区间）" if zh else "rank (5-95% interval)")
        dots_uri = _png_uri(fig)

    counts = alerts["level"].value_counts() if len(alerts) else pd.Series(dtype=int)
    level_names = LEVEL_NAMES[lang]
    alert_summary = " · ".join(f'<span class="{lv}">{escape(level_names[lv])}: {int(counts.get(lv, 0))}</span>'
                               for lv in ("red", "amber", "info"))
    atab = views.alerts_table(tables, period, None, lang)
    alert_rows = "".join(
        "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in r) + "</tr>" for r in atab.head(50).itertuples(index=False))
    alert_table = ("<table><thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in atab.columns) + "</tr></thead>"
                   f"<tbody>{alert_rows}</tbody></table>") if len(atab) else ""

    from .conformity import portal_section  # 家门口 standard conformity (#18)
    conformity_html = portal_section(period, settings, tables, lang)

    other = [r for r in reports if r["kind"] != "street"]
    kind_names = {"district": t("全区报告", "District report"), "audit": t("方法审计", "Methodology audit")}
    link_items = [f'<a href="{escape(rel(r["html"]))}">{escape(kind_names.get(r["kind"], r["html"].stem))} '
                  f'{escape(r["parameters"].get("period", ""))} ({escape(r["parameters"].get("lang", ""))})</a>'
                  for r in other]
    link_items += [f'<a href="{escape(rel(r["html"]))}">{escape(r["facts"].get("name_zh") or r["html"].stem)}</a>'
                   for r in sorted(street_links.values(), key=lambda r: r["html"].name)]
    books = sorted((outputs / "excel").glob("*.xlsx"))
    book_items = [f'<a href="{escape(rel(b))}">{escape(b.name)}</a>' for b in books]

    title = settings.data["project"].get("name_zh" if zh else "name_en", "")
    page = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if zh else 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · {escape(period)}</title>
<style>{_CSS}</style>
</head>
<body>
{banner_html(prov["synthetic"], lang)}
<h1>{escape(title)} · {escape(period)}</h1>
<p class="muted">{t("报告门户：排行榜可点击表头排序；所有内容离线可用。", "Report portal: click a column header to sort; everything works offline.")}</p>
<h2>{t("报告与工作簿", "Reports and workbooks")}</h2>
<div class="links" id="reports">{"".join(link_items) or t("（尚无报告）", "(no reports yet)")}</div>
<div class="links" id="workbooks">{"".join(book_items)}</div>
<h2>{t("排行榜", "League table")}</h2>
{league_html}
<h2>{t("图表", "Charts")}</h2>
<div class="grid"><img alt="{t('街镇得分分布图', 'tile map of scores')}" src="{tile_uri}">
<img alt="{t('排名及不确定性区间', 'ranks with uncertainty intervals')}" src="{dots_uri}"></div>
<h2>{t("预警汇总", "Alerts")}</h2>
<p>{alert_summary}</p>
{alert_table}
{conformity_html}
{footer_html(prov, lang)}
<script>{_JS}</script>
</body>
</html>
"""
    leaks = network_references(page)
    if leaks:  # pragma: no cover - a regression guard
        raise RuntimeError(f"portal would load network resources: {leaks[:3]}")
    return page


def write_portal(period: str, settings: Settings | None = None, lang: str = "zh",
                 tables: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write ``outputs/site/index.html`` atomically and return its path (``period`` may be ``latest``)."""
    from ..data.store import atomic_write_text

    settings = settings or load_settings()
    target = settings.outputs_dir / "site" / "index.html"
    atomic_write_text(target, portal_html(period, settings, tables, lang, site_dir=target.parent))
    return target
