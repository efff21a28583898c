"""A small sample processed store built from the table contracts (docs/architecture.md, DESIGN.md §2).

Report tests, doctests and benchmarks use it so they do not depend on the engines' timing: 36 街镇 with 3 communities each, a framework
with six dimensions of two indicators, annual scores 2018-2025 with ranks, rank intervals, progress, quarterly
survey estimates, trends, alerts, hotline and doorstep summaries, and a manifest that says the data are synthetic.
Everything is deterministic (seeded).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .store import write_json, write_table
from .units import jiezhen_table

__all__ = ["build_fake_store"]

PERIODS = [str(y) for y in range(2018, 2026)]
DIMENSIONS = {
    "D1": ("党建引领", "Party building"),
    "D2": ("民生保障", "Livelihood and public services"),
    "D3": ("平安法治", "Safety and rule of law"),
    "D4": ("城运管理", "City operations"),
    "D5": ("自治共治与家门口服务", "Self-governance and doorstep services"),
    "D6": ("居民满意度", "Resident satisfaction"),
}


def _rank(values: pd.Series) -> pd.Series:
    return values.rank(ascending=False, method="min").astype("Int64")


def build_fake_store(root: Path, seed: int = 7, synthetic: bool = True) -> Path:
    """Write ``root/govlib.yaml`` and ``root/data/processed/*`` and return ``root``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from govlib.data.processed import load_processed
    >>> from govlib.settings import load_settings
    >>> root = build_fake_store(pathlib.Path(tempfile.mkdtemp()))
    >>> scores = load_processed("index_scores", load_settings(root=root))
    >>> sorted(scores["period"].unique())[-1], scores["unit"].str.len().unique().tolist()
    ('2025', [12])
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    processed = root / "data" / "processed"
    processed.mkdir(parents=True, exist_ok=True)
    (root / "govlib.yaml").write_text("project:\n  name_zh: 浦东新区社会治理指数\n", encoding="utf-8")

    jz = jiezhen_table()
    communities = []
    for code, kind in zip(jz["code"], jz["kind"]):
        for i in range(1, 4):
            communities.append({"code": code[:9] + f"{i:03d}", "name_zh": f"测试{i}居委", "name_en": f"Test {i}",
                                "level": "community", "parent": code, "kind": "居委", "peer_group": ""})
    district = pd.DataFrame([{"code": "310115000000", "name_zh": "浦东新区", "name_en": "Pudong New Area",
                              "level": "district", "parent": "", "kind": "区", "peer_group": ""}])
    units = pd.concat([district, jz, pd.DataFrame(communities)], ignore_index=True)

    nodes = [{"code": "SGI", "parent": "", "name_zh": "社会治理指数", "name_en": "Social Governance Index",
              "unit": "", "direction": 1, "type": "", "weight": 1.0}]
    indicators = []
    for dim, (zh, en) in DIMENSIONS.items():
        nodes.append({"code": dim, "parent": "SGI", "name_zh": zh, "name_en": en, "unit": "", "direction": 1,
                      "type": "", "weight": 1.0})
        for k in (1, 2):
            code = f"{dim}.{k}"
            indicators.append(code)
            nodes.append({"code": code, "parent": dim, "name_zh": f"{zh}指标{k}", "name_en": f"{en} indicator {k}",
                          "unit": "%", "direction": 1 if k == 1 else -1,
                          "type": "subjective" if dim == "D6" else "objective", "weight": 1.0})
    framework = pd.DataFrame(nodes)

    codes = jz["code"].tolist()
    latent = rng.normal(60, 8, len(codes))
    rows = []
    for t, period in enumerate(PERIODS):
        for dim in DIMENSIONS:
            dim_scores = latent + rng.normal(0, 5, len(codes)) + 0.8 * t
            for code, s in zip(codes, dim_scores):
                rows.append((code, period, dim, float(np.clip(s, 5, 98))))
    scores = pd.DataFrame(rows, columns=["unit", "period", "node", "score"])
    root_scores = scores.groupby(["unit", "period"], as_index=False)["score"].mean().assign(node="SGI")
    scores = pd.concat([root_scores, scores], ignore_index=True)
    scores["score"] = scores["score"].round(6)
    peer = dict(zip(jz["code"], jz["peer_group"]))
    scores["peer_group"] = scores["unit"].map(peer)
    scores["rank"] = scores.groupby(["period", "node"])["score"].transform(_rank)
    scores["peer_rank"] = scores.groupby(["period", "node", "peer_group"])["score"].transform(_rank)
    scores["coverage"] = 1.0
    index_scores = scores.drop(columns="peer_group")

    progress = index_scores[["unit", "period", "node", "score"]].sort_values(["unit", "node", "period"]).copy()
    progress["change_prev"] = progress.groupby(["unit", "node"])["score"].diff()
    base = progress[progress["period"] == PERIODS[0]].set_index(["unit", "node"])["score"]
    progress["change_base"] = progress["score"] - progress.set_index(["unit", "node"]).index.map(base).to_numpy()
    progress = progress.drop(columns="score")

    root_only = index_scores[index_scores["node"] == "SGI"]
    width = rng.integers(1, 5, len(root_only))
    # As the index engine writes it: the root's Monte Carlo rank distribution, 5% and 95% quantiles.
    uncertainty = pd.DataFrame({
        "unit": root_only["unit"].to_numpy(), "period": root_only["period"].to_numpy(),
        "rank_nominal": root_only["rank"].astype(float).to_numpy(),
        "rank_median": root_only["rank"].astype(float).to_numpy(),
        "rank_p05": np.maximum(1, root_only["rank"].astype(int).to_numpy() - width).astype(float),
        "rank_p95": np.minimum(36, root_only["rank"].astype(int).to_numpy() + width).astype(float),
        "n_runs": 1000,
    })

    obs = []
    for period in PERIODS:
        for code in codes:
            for ind in indicators:
                flag = rng.choice(["", "", "", "", "", "", "imputed", "provisional", "carried"])
                obs.append((code, period, ind, float(rng.uniform(50, 100)), np.nan, flag, "admin"))
    observations = pd.DataFrame(obs, columns=["unit", "period", "indicator", "value", "se", "flag", "source"])

    survey = []
    items = [f"D6.{k}" for k in (1, 2)]
    quarters = [f"{y}Q{q}" for y in range(2023, 2026) for q in range(1, 5)]
    for period in quarters:
        for item in items:
            est = 80 + rng.normal(0, 1)
            se = 0.3
            survey.append(("district", "310115000000", period, item, est, se, est - 1.96 * se, est + 1.96 * se,
                           2000, 1500.0, 1.3, se / est, ""))
            for code in codes:
                est = 78 + rng.normal(0, 4)
                se = rng.uniform(0.8, 2.0)
                survey.append(("jiezhen", code, period, item, est, se, est - 1.96 * se, est + 1.96 * se,
                               90, 70.0, 1.3, se / est, ""))
            for c in communities:
                est = 78 + rng.normal(0, 6)
                se = rng.uniform(2, 6)
                flag = "suppress" if se > 5 else ("caution" if se > 4 else "release")
                survey.append(("community", c["code"], period, item, est, se, est - 1.96 * se, est + 1.96 * se,
                               30, 22.0, 1.4, se / est, flag))
    survey_estimates = pd.DataFrame(survey, columns=["level", "unit", "period", "item", "estimate", "se", "ci_low",
                                                     "ci_high", "n", "n_eff", "deff", "cv", "flag"])

    trend_rows = []
    for code in codes:
        for node in ["SGI", *DIMENSIONS]:
            p = float(rng.uniform(0, 0.2))
            slope = float(rng.normal(0.5, 1))
            trend_rows.append({"unit": code, "node": node, "n": 8, "s": 10, "var_s": 65.3, "z": 1.1, "p": p,
                               "q": min(1.0, p * 2), "tau_b": 0.4, "sen_slope": slope, "sen_low": slope - 0.6,
                               "sen_high": slope + 0.6, "pettitt_u": 12.0, "pettitt_p": 0.3,
                               "change_point": "2021" if p < 0.02 else None,
                               "trend": ("increasing" if slope > 0 else "decreasing") if p * 2 < 0.05 else "no trend"})
    trends = pd.DataFrame(trend_rows)

    alert_rows = []
    for i, code in enumerate(codes[::5]):
        level = ["red", "amber", "info"][i % 3]
        alert_rows.append({"unit": code, "period": PERIODS[-1], "node": "D3", "level": level,
                           "rules": "drop", "evidence": "score fell by 6.2 points",
                           "message_zh": "平安法治得分较上期下降6.2分", "message_en": "Safety score fell by 6.2 points"})
    alerts = pd.DataFrame(alert_rows)

    months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    hotline_monthly = pd.DataFrame([
        {"unit": code, "period": m, "tickets": int(rng.integers(500, 3000)),
         "on_time_rate": float(rng.uniform(85, 99)), "satisfaction_rate": float(rng.uniform(75, 95))}
        for code in codes for m in months])

    doorstep = pd.DataFrame([
        {"unit": code, "period": p, "station_coverage": 100.0, "items_available": int(rng.integers(100, 147)),
         "meetings_per_community": float(rng.uniform(2, 24))} for code in codes for p in PERIODS])

    weights_effective = pd.DataFrame({"node": framework["code"], "parent": framework["parent"],
                                      "weight": 0.5, "effective_weight": 1 / 12})
    tables = {"units": units, "framework": framework, "observations": observations, "index_scores": index_scores,
              "progress": progress, "uncertainty": uncertainty, "survey_estimates": survey_estimates,
              "trends": trends, "alerts": alerts, "hotline_monthly": hotline_monthly, "doorstep_summary": doorstep,
              "weights_effective": weights_effective}
    for name, df in tables.items():
        write_table(df, processed / f"{name}.parquet")
    manifest = {"synthetic": synthetic, "govlib_version": "0.1.0", "settings_hash": "f" * 64,
                "framework_hash": "e" * 64, "built_at": "2026-01-01T00:00:00Z",
                "inputs": {"units.csv": "a" * 64},
                "tables": {name: {"rows": len(df)} for name, df in tables.items()}}
    write_json(processed / "manifest.json", manifest)
    return root


if __name__ == "__main__":  # pragma: no cover - handy for poking at reports by hand
    import sys

    print(build_fake_store(Path(sys.argv[1])))
    print(json.dumps(sorted(p.name for p in (Path(sys.argv[1]) / "data" / "processed").iterdir())))
