"""The summary paragraph that opens every report, written from the numbers (Chinese and English).

Two steps, kept apart so they can be tested: ``*_facts`` gathers the headline numbers of a report from the
processed tables (pure; plain Python values, JSON-ready: they also go to the report's JSON sidecar), and
``render_*`` writes the paragraph from those facts with a fixed template. ``*_headline_table`` turns the same facts
into the table printed under the paragraph. Both use :func:`fmt`, so no number in the paragraph can differ from the
table below it (``tests/test_narrative.py`` checks every number).

Conventions: scores are shown with one decimal; a rank change is positive when the unit moved *up* (a smaller rank
number); a trend is significant when its Benjamini-Hochberg q-value (else its p-value) is below ``alpha=0.05``;
the strongest and weakest dimensions are those furthest above and below the district median of that dimension.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import periods as _periods
from ..data.processed import index_root_node, ranked_units

__all__ = ["fmt", "rank_intervals", "LEVEL_NAMES", "PEER_GROUP_NAMES", "street_facts", "district_facts", "render_street_summary",
           "render_district_summary", "street_headline_table", "district_headline_table", "numbers_in",
           "unmatched_numbers"]

LEVEL_NAMES = {"zh": {"red": "红色", "amber": "黄色", "info": "提示"},
               "en": {"red": "red", "amber": "amber", "info": "info"}}
PEER_GROUP_NAMES = {"zh": {"urban": "城区", "urbanising": "城镇化地区", "outer_suburban": "远郊"},
                    "en": {"urban": "urban", "urbanising": "urbanising", "outer_suburban": "outer-suburban"}}


def fmt(value: Any, digits: int = 1) -> str:
    """A number as shown in reports: fixed decimals, no sign for positives, an en dash for missing.

    Examples
    --------
    >>> fmt(3.14159), fmt(-0.04), fmt(None), fmt(7, 0), fmt(float("nan"))
    ('3.1', '0.0', '–', '7', '–')
    """
    if value is None:
        return "–"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "–"
    text = f"{x:.{digits}f}"
    return "0" + ("." + "0" * digits if digits else "") if text.lstrip("-").strip("0.") == "" else text


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _int(x: Any) -> int | None:
    v = _num(x)
    return None if v is None else int(round(v))


def _names(frame: pd.DataFrame, key: str = "code") -> dict[str, dict[str, str]]:
    out = {}
    for row in frame.itertuples(index=False):
        code = str(getattr(row, key))
        zh = getattr(row, "name_zh", None) or code
        en = getattr(row, "name_en", None) or zh
        out[code] = {"zh": str(zh), "en": str(en)}
    return out


def _previous(periods: list[str], period: str) -> str | None:
    same = [p for p in periods if _periods.frequency_of(p) == _periods.frequency_of(period)]
    ordered = list(_periods.period_index(same))
    i = ordered.index(period) if period in ordered else -1
    return ordered[i - 1] if i > 0 else None


def _dimensions(framework: pd.DataFrame, root: str) -> list[str]:
    parent = framework["parent"].astype(str)
    return framework.loc[parent == root, "code"].astype(str).tolist()


def significant_trends(trends: pd.DataFrame, alpha: float) -> pd.Series:
    col = "q" if "q" in trends.columns and trends["q"].notna().any() else "p"
    return trends[col].astype(float) < alpha


def street_facts(tables: Mapping[str, pd.DataFrame], unit: str, period: str, base_period: str | None = None,
                 alpha: float = 0.05) -> dict[str, Any]:
    """The headline numbers of a 街镇 profile.

    Parameters
    ----------
    tables : processed tables; uses ``units``, ``framework``, ``index_scores`` and, when present,
        ``uncertainty`` (rank_low/rank_high), ``trends`` and ``alerts``.
    unit : 12-digit code of a ranked 街镇.
    period : report period (must be in ``index_scores``).
    base_period : the base year of the progress comparison (default: the first period of the same frequency).
    alpha : significance level of the trend calls (applied to the BH q-value when present).

    Returns
    -------
    dict of plain values: identity, score/rank/peer rank, rank interval, changes, dimensions, strongest and
    weakest, significant trends, alerts.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from govlib.data.sample_store import build_fake_store
    >>> from govlib.data.processed import load_processed
    >>> from govlib.settings import load_settings
    >>> s = load_settings(root=build_fake_store(pathlib.Path(tempfile.mkdtemp())))
    >>> t = {n: load_processed(n, s) for n in ["units", "framework", "index_scores", "uncertainty", "trends",
    ...                                         "alerts"]}
    >>> f = street_facts(t, "310115005000", "2025")
    >>> f["name_zh"], f["n_ranked"], 1 <= f["rank"] <= 36
    ('陆家嘴街道', 36, True)
    """
    units = tables["units"]
    scores = tables["index_scores"]
    framework = tables["framework"]
    root = index_root_node(scores, framework)
    ranked = ranked_units(units)
    if unit not in set(ranked["code"]):
        raise ValueError(f"unit {unit!r} is not a ranked 街镇")
    info = ranked.set_index("code").loc[unit]
    node_names = _names(framework)
    all_periods = sorted(scores["period"].astype(str).unique())
    prev = _previous(all_periods, period)
    same = [p for p in all_periods if _periods.frequency_of(p) == _periods.frequency_of(period)]
    base = base_period if base_period in same else (list(_periods.period_index(same))[0] if same else None)
    mine = scores[scores["unit"] == unit].set_index(["period", "node"])
    in_data = set(scores["unit"]) & set(ranked["code"])
    peer_group = info.get("peer_group", "")
    peer_group = "" if pd.isna(peer_group) else str(peer_group)
    peers = set(ranked.loc[ranked["peer_group"] == peer_group, "code"]) & in_data if peer_group else set()

    def get(p, node, col):
        return mine[col].get((p, node), np.nan) if p is not None else np.nan

    score = _num(get(period, root, "score"))
    facts: dict[str, Any] = {
        "kind": "street", "unit": unit, "name_zh": str(info["name_zh"]), "name_en": str(info.get("name_en") or ""),
        "unit_kind": str(info["kind"]), "peer_group": peer_group, "period": period, "prev_period": prev,
        "base_period": base if base != period else None, "root": root,
        "score": score, "rank": _int(get(period, root, "rank")), "n_ranked": len(in_data),
        "peer_rank": _int(get(period, root, "peer_rank")), "n_peer": len(peers) or None,
    }
    facts["score_prev"] = _num(get(prev, root, "score"))
    facts["rank_prev"] = _int(get(prev, root, "rank"))
    facts["change_prev"] = None if score is None or facts["score_prev"] is None else score - facts["score_prev"]
    facts["rank_change"] = (None if facts["rank"] is None or facts["rank_prev"] is None
                            else facts["rank_prev"] - facts["rank"])
    score_base = _num(get(facts["base_period"], root, "score"))
    facts["score_base"] = score_base
    facts["change_base"] = None if score is None or score_base is None else score - score_base
    facts["rank_low"] = facts["rank_high"] = None
    unc = rank_intervals(tables.get("uncertainty"), root)
    sel = (unc["unit"] == unit) & (unc["period"] == period)
    if sel.any():
        row = unc[sel].iloc[0]
        facts["rank_low"], facts["rank_high"] = _int(row["rank_low"]), _int(row["rank_high"])

    now = scores[(scores["period"].astype(str) == period) & scores["unit"].isin(in_data)]
    district_median = now.groupby("node")["score"].median()
    peer_median = now[now["unit"].isin(peers)].groupby("node")["score"].median()
    dims = []
    for node in _dimensions(framework, root):
        s = _num(get(period, node, "score"))
        dm = _num(district_median.get(node, np.nan))
        dims.append({"node": node, "name_zh": node_names.get(node, {}).get("zh", node),
                     "name_en": node_names.get(node, {}).get("en", node), "score": s,
                     "rank": _int(get(period, node, "rank")), "district_median": dm,
                     "peer_median": _num(peer_median.get(node, np.nan)),
                     "gap": None if s is None or dm is None else s - dm})
    facts["dimensions"] = dims
    scored = [d for d in dims if d["gap"] is not None]
    facts["strongest"] = max(scored, key=lambda d: d["gap"])["node"] if scored else None
    facts["weakest"] = min(scored, key=lambda d: d["gap"])["node"] if scored else None

    facts["trends"] = []
    trends = tables.get("trends")
    if trends is not None and len(trends):
        t = trends[(trends["unit"] == unit) & trends["node"].astype(str).isin([root] + [d["node"] for d in dims])]
        t = t[significant_trends(t, alpha)]
        for row in t.itertuples(index=False):
            slope = _num(getattr(row, "sen_slope", None))
            if slope is None or slope == 0:
                continue
            cp = getattr(row, "change_point", None)
            facts["trends"].append({
                "node": str(row.node), "name_zh": node_names.get(str(row.node), {}).get("zh", str(row.node)),
                "name_en": node_names.get(str(row.node), {}).get("en", str(row.node)),
                "direction": "up" if slope > 0 else "down", "sen_slope": slope,
                "change_point": None if cp is None or (isinstance(cp, float) and math.isnan(cp)) else str(cp)})
    facts["alerts"] = _alerts(tables.get("alerts"), period, unit, node_names)
    facts["drivers"] = _drivers(tables, unit, period, prev, node_names)
    return facts


def _drivers(tables, unit, period, prev, node_names, n: int = 2) -> list[dict[str, Any]]:
    """The ``n`` indicators that contributed most to the score change since ``prev`` (index.decompose)."""
    from ..index.decompose import decompose_change, largest_contributions

    if prev is None or _periods.frequency_of(prev) != _periods.frequency_of(period):
        return []
    scores = tables["index_scores"]
    if getattr(tables, "memo", None) is not None and _tree_scored_alike(scores, tables["framework"], unit, period,
                                                                         prev):
        d = decomposition_of(tables, period, prev)  # every unit's, computed once per build in a warm kernel
        d = d[d["unit"] == unit]
    else:
        d = decompose_change(scores[scores["unit"] == unit], tables["framework"], period, prev)
    out = []
    for row in largest_contributions(d, unit, n, kind=("leaf",)).itertuples(index=False):
        if abs(row.contribution) < 0.05:  # rounds to 0.0: not worth naming
            continue
        names = node_names.get(str(row.node), {})
        out.append({"node": str(row.node), "name_zh": names.get("zh", str(row.node)),
                    "name_en": names.get("en", str(row.node)), "contribution": float(row.contribution)})
    return out


def decomposition_of(tables: Mapping[str, pd.DataFrame], period: str, prev: str,
                     method: str = "arithmetic") -> pd.DataFrame:
    """:func:`govlib.index.decompose.decompose_change` of every unit from ``prev`` to ``period``, memoised per build
    in a warm kernel (:mod:`govlib.reports.derived`): the street narrative and the change tables share one."""
    from ..index.decompose import decompose_change
    from .derived import derived

    return derived(tables, ("decompose_change", period, prev, method),
                   lambda source: decompose_change(source["index_scores"], source["framework"], period, prev,
                                                   default_method=method))


def _tree_scored_alike(scores: pd.DataFrame, framework: pd.DataFrame, unit: str, period: str, prev: str) -> bool:
    """Whether ``unit``'s rows of the all-unit decomposition are those of the unit's own decomposition.

    ``decompose_change`` treats a node none of whose children is scored (by any unit it decomposes) as a leaf, and
    keeps only units with a root score in both periods. The rows agree when, for every node with children, "some
    child is scored" is the same for this unit as for all those units together, and the unit is one of them."""
    root = index_root_node(scores, framework)
    per = scores["period"].astype(str)
    s = scores[per.isin([str(period), str(prev)]) & scores["score"].notna()]
    node = s["node"].astype(str)
    roots = s[node == root]
    both = roots.groupby(roots["unit"].astype(str))["period"].nunique()
    units = set(both.index[both.to_numpy() == 2])
    if unit not in units:
        return False
    scored_all = set(node[s["unit"].astype(str).isin(units)])
    scored_unit = set(node[s["unit"].astype(str) == unit])
    kids: dict[str, list[str]] = {}
    for code, parent in zip(framework["code"].astype(str), framework["parent"]):
        if pd.notna(parent) and str(parent) != "":
            kids.setdefault(str(parent), []).append(code)
    return all(any(k in scored_unit for k in ks) == any(k in scored_all for k in ks) for ks in kids.values())


def rank_intervals(uncertainty: pd.DataFrame | None, root: str | None = None) -> pd.DataFrame:
    """``unit, period, rank_low, rank_high, rank_median`` of the root node from the uncertainty table.

    Accepts the index engine's column names (``rank_p05``/``rank_p95``, no ``node`` column: the root) and the
    generic ``rank_low``/``rank_high`` (with an optional ``node`` column).

    Examples
    --------
    >>> u = pd.DataFrame({"unit": ["a"], "period": ["2025"], "rank_p05": [2.0], "rank_p95": [5.0]})
    >>> rank_intervals(u)[["rank_low", "rank_high"]].iloc[0].tolist()
    [2.0, 5.0]
    """
    cols = ["unit", "period", "rank_low", "rank_high", "rank_median"]
    if uncertainty is None or not len(uncertainty):
        return pd.DataFrame(columns=cols)
    u = uncertainty.rename(columns={"rank_p05": "rank_low", "rank_p95": "rank_high"})
    if not {"rank_low", "rank_high"} <= set(u.columns):
        return pd.DataFrame(columns=cols)
    if "node" in u.columns and root is not None:
        u = u[u["node"].astype(str) == root]
    if "rank_median" not in u.columns:
        u = u.assign(rank_median=np.nan)
    out = u[cols].copy()
    out["period"] = out["period"].astype(str)
    return out.reset_index(drop=True)


def _alerts(alerts: pd.DataFrame | None, period: str, unit: str | None, node_names) -> list[dict[str, Any]]:
    if alerts is None or not len(alerts):
        return []
    a = alerts[alerts["period"].astype(str) == period]
    if unit is not None:
        a = a[a["unit"] == unit]
    order = {"red": 0, "amber": 1, "info": 2}
    a = a.assign(_o=a["level"].map(order).fillna(3)).sort_values(["_o", "unit", "node"])
    return [{"unit": str(r.unit), "node": str(r.node), "level": str(r.level),
             "node_zh": node_names.get(str(r.node), {}).get("zh", str(r.node)),
             "node_en": node_names.get(str(r.node), {}).get("en", str(r.node)),
             "message_zh": str(getattr(r, "message_zh", "") or ""), "message_en": str(getattr(r, "message_en", "") or "")}
            for r in a.itertuples(index=False)]


def _count_levels(alerts: list[dict]) -> dict[str, int]:
    return {lv: sum(a["level"] == lv for a in alerts) for lv in ("red", "amber", "info")}


def _dim(facts, node):
    return next(d for d in facts["dimensions"] if d["node"] == node)


def render_street_summary(facts: Mapping[str, Any], lang: str = "zh") -> str:
    """The opening paragraph of a 街镇 profile, from :func:`street_facts`.

    Examples
    --------
    >>> f = {"name_zh": "陆家嘴街道", "name_en": "Lujiazui", "period": "2025", "score": 71.23, "rank": 3,
    ...      "n_ranked": 36, "peer_rank": 2, "n_peer": 12, "rank_low": 2, "rank_high": 5, "prev_period": "2024",
    ...      "change_prev": 1.26, "rank_change": 1, "base_period": None, "change_base": None, "dimensions": [],
    ...      "strongest": None, "weakest": None, "trends": [], "alerts": []}
    >>> render_street_summary(f, "zh").split("，")[1]
    '在全区36个街镇中排第3位（不确定性区间第2–5位）'
    >>> render_street_summary(f, "en")[:60]
    'In 2025 Lujiazui scored 71.2 on the Social Governance Index,'
    """
    zh = lang == "zh"
    f = facts
    parts = []
    if f["score"] is None:
        return (f"{f['name_zh']}{f['period']}年没有社会治理指数得分。" if zh
                else f"{f['name_en']} has no Social Governance Index score for {f['period']}.")
    interval = (f"（不确定性区间第{f['rank_low']}–{f['rank_high']}位）" if zh else
                f" (uncertainty interval {f['rank_low']}–{f['rank_high']})") if f.get("rank_low") is not None else ""
    peer = ""
    if f.get("peer_rank") is not None and f.get("n_peer"):
        peer = (f"，在{f['n_peer']}个同类街镇中排第{f['peer_rank']}位" if zh
                else f", {f['peer_rank']} of {f['n_peer']} in its peer group")
    if zh:
        parts.append(f"{f['name_zh']}{f['period']}年社会治理指数得分{fmt(f['score'])}，在全区{f['n_ranked']}个街镇中排第"
                     f"{f['rank']}位{interval}{peer}。")
    else:
        parts.append(f"In {f['period']} {f['name_en']} scored {fmt(f['score'])} on the Social Governance Index, "
                     f"ranking {f['rank']} of the {f['n_ranked']} subdistricts and towns{interval}{peer}.")
    if f.get("change_prev") is not None:
        ch, rc = f["change_prev"], f["rank_change"]
        if zh:
            move = "上升" if ch > 0 else "下降" if ch < 0 else "持平"
            rank_txt = ("排名持平" if not rc else f"排名{'上升' if rc > 0 else '下降'}{abs(rc)}位") if rc is not None else ""
            parts.append(f"与{f['prev_period']}年相比得分{move}{fmt(abs(ch)) if ch else ''}" + ("分" if ch else "")
                         + (f"，{rank_txt}" if rank_txt else "") + "。")
        else:
            move = "up" if ch > 0 else "down" if ch < 0 else "unchanged"
            rank_txt = ("" if rc is None else "the same rank" if not rc
                        else f"{abs(rc)} place{'s' if abs(rc) != 1 else ''} {'higher' if rc > 0 else 'lower'}")
            parts.append(f"Against {f['prev_period']} the score is {move}"
                         + (f" {fmt(abs(ch))} points" if ch else "") + (f", {rank_txt}" if rank_txt else "") + ".")
    drivers = f.get("drivers") or []
    if drivers and f.get("change_prev"):
        if zh:
            parts.append("变化贡献最大的指标是" + "和".join(f"{d['name_zh']}（{_signed(d['contribution'])}分）"
                                                  for d in drivers) + "。")
        else:
            parts.append("The largest contributions to the change came from " + " and ".join(
                f"{d['name_en']} ({_signed(d['contribution'])} points)" for d in drivers) + ".")
    if f.get("change_base") is not None:
        cb = f["change_base"]
        parts.append(f"较基期{f['base_period']}年{'提高' if cb > 0 else '降低'}{fmt(abs(cb))}分。" if zh else
                     f"Since the base year {f['base_period']} it has {'gained' if cb > 0 else 'lost'} "
                     f"{fmt(abs(cb))} points.")
    if f.get("strongest") and f.get("weakest") and f["strongest"] != f["weakest"]:
        s, w = _dim(f, f["strongest"]), _dim(f, f["weakest"])
        if zh:
            parts.append(f"相对全区中位数，最强的维度是{s['name_zh']}（{_signed(s['gap'])}分），最弱的是{w['name_zh']}"
                         f"（{_signed(w['gap'])}分）。")
        else:
            parts.append(f"Against the district median its strongest dimension is {s['name_en']} "
                         f"({_signed(s['gap'])} points) and its weakest {w['name_en']} ({_signed(w['gap'])} points).")
    ups = [t for t in f.get("trends", []) if t["direction"] == "up"]
    downs = [t for t in f.get("trends", []) if t["direction"] == "down"]
    if ups or downs:
        if zh:
            bits = []
            if ups:
                bits.append("、".join(t["name_zh"] for t in ups) + "呈显著上升趋势")
            if downs:
                bits.append("、".join(t["name_zh"] for t in downs) + "呈显著下降趋势")
            parts.append("；".join(bits) + "。")
        else:
            bits = []
            if ups:
                bits.append("significant upward trend: " + ", ".join(t["name_en"] for t in ups))
            if downs:
                bits.append("significant downward trend: " + ", ".join(t["name_en"] for t in downs))
            sentence = "; ".join(bits)
            parts.append(sentence[0].upper() + sentence[1:] + ".")
    else:
        parts.append("各维度均无显著趋势。" if zh else "No dimension shows a significant trend.")
    parts.append(_alert_sentence(f.get("alerts", []), lang, per_unit=True))
    return "".join(parts) if zh else " ".join(parts)


def _signed(x: float) -> str:
    text = fmt(x)
    return text if text.startswith("-") or text in ("0.0", "–") else "+" + text


def _alert_sentence(alerts: list[dict], lang: str, per_unit: bool) -> str:
    zh = lang == "zh"
    if not alerts:
        return "本期无预警。" if zh else "There are no alerts this period."
    counts = _count_levels(alerts)
    names = LEVEL_NAMES[lang]
    detail = ("、" if zh else ", ").join(
        (f"{names[lv]}{n}条" if zh else f"{n} {names[lv]}") for lv, n in counts.items() if n)
    if zh:
        head = f"本期共有{len(alerts)}条预警（{detail}）"
        if per_unit:
            nodes = list(dict.fromkeys(a["node_zh"] for a in alerts))
            head += "，涉及" + "、".join(nodes[:3]) + (f"等{len(nodes)}项" if len(nodes) > 3 else "")
        return head + "。"
    head = f"There {'is' if len(alerts) == 1 else 'are'} {len(alerts)} alert{'s' if len(alerts) != 1 else ''} " \
           f"this period ({detail})"
    if per_unit:
        nodes = list(dict.fromkeys(a["node_en"] for a in alerts))
        head += ", on " + ", ".join(nodes[:3]) + (f" and {len(nodes) - 3} more" if len(nodes) > 3 else "")
    return head + "."


def street_headline_table(facts: Mapping[str, Any], lang: str = "zh") -> pd.DataFrame:
    """The table printed under the summary paragraph: every number the paragraph uses, formatted the same way.

    Examples
    --------
    >>> f = {"period": "2025", "score": 71.23, "rank": 3, "n_ranked": 36, "peer_rank": 2, "n_peer": 12,
    ...      "rank_low": 2, "rank_high": 5, "prev_period": "2024", "score_prev": 69.97, "change_prev": 1.26,
    ...      "rank_prev": 4, "rank_change": 1, "base_period": None, "score_base": None, "change_base": None,
    ...      "dimensions": [], "strongest": None, "weakest": None, "alerts": []}
    >>> street_headline_table(f, "en").iloc[0].tolist()
    ['Score (0-100)', '2025', '71.2']
    """
    zh = lang == "zh"
    f = facts
    rows = [
        ("得分（0-100）" if zh else "Score (0-100)", f["period"], fmt(f["score"])),
        ("全区排名" if zh else "Rank in district", f["period"], f"{f['rank']} / {f['n_ranked']}"),
    ]
    if f.get("rank_low") is not None:
        rows.append(("排名不确定性区间（5%–95%）" if zh else "Rank interval (5-95%)", f["period"],
                     f"{f['rank_low']}–{f['rank_high']}"))
    if f.get("peer_rank") is not None and f.get("n_peer"):
        rows.append(("同类街镇排名" if zh else "Rank in peer group", f["period"], f"{f['peer_rank']} / {f['n_peer']}"))
    if f.get("prev_period"):
        rows += [("上期得分" if zh else "Previous score", f["prev_period"], fmt(f.get("score_prev"))),
                 ("得分变化" if zh else "Score change", f"{f['prev_period']}→{f['period']}", _signed(f["change_prev"])
                  if f.get("change_prev") is not None else "–"),
                 ("上期排名" if zh else "Previous rank", f["prev_period"], fmt(f.get("rank_prev"), 0)),
                 ("排名变化（正数为上升）" if zh else "Rank change (+ = up)", f"{f['prev_period']}→{f['period']}",
                  fmt(f.get("rank_change"), 0) if not f.get("rank_change") or f["rank_change"] < 0
                  else "+" + fmt(f["rank_change"], 0))]
    if f.get("base_period"):
        rows += [("基期得分" if zh else "Base-year score", f["base_period"], fmt(f.get("score_base"))),
                 ("较基期变化" if zh else "Change since base year", f"{f['base_period']}→{f['period']}",
                  _signed(f["change_base"]) if f.get("change_base") is not None else "–")]
    for i, d in enumerate(f.get("drivers") or [], 1):
        rows.append((f"得分变化的第{i}大贡献（分）" if zh else f"Contribution to the change, #{i} (points)",
                     d["name_zh"] if zh else d["name_en"], _signed(d["contribution"])))
    for key, label_zh, label_en in (("strongest", "最强维度（与全区中位数之差）", "Strongest dimension (gap to median)"),
                                    ("weakest", "最弱维度（与全区中位数之差）", "Weakest dimension (gap to median)")):
        if f.get(key):
            d = _dim(f, f[key])
            rows.append((label_zh if zh else label_en, d["name_zh"] if zh else d["name_en"], _signed(d["gap"])))
    counts = _count_levels(f.get("alerts", []))
    rows.append(("预警（红/黄/提示）" if zh else "Alerts (red/amber/info)", f["period"],
                 f"{len(f.get('alerts', []))} ({counts['red']}/{counts['amber']}/{counts['info']})"))
    n_nodes = len({a["node"] for a in f.get("alerts", [])})
    if n_nodes > 3:
        rows.append(("预警涉及的指标项数" if zh else "Nodes with alerts", f["period"], str(n_nodes)))
        if not zh:
            rows.append(("Nodes with alerts not named", f["period"], str(n_nodes - 3)))
    cols = ["指标", "期间/对象", "数值"] if zh else ["Measure", "Period / item", "Value"]
    return pd.DataFrame(rows, columns=cols)


def district_facts(tables: Mapping[str, pd.DataFrame], period: str, n_movers: int = 3) -> dict[str, Any]:
    """The headline numbers of the district report for one period.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from govlib.data.sample_store import build_fake_store
    >>> from govlib.data.processed import load_processed
    >>> from govlib.settings import load_settings
    >>> s = load_settings(root=build_fake_store(pathlib.Path(tempfile.mkdtemp())))
    >>> t = {n: load_processed(n, s) for n in ["units", "framework", "index_scores", "alerts"]}
    >>> f = district_facts(t, "2025")
    >>> f["n_ranked"], len(f["top"])
    (36, 3)
    """
    units = tables["units"]
    scores = tables["index_scores"]
    framework = tables["framework"]
    root = index_root_node(scores, framework)
    ranked = ranked_units(units)
    names = _names(ranked)
    node_names = _names(framework)
    in_data = set(scores["unit"]) & set(ranked["code"])
    prev = _previous(sorted(scores["period"].astype(str).unique()), period)
    top = scores[(scores["node"] == root) & scores["unit"].isin(in_data)]
    now = top[top["period"].astype(str) == period].sort_values(["rank", "unit"])
    before = top[top["period"].astype(str) == prev].set_index("unit") if prev else None

    def entry(row, **extra):
        return {"unit": str(row["unit"]), "name_zh": names[str(row["unit"])]["zh"],
                "name_en": names[str(row["unit"])]["en"], "score": _num(row["score"]), "rank": _int(row["rank"]),
                **extra}

    facts: dict[str, Any] = {"kind": "district", "period": period, "prev_period": prev, "root": root,
                             "n_ranked": int(now["unit"].nunique()),
                             "median": _num(now["score"].median()), "mean": _num(now["score"].mean())}
    facts["top"] = [entry(r) for _, r in now.head(n_movers).iterrows()]
    facts["bottom"] = [entry(r) for _, r in now.tail(n_movers).iloc[::-1].iterrows()]
    facts["median_prev"] = _num(before["score"].median()) if before is not None and len(before) else None
    facts["median_change"] = (None if facts["median"] is None or facts["median_prev"] is None
                              else facts["median"] - facts["median_prev"])
    facts["risers"] = facts["fallers"] = []
    if before is not None and len(before):
        moved = now.assign(rank_prev=now["unit"].map(before["rank"]))
        moved = moved.dropna(subset=["rank_prev"])
        moved = moved.assign(rank_change=moved["rank_prev"].astype(int) - moved["rank"].astype(int))
        up = moved[moved["rank_change"] > 0].sort_values(["rank_change", "rank"], ascending=[False, True])
        down = moved[moved["rank_change"] < 0].sort_values(["rank_change", "rank"], ascending=[True, True])
        facts["risers"] = [entry(r, rank_change=int(r["rank_change"])) for _, r in up.head(n_movers).iterrows()]
        facts["fallers"] = [entry(r, rank_change=int(r["rank_change"])) for _, r in down.head(n_movers).iterrows()]
    groups = []
    peer = now.assign(peer_group=now["unit"].map(ranked.set_index("code")["peer_group"]))
    for g, part in peer.groupby("peer_group", sort=True):
        if g:
            groups.append({"peer_group": str(g), "n": int(len(part)), "median": _num(part["score"].median())})
    facts["peer_groups"] = groups
    facts["alerts"] = _alerts(tables.get("alerts"), period, None, node_names)
    facts["alert_counts"] = _count_levels(facts["alerts"])
    return facts


def render_district_summary(facts: Mapping[str, Any], lang: str = "zh") -> str:
    """The opening paragraph of the district report, from :func:`district_facts`.

    Examples
    --------
    >>> f = {"period": "2025", "n_ranked": 36, "median": 64.04, "prev_period": None, "median_change": None,
    ...      "top": [{"name_zh": "甲", "name_en": "A", "score": 80.0}], "bottom": [{"name_zh": "乙",
    ...      "name_en": "B", "score": 50.0}], "risers": [], "fallers": [], "peer_groups": [], "alerts": []}
    >>> render_district_summary(f, "zh")
    '2025年全区36个街镇社会治理指数的中位数为64.0，最高为甲（80.0），最低为乙（50.0）。本期无预警。'
    """
    zh = lang == "zh"
    f = facts
    top, bottom = f["top"][0], f["bottom"][0]
    parts = []
    if zh:
        parts.append(f"{f['period']}年全区{f['n_ranked']}个街镇社会治理指数的中位数为{fmt(f['median'])}，最高为"
                     f"{top['name_zh']}（{fmt(top['score'])}），最低为{bottom['name_zh']}（{fmt(bottom['score'])}）。")
    else:
        parts.append(f"In {f['period']} the median Social Governance Index of the {f['n_ranked']} subdistricts "
                     f"and towns is "
                     f"{fmt(f['median'])}; the highest is {top['name_en']} ({fmt(top['score'])}) and the lowest "
                     f"{bottom['name_en']} ({fmt(bottom['score'])}).")
    if f.get("median_change") is not None:
        ch = f["median_change"]
        parts.append(f"与{f['prev_period']}年相比，中位数{'上升' if ch > 0 else '下降'}{fmt(abs(ch))}。" if zh else
                     f"Against {f['prev_period']} the median is {'up' if ch > 0 else 'down'} {fmt(abs(ch))}.")
    if f.get("risers"):
        r = f["risers"][0]
        text = (f"排名上升最多的是{r['name_zh']}（上升{r['rank_change']}位）" if zh else
                f"The biggest riser is {r['name_en']} (up {r['rank_change']} places)")
        if f.get("fallers"):
            d = f["fallers"][0]
            text += (f"，下降最多的是{d['name_zh']}（下降{-d['rank_change']}位）" if zh else
                     f", the biggest faller {d['name_en']} (down {-d['rank_change']} places)")
        parts.append(text + ("。" if zh else "."))
    if f.get("peer_groups"):
        names = PEER_GROUP_NAMES[lang]
        if zh:
            parts.append("分类看，" + "，".join(f"{names.get(g['peer_group'], g['peer_group'])}（{g['n']}个）中位数"
                                             f"{fmt(g['median'])}" for g in f["peer_groups"]) + "。")
        else:
            parts.append("By peer group the medians are " + ", ".join(
                f"{fmt(g['median'])} ({names.get(g['peer_group'], g['peer_group'])}, {g['n']})"
                for g in f["peer_groups"]) + ".")
    parts.append(_alert_sentence(f.get("alerts", []), lang, per_unit=False))
    return "".join(parts) if zh else " ".join(parts)


def district_headline_table(facts: Mapping[str, Any], lang: str = "zh") -> pd.DataFrame:
    """The table under the district summary: every number the paragraph uses.

    Examples
    --------
    >>> f = {"period": "2025", "n_ranked": 36, "median": 64.04, "mean": 64.2, "prev_period": None,
    ...      "median_prev": None, "median_change": None, "top": [], "bottom": [], "risers": [], "fallers": [],
    ...      "peer_groups": [], "alerts": []}
    >>> district_headline_table(f, "en").iloc[0].tolist()
    ['Ranked subdistricts and towns', '2025', '36']
    """
    zh = lang == "zh"
    f = facts
    rows = [("参与排名的街镇数" if zh else "Ranked subdistricts and towns", f["period"], str(f["n_ranked"])),
            ("得分中位数" if zh else "Median score", f["period"], fmt(f["median"]))]
    if f.get("median_change") is not None:
        rows += [("上期中位数" if zh else "Previous median", f["prev_period"], fmt(f["median_prev"])),
                 ("中位数变化" if zh else "Change of the median", f"{f['prev_period']}→{f['period']}",
                  _signed(f["median_change"]))]
    for e in f.get("top", [])[:1]:
        rows.append(("最高" if zh else "Highest", e["name_zh"] if zh else e["name_en"], fmt(e["score"])))
    for e in f.get("bottom", [])[:1]:
        rows.append(("最低" if zh else "Lowest", e["name_zh"] if zh else e["name_en"], fmt(e["score"])))
    for e in f.get("risers", [])[:1]:
        rows.append(("排名上升最多（位）" if zh else "Biggest riser (places)", e["name_zh"] if zh else e["name_en"],
                     str(e["rank_change"])))
    for e in f.get("fallers", [])[:1]:
        rows.append(("排名下降最多（位）" if zh else "Biggest faller (places)", e["name_zh"] if zh else e["name_en"],
                     str(-e["rank_change"])))
    names = PEER_GROUP_NAMES[lang]
    for g in f.get("peer_groups", []):
        label = names.get(g["peer_group"], g["peer_group"])
        rows.append((f"{label}中位数（{g['n']}个）" if zh else f"Median, {label} ({g['n']})", f["period"],
                     fmt(g["median"])))
    counts = _count_levels(f.get("alerts", []))
    rows.append(("预警（红/黄/提示）" if zh else "Alerts (red/amber/info)", f["period"],
                 f"{len(f.get('alerts', []))} ({counts['red']}/{counts['amber']}/{counts['info']})"))
    cols = ["指标", "期间/对象", "数值"] if zh else ["Measure", "Period / item", "Value"]
    return pd.DataFrame(rows, columns=cols)


def numbers_in(text: str) -> list[str]:
    """Every number written in a text (integers and decimals, sign dropped), for consistency checks.

    Examples
    --------
    >>> numbers_in("得分71.2，排第3位（2–5位），上升+1.3分")
    ['71.2', '3', '2', '5', '1.3']
    """
    import re

    return re.findall(r"\d+(?:\.\d+)?", text)


def _names_in(facts: Mapping[str, Any]) -> list[str]:
    """Every name a summary may quote (units, dimensions, nodes of trends and alerts): digits in names such as
    "12345工单按时办结率" are part of the name, not numbers of the report."""
    names = [facts.get("name_zh"), facts.get("name_en")]
    for key in ("dimensions", "trends", "top", "bottom", "risers", "fallers", "drivers"):
        for d in facts.get(key) or []:
            names += [d.get("name_zh"), d.get("name_en")]
    for a in facts.get("alerts") or []:
        names += [a.get("node_zh"), a.get("node_en")]
    return sorted({str(n) for n in names if n}, key=len, reverse=True)


def unmatched_numbers(summary: str, table: pd.DataFrame, facts: Mapping[str, Any]) -> list[str]:
    """Numbers written in ``summary`` that do not appear in ``table`` (empty: consistent).

    Names are removed first, on both sides, so digits inside a name are not taken for numbers.

    Examples
    --------
    >>> t = pd.DataFrame({"v": ["71.2", "3 / 36"]})
    >>> unmatched_numbers("得分71.2，第3位，12345热线", t, {"alerts": [{"node_zh": "12345热线"}]})
    []
    >>> unmatched_numbers("得分71.3", t, {})
    ['71.3']
    """
    names = _names_in(facts)

    def strip(text: str) -> str:
        for n in names:
            text = text.replace(n, " ")
        return text

    shown = set(numbers_in(strip(" ".join(table.astype(str).to_numpy().ravel()))))
    return [n for n in numbers_in(strip(summary)) if n not in shown]
