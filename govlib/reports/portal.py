"""The report portal: ``outputs/site/index.html``, an indicator explorer that works offline from ``file://``.

It leads with the period's alerts (new ones first, then continuing, each linking to its 街镇 report section), then
the **explorer**: pick any node (the index, a dimension or an indicator) and period; see the tile map, the ranking
with its uncertainty interval (Monte Carlo 5-95% for the index), every 街镇's series with hover values; filter by
peer group and search by name or code. Below: the sortable league table and links to every report, PDF and
workbook (relative links, only to files that exist).

Charts are drawn by **ECharts** (Apache-2.0), bundled in the package as ``reports/static/echarts.min.js`` (from the
npm registry, see ``echarts.VERSION``) and copied beside the page: no CDN. ECharts rather than Vega-Lite because it
is what Chinese government dashboards already use (officials know its look), ships Chinese locale and one
self-contained file (Vega-Lite needs vega + vega-lite + vega-embed and a compile step in the browser), and its
canvas renderer stays fast with 36 series on hover. The data come from the processed tables, written by this
step as ``explorer-data.js`` (a script, because browsers refuse ``fetch`` of JSON from ``file://``).

Size budget (checked by a test): the page with its data and embedded font subset at most 1.5 MB, ECharts 1.2 MB.
Every name from the data is escaped (HTML) or JSON-encoded (script); nothing is loaded from the network.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import pandas as pd

from .html import banner_html, escape, footer_html, network_references
from ..settings import Settings, load_settings

__all__ = ["write_portal", "portal_html", "explorer_data", "SIZE_BUDGET", "ECHARTS"]

from ..paths import PACKAGE_DIR

#: bytes: the page (with its data and font subset) and the bundled ECharts
SIZE_BUDGET = {"page": 1_500_000, "echarts": 1_200_000}
ECHARTS = PACKAGE_DIR / "reports" / "static" / "echarts.min.js"

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
.controls{display:flex;flex-wrap:wrap;gap:10px 18px;align-items:center;margin:8px 0 12px;padding:8px 10px;
 background:#f4f8fb;border:1px solid #dde6ee} .controls label{font-size:0.92em} select,input{font:inherit;padding:2px 4px}
.panel{border:1px solid #e3e3e3;padding:4px} #map{width:380px;height:520px} #ranking{width:520px;height:640px}
#series{width:100%;height:420px} .status-new{color:#D55E00;font-weight:bold}.status-continuing{color:#555}
#explorer-note{margin:4px 0 0}
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


def explorer_data(tables: Mapping[str, pd.DataFrame], period: str, lang: str = "zh",
                  report_links: Mapping[str, str] | None = None) -> dict:
    """The explorer's data: nodes, periods, units (with tile positions and peer groups), every node's score and
    rank per period and unit, rank intervals of the index, and the period's alerts (new first).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from govlib.data.sample_store import build_fake_store
    >>> from govlib.reports.views import load_report_tables
    >>> s = load_settings(root=build_fake_store(pathlib.Path(tempfile.mkdtemp())))
    >>> d = explorer_data(load_report_tables(s), "2025")
    >>> len(d["units"]), d["root"], d["period"], len(d["values"][d["root"]]["2025"]["score"])
    (36, 'SGI', '2025', 36)
    """
    import numpy as np

    from . import views
    from .narrative import LEVEL_NAMES
    from .plots import TILE_GRID, short_name
    from .. import periods as P
    from ..data.processed import ranked_units

    zh = lang == "zh"
    scores = tables["index_scores"]
    ranked = ranked_units(tables["units"])
    ranked = ranked[ranked["code"].isin(set(scores["unit"]))].sort_values("code")
    codes = ranked["code"].astype(str).tolist()
    league = views.league_table(tables, period, lang)
    peer = dict(zip(league["code"], league["peer_group"]))
    name_col = "name_zh" if zh else "name_en"
    units = [{"code": c, "name": str(n if isinstance(n, str) and n else nz), "short": short_name(nz),
              "peer": str(peer.get(c, "")), "kind": str(k), "tile": list(TILE_GRID.get(c, (-1, -1)))}
             for c, n, nz, k in zip(codes, ranked[name_col], ranked["name_zh"], ranked["kind"])]
    fw = tables["framework"]
    labels = views.node_label(tables, lang)
    present = set(scores["node"].astype(str))
    nodes = [{"code": str(c), "parent": None if pd.isna(p) or p == "" else str(p), "name": labels.get(str(c), str(c)),
              "unit": views.unit_text(str(u), lang) if isinstance(u, str) else ""}
             for c, p, u in zip(fw["code"], fw["parent"], fw["unit"] if "unit" in fw else [""] * len(fw))
             if str(c) in present]
    freq = P.frequency_of(period)
    periods = [p for p in P.period_index(scores["period"].astype(str).unique())
               if P.frequency_of(p) == freq]
    s = scores[scores["unit"].isin(codes) & scores["period"].astype(str).isin(periods)]
    cube_score = s.pivot_table(index=["node", "period"], columns="unit", values="score", aggfunc="first")
    cube_rank = s.pivot_table(index=["node", "period"], columns="unit", values="rank", aggfunc="first")
    cube_score = cube_score.reindex(columns=codes)
    cube_rank = cube_rank.reindex(columns=codes)

    def clean(values, digits):
        return [None if not np.isfinite(v) else round(float(v), digits) for v in values]

    values: dict[str, dict[str, dict[str, list]]] = {}
    for (node, per), row in cube_score.iterrows():
        ranks = cube_rank.loc[(node, per)].to_numpy(float)
        values.setdefault(str(node), {})[str(per)] = {"score": clean(row.to_numpy(float), 2),
                                                      "rank": [None if not np.isfinite(r) else int(round(r))
                                                               for r in ranks]}
    root = views.root_node(tables)
    intervals = {}
    unc = views.rank_intervals(tables.get("uncertainty"), root)
    for per, part in unc[unc["period"].astype(str).isin(periods)].groupby("period"):
        part = part.set_index("unit").reindex(codes)
        intervals[str(per)] = {"low": [None if pd.isna(v) else int(round(v)) for v in part["rank_low"]],
                               "high": [None if pd.isna(v) else int(round(v)) for v in part["rank_high"]]}
    alerts = views.alerts_with_status(tables, period)
    status_names = views.STATUS_NAMES[lang]
    msg = "message_zh" if zh else "message_en"
    alert_rows = [{"unit": str(a.unit), "node": str(a.node), "node_name": labels.get(str(a.node), str(a.node)),
                   "level": str(a.level), "level_name": LEVEL_NAMES[lang].get(a.level, a.level),
                   "status": str(a.status), "status_name": status_names.get(a.status, a.status),
                   "message": str(getattr(a, msg, "") or ""),
                   "href": (report_links or {}).get(str(a.unit), "")}
                  for a in alerts.itertuples(index=False)]
    return {"lang": lang, "period": period, "periods": periods, "root": root, "nodes": nodes, "units": units,
            "values": values, "intervals": intervals, "alerts": alert_rows}


_EXPLORER_JS = r"""
(function () {
  var D = window.GOVLIB_DATA, T = window.GOVLIB_TEXT;
  var FONT = '"govlib Noto Sans SC", "Noto Sans CJK SC", "Noto Sans SC", sans-serif';
  var byCode = {}; D.units.forEach(function (u, i) { byCode[u.code] = i; });
  var nodeSel = document.getElementById('node'), periodSel = document.getElementById('period');
  var search = document.getElementById('search');
  D.nodes.forEach(function (n) {
    var o = document.createElement('option'); o.value = n.code;
    var depth = 0, p = n.parent; while (p) { depth++; p = (D.nodes.filter(function (m) { return m.code === p; })[0] || {}).parent; }
    o.textContent = '\u3000'.repeat(depth) + n.code + ' ' + n.name; nodeSel.appendChild(o);
  });
  D.periods.forEach(function (p) { var o = document.createElement('option'); o.value = p; o.textContent = p; periodSel.appendChild(o); });
  nodeSel.value = D.root; periodSel.value = D.period;
  var peers = Array.from(new Set(D.units.map(function (u) { return u.peer; }))).sort();
  var peerBox = document.getElementById('peers');
  peers.forEach(function (g) {
    var l = document.createElement('label'), c = document.createElement('input');
    c.type = 'checkbox'; c.checked = true; c.value = g; c.className = 'peer'; l.appendChild(c);
    l.appendChild(document.createTextNode(' ' + g)); peerBox.appendChild(l);
  });
  var map = echarts.init(document.getElementById('map'), null, {renderer: 'canvas'});
  var ranking = echarts.init(document.getElementById('ranking'), null, {renderer: 'canvas'});
  var series = echarts.init(document.getElementById('series'), null, {renderer: 'canvas'});
  window.GOVLIB_CHARTS = {map: map, ranking: ranking, series: series};

  function state() {
    var groups = Array.from(document.querySelectorAll('input.peer')).filter(function (c) { return c.checked; })
      .map(function (c) { return c.value; });
    var q = search.value.trim().toLowerCase();
    var shown = D.units.filter(function (u) { return groups.indexOf(u.peer) >= 0; });
    var hits = q ? shown.filter(function (u) { return u.name.toLowerCase().indexOf(q) >= 0 || u.code.indexOf(q) >= 0 || u.short.indexOf(q) >= 0; }) : [];
    return {node: nodeSel.value, period: periodSel.value, shown: shown, hits: hits.map(function (u) { return u.code; })};
  }
  function nodeName(code) { var n = D.nodes.filter(function (m) { return m.code === code; })[0]; return n ? n.name : code; }
  function val(node, period) { return ((D.values[node] || {})[period]) || {score: [], rank: []}; }
  function fmt(v) { return v === null || v === undefined ? '–' : v.toFixed(1); }

  function draw() {
    var s = state(), v = val(s.node, s.period), hit = {};
    s.hits.forEach(function (c) { hit[c] = true; });
    var scores = s.shown.map(function (u) { return v.score[byCode[u.code]]; }).filter(function (x) { return x !== null && x !== undefined; });
    var lo = scores.length ? Math.min.apply(null, scores) : 0, hi = scores.length ? Math.max.apply(null, scores) : 100;
    document.getElementById('explorer-title').textContent = s.node + ' ' + nodeName(s.node) + ' · ' + s.period;
    document.body.setAttribute('data-node', s.node); document.body.setAttribute('data-period', s.period);
    map.setOption({
      textStyle: {fontFamily: FONT}, animation: false,
      title: {text: T.map, left: 'center', textStyle: {fontSize: 13, fontFamily: FONT}},
      tooltip: {formatter: function (p) { return p.data.name + '<br>' + T.score + ': ' + fmt(p.data.value[2]) + '<br>' + T.rank + ': ' + (p.data.rank || '–'); }},
      grid: {left: 6, right: 6, top: 44, bottom: 60},
      xAxis: {type: 'category', data: [0, 1, 2, 3, 4], show: false},
      yAxis: {type: 'category', data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], inverse: true, show: false},
      visualMap: {min: Math.floor(lo), max: Math.ceil(hi), calculable: true, precision: 0, orient: 'horizontal', left: 'center', bottom: 4,
                  inRange: {color: ['#00204D', '#575C6D', '#A69D75', '#FFEA46']}, textStyle: {fontFamily: FONT}},
      series: [{type: 'heatmap', name: 'map', data: s.shown.filter(function (u) { return u.tile[0] >= 0; }).map(function (u) {
          var i = byCode[u.code];
          return {name: u.name, code: u.code, rank: v.rank[i], value: [u.tile[1], u.tile[0], v.score[i] === null ? '-' : v.score[i]],
                  itemStyle: hit[u.code] ? {borderColor: '#D55E00', borderWidth: 3} : {borderColor: '#fff', borderWidth: 1}};
        }),
        label: {show: true, fontFamily: FONT, fontSize: 10, formatter: function (p) { return D.units[byCode[p.data.code]].short + '\n' + fmt(p.data.value[2]); }}}]
    }, true);
    var iv = s.node === D.root ? D.intervals[s.period] : null;
    var rows = s.shown.map(function (u) { var i = byCode[u.code]; return {u: u, i: i, rank: v.rank[i], score: v.score[i],
        lo: iv ? iv.low[i] : null, hi: iv ? iv.high[i] : null}; })
      .filter(function (r) { return r.rank !== null && r.rank !== undefined; })
      .sort(function (a, b) { return a.rank - b.rank; });
    document.getElementById('ranking').setAttribute('data-first', rows.length ? rows[0].u.code : '');
    ranking.setOption({
      textStyle: {fontFamily: FONT}, animation: false,
      title: {text: iv ? T.rankingUnc : T.ranking, left: 'center', textStyle: {fontSize: 13, fontFamily: FONT}},
      tooltip: {trigger: 'item', formatter: function (p) { var r = rows[p.dataIndex]; return r.u.name + '<br>' + T.rank + ': ' + r.rank +
        (r.lo !== null ? ' (' + r.lo + '–' + r.hi + ')' : '') + '<br>' + T.score + ': ' + fmt(r.score); }},
      grid: {left: 90, right: 20, top: 30, bottom: 30},
      xAxis: {type: 'value', min: 1, max: D.units.length, minInterval: 1, name: T.rank, nameLocation: 'middle', nameGap: 22},
      yAxis: {type: 'category', inverse: true, data: rows.map(function (r) { return r.u.name; }),
              axisLabel: {fontFamily: FONT, fontSize: 10, color: function (value, idx) { return hit[rows[idx] && rows[idx].u.code] ? '#D55E00' : '#333'; }}},
      series: [
        {type: 'custom', name: 'interval', renderItem: function (params, api) {
            var a = api.coord([api.value(1), params.dataIndex]), b = api.coord([api.value(2), params.dataIndex]);
            return {type: 'line', shape: {x1: a[0], y1: a[1], x2: b[0], y2: b[1]}, style: {stroke: '#0072B2', lineWidth: 4, opacity: 0.35}};
          }, encode: {x: [1, 2], y: 0}, data: rows.filter(function () { return !!iv; }).map(function (r, k) { return [k, r.lo, r.hi]; }), silent: true},
        {type: 'scatter', name: 'rank', symbolSize: 8, data: rows.map(function (r, k) { return {value: [r.rank, k],
          itemStyle: {color: hit[r.u.code] ? '#D55E00' : '#0072B2'}}; })}]
    }, true);
    series.setOption({
      textStyle: {fontFamily: FONT}, animation: false,
      title: {text: T.series, left: 'center', textStyle: {fontSize: 13, fontFamily: FONT}},
      tooltip: {trigger: 'item', formatter: function (p) { return p.seriesName + '<br>' + p.name + ': ' + fmt(p.value); }},
      grid: {left: 50, right: 20, top: 34, bottom: 30},
      xAxis: {type: 'category', data: D.periods}, yAxis: {type: 'value', scale: true, name: T.score},
      series: s.shown.map(function (u) { var i = byCode[u.code]; var on = !s.hits.length || hit[u.code];
        return {type: 'line', name: u.name, symbolSize: 5, showSymbol: true, emphasis: {focus: 'series'},
                lineStyle: {width: hit[u.code] ? 3 : 1.2, opacity: on ? 0.9 : 0.15}, itemStyle: {opacity: on ? 1 : 0.15},
                data: D.periods.map(function (p) { var x = val(s.node, p).score[i]; return x === null || x === undefined ? '-' : x; })}; })
    }, true);
  }
  [nodeSel, periodSel].forEach(function (el) { el.addEventListener('change', draw); });
  search.addEventListener('input', draw);
  peerBox.addEventListener('change', draw);
  window.GOVLIB_SELECT = function (node, period) { nodeSel.value = node; if (period) { periodSel.value = period; } draw(); };
  draw();
})();
"""


def _explorer_text(zh: bool) -> dict:
    if zh:
        return {"map": "街镇分布图", "ranking": "排名", "rankingUnc": "排名及5%–95%不确定性区间", "series": "各街镇历年数值",
                "score": "得分", "rank": "排名"}
    return {"map": "Tile map", "ranking": "Ranking", "rankingUnc": "Ranking with 5-95% uncertainty interval",
            "series": "Each unit over time", "score": "score", "rank": "rank"}


def portal_html(period: str, settings: Settings | None = None, tables: Mapping[str, pd.DataFrame] | None = None,
                lang: str = "zh", site_dir: Path | None = None) -> tuple[str, str]:
    """The portal page and its data script as text (links relative to ``site_dir``, default ``outputs/site``)."""
    import os

    from . import views as views
    from .narrative import LEVEL_NAMES
    from .pdf import cached_font_face_css
    from .webfont import page_characters, WEBFONT_MARK
    from ..data.processed import provenance

    settings = settings or load_settings()
    tables = tables if tables is not None else views.load_report_tables(settings)
    period = views.resolve_period(period, tables)
    zh = lang == "zh"
    outputs = settings.outputs_dir
    site_dir = site_dir or outputs / "site"
    prov = provenance(settings)
    league = views.league_table(tables, period, lang)
    alerts = views.alerts_with_status(tables, period)

    def rel(path: Path) -> str:
        return Path(os.path.relpath(path, site_dir)).as_posix()

    def t(zh_text: str, en_text: str) -> str:
        return zh_text if zh else en_text

    reports = [r for r in _reports(outputs) if r["parameters"].get("period") == period
               and r["parameters"].get("lang", lang) == lang]
    street_links = {r["parameters"].get("unit"): r for r in reports if r["kind"] == "street"}
    max_score = max(float(league["score"].max()), 1.0)
    rows = []
    for row in league.itertuples(index=False):
        mine = alerts[alerts["unit"] == row.code]
        n_alerts = len(mine)
        worst = next((lv for lv in ("red", "amber", "info") if lv in set(mine["level"])), "") if n_alerts else ""
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

    # What is new: alerts new this period first, then continuing ones; each links to its 街镇 report section.
    counts = alerts.groupby(["status", "level"]).size() if len(alerts) else pd.Series(dtype=int)
    level_names, status_names = LEVEL_NAMES[lang], views.STATUS_NAMES[lang]
    summary = " · ".join(
        f'<span class="status-{st}">{escape(status_names[st])}</span> ' + " ".join(
            f'<span class="{lv}">{escape(level_names[lv])} {int(counts.get((st, lv), 0))}</span>'
            for lv in ("red", "amber", "info")) for st in ("new", "continuing"))
    labels = views.node_label(tables, lang)
    names = dict(zip(league["code"], league["name"]))
    msg = "message_zh" if zh else "message_en"
    alert_rows = []
    for a in alerts.itertuples(index=False):
        link = street_links.get(a.unit)
        unit_name = escape(names.get(a.unit, a.unit))
        unit_cell = f'<a href="{escape(rel(link["html"]))}#alerts">{unit_name}</a>' if link else unit_name
        alert_rows.append(f'<tr class="alert-{escape(a.status)}"><td class="status-{escape(a.status)}">'
                          f'{escape(status_names.get(a.status, a.status))}</td>'
                          f'<td class="{escape(a.level)}">{escape(level_names.get(a.level, a.level))}</td>'
                          f"<td>{unit_cell}</td><td>{escape(labels.get(str(a.node), a.node))}</td>"
                          f"<td>{escape(getattr(a, msg, '') or '')}</td></tr>")
    alert_heads = ["状态", "级别", "街镇", "节点", "原因"] if zh else ["Status", "Level", "Unit", "Node", "Reason"]
    alert_table = ('<table id="alerts"><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in alert_heads)
                   + "</tr></thead><tbody>" + "".join(alert_rows[:60]) + "</tbody></table>") if alert_rows else \
        f'<p>{t("本期无预警。", "No alerts this period.")}</p>'
    more = (f'<p class="muted">{t(f"另有{len(alert_rows) - 60}条，见全区报告。", f"{len(alert_rows) - 60} more in the district report.")}</p>'
            if len(alert_rows) > 60 else "")

    from .conformity import portal_section  # 家门口 standard conformity (#18)
    conformity_html = portal_section(period, settings, tables, lang)

    other = [r for r in reports if r["kind"] != "street"]
    kind_names = {"district": t("全区报告", "District report"), "audit": t("方法审计", "Methodology audit")}
    link_items = [f'<a href="{escape(rel(r["html"]))}">{escape(kind_names.get(r["kind"], r["html"].stem))} '
                  f'{escape(r["parameters"].get("period", ""))}</a>' for r in other]
    link_items += [f'<a href="{escape(rel(r["html"]))}">{escape(r["facts"].get("name_zh" if zh else "name_en") or r["facts"].get("name_zh") or r["html"].stem)}</a>'
                   for r in sorted(street_links.values(), key=lambda r: r["html"].name)]
    books = sorted((outputs / "excel").glob("*.xlsx"))
    pdfs = sorted((outputs / "pdf").glob(f"bundle_{period}_{lang}.pdf"))
    book_items = [f'<a href="{escape(rel(b))}">{escape(b.name)}</a>' for b in books + pdfs]

    data = explorer_data(tables, period, lang, {u: rel(r["html"]) + "#alerts" for u, r in street_links.items()})
    data_js = ("window.GOVLIB_DATA = " + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + ";\n"
               + "window.GOVLIB_TEXT = " + json.dumps(_explorer_text(zh), ensure_ascii=False) + ";\n")
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
<h2>{t("本期预警：新增在前，持续在后", "Alerts this period: new first, then continuing")}</h2>
<p id="alert-summary">{summary}</p>
{alert_table}
{more}
<h2>{t("指标浏览器", "Indicator explorer")}</h2>
<div class="controls">
<label>{t("节点", "Node")} <select id="node"></select></label>
<label>{t("期间", "Period")} <select id="period"></select></label>
<label>{t("搜索街镇（名称或代码）", "Search (name or code)")} <input id="search" type="search" size="16"></label>
<span id="peers">{t("同类组：", "Peer groups:")}</span>
</div>
<h3 id="explorer-title"></h3>
<div class="grid"><div id="map" class="panel"></div><div id="ranking" class="panel"></div></div>
<div id="series" class="panel"></div>
<p class="muted" id="explorer-note">{t("将鼠标移到图上可看数值；排名区间为蒙特卡洛不确定性分析的5%–95%区间（仅总指数）。", "Hover over a chart for values; rank intervals are the 5-95% range of the Monte Carlo uncertainty analysis (index only).")}</p>
<h2>{t("排行榜", "League table")}</h2>
<p class="muted">{t("点击表头排序。", "Click a column header to sort.")}</p>
{league_html}
<h2>{t("报告、PDF与工作簿", "Reports, PDF and workbooks")}</h2>
<div class="links" id="reports">{"".join(link_items) or t("（尚无报告）", "(no reports yet)")}</div>
<div class="links" id="workbooks">{"".join(book_items)}</div>
{conformity_html}
{footer_html(prov, lang)}
<script src="echarts.min.js"></script>
<script src="explorer-data.js"></script>
<script>{_JS}</script>
<script>document.fonts.ready.then(function () {{ {_EXPLORER_JS} }});</script>
</body>
</html>
"""
    # the font subset covers the page and the names in the data (drawn on the charts' canvas)
    css = cached_font_face_css(page_characters(page) + page_characters(data_js))  # subsetting costs seconds
    page = page.replace("</head>", f'{WEBFONT_MARK}<style id="govlib-webfont">{css}</style></head>', 1)
    leaks = network_references(page)
    if leaks:  # pragma: no cover - a regression guard
        raise RuntimeError(f"portal would load network resources: {leaks[:3]}")
    return page, data_js


def write_portal(period: str, settings: Settings | None = None, lang: str = "zh",
                 tables: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write ``outputs/site/index.html`` with ``explorer-data.js`` and ``echarts.min.js`` beside it (atomically) and
    return the page's path (``period`` may be ``latest``)."""
    from ..data.store import atomic_write_bytes, atomic_write_text

    settings = settings or load_settings()
    target = settings.outputs_dir / "site" / "index.html"
    page, data_js = portal_html(period, settings, tables, lang, site_dir=target.parent)
    atomic_write_text(target.parent / "explorer-data.js", data_js)
    bundled = ECHARTS.read_bytes()
    copy = target.parent / "echarts.min.js"
    if not copy.exists() or copy.read_bytes() != bundled:
        atomic_write_bytes(copy, bundled)
    atomic_write_text(target, page)
    return target
