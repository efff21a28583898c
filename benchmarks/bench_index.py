"""Benchmark: the index stage on a full-size panel (36 街镇 x 41 indicators x 8 years) and the 1,000-replication
uncertainty run (target: under 30 s on the 2-core build machine).

Run: ``python benchmarks/bench_index.py`` (``GOVLIB_BENCH_QUICK=1``: 128 replications, no demo data). Times the stage
on the demo generator's full data set (its admin observations) when available, then on a synthetic panel of the full
shape built here (all 41 indicators, 3 % missing). Then, per index evaluation, three contenders (3 runs each):

- govlib: the vectorised Monte Carlo (``monte_carlo``: N (k + 2) evaluations with a random normalisation, aggregation,
  weights and left-out indicator each);
- the peer: the naive approach (copy, change one choice, rebuild the whole index, per evaluation, as one does with
  COINr), timed on 5 rebuilds per run (it cannot run the full size in reasonable time: the size is printed);
- the floor: the arithmetic of the same evaluations in plain numpy -- normalise (min-max or z-score) the panel,
  weighted arithmetic or geometric means per dimension and of the dimensions, ranks per period -- for as many
  evaluations as govlib's run, vectorised over them (no treatment, no imputation, no audit trail).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _compare import Timing, measure, quick, report  # noqa: E402
from govlib.index.composite import CompositeIndex  # noqa: E402
from govlib.pipeline.stages import index as index_stage  # noqa: E402
from govlib.settings import load_settings  # noqa: E402
from govlib.index.uncertainty import monte_carlo  # noqa: E402

# (dimension, number of indicators, directions pattern, scopes): the DOMAIN.md §4 shape, 41 leaves.
SHAPE = [("D1", ["+"] * 4), ("D2", ["+", "+", "+", "ctx", "+", "+", "+", "+", "+"]),
         ("D3", ["-", "+", "-", "-", "+"]), ("D4", ["ctx", "+", "+", "+", "+", "+j", "+t"]),
         ("D5", ["+"] * 7 + ["+t"]), ("D6", ["+"] * 8)]


def synthetic_panel(n_units: int = 36, n_years: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    nodes = [{"code": "SGI", "parent": None, "weight": 1.0}]
    for dim, leaves in SHAPE:
        nodes.append({"code": dim, "parent": "SGI", "weight": 1.0})
        for i, spec in enumerate(leaves, 1):
            nodes.append({"code": f"{dim}.{i}", "parent": dim, "weight": 1.0,
                          "direction": {"+": 1, "-": -1, "c": 0}[spec[0]],
                          "scope": {"j": "街道", "t": "镇"}.get(spec[-1], "all")})
    fw = pd.DataFrame(nodes)
    units = pd.DataFrame({"code": [f"3101150{i:02d}000" for i in range(n_units)],
                          "level": "subdistrict", "kind": ["街道"] * 12 + ["镇"] * (n_units - 12)})
    units["peer_group"] = units["kind"]
    leaves = fw.loc[~fw["code"].isin(fw["parent"].dropna()), :]
    years = [str(2018 + t) for t in range(n_years)]
    rows = []
    level = rng.normal(50, 10, (n_units, len(leaves)))
    for t, y in enumerate(years):
        vals = level + 0.8 * t + rng.normal(0, 3, level.shape)
        for j, (code, scope) in enumerate(zip(leaves["code"], leaves["scope"])):
            ok = (scope == "all") | (units["kind"].to_numpy() == scope)
            rows.append(pd.DataFrame({"unit": units["code"][ok], "period": y, "indicator": code,
                                      "value": vals[ok, j]}))
    obs = pd.concat(rows, ignore_index=True)
    obs = obs.sample(frac=0.97, random_state=seed).reset_index(drop=True)  # 3 % missing
    return obs, fw, units


def _demo_inputs():
    """The demo generator's full data set (admin observations only: the survey/hotline/doorstep indicators are
    derived by other stages), or None when the generator is not available."""
    try:
        from govlib.data.demo import generate_demo_data
        from govlib.data.framework import framework_from_records

        demo = generate_demo_data("full")
        doc = demo["framework"]
        fw = framework_from_records(doc["nodes"], {k: v for k, v in doc.items() if k != "nodes"})
        return demo["observations"], fw, demo["units"], demo["population"]
    except Exception as exc:  # noqa: BLE001 - report and carry on with the synthetic panel
        print(f"(demo data not available: {type(exc).__name__}: {exc})")
        return None


def numpy_floor(obs: pd.DataFrame, fw: pd.DataFrame, evaluations: int, seed: int = 0, chunk: int = 64):
    """Ranks of ``evaluations`` index variants in plain numpy (see the module docstring); returns the ranks."""
    rng = np.random.default_rng(seed)
    leaves = fw.loc[~fw["code"].isin(fw["parent"].dropna()), ["code", "parent"]]
    panel = obs.pivot_table(index=["period", "unit"], columns="indicator", values="value")[leaves["code"]]
    periods = panel.index.get_level_values(0).to_numpy()
    x = panel.to_numpy() * np.where(fw.set_index("code").loc[leaves["code"], "direction"].to_numpy() < 0, -1, 1)
    dims = pd.factorize(leaves["parent"])[0]
    onehot = np.eye(dims.max() + 1)[dims]  # (indicators, dimensions)
    lo, hi = np.nanmin(x, 0), np.nanmax(x, 0)
    mm = (x - lo) / (hi - lo) * 99 + 1
    z = (x - np.nanmean(x, 0)) / np.nanstd(x, 0, ddof=1)
    z = (z - np.nanmin(z, 0)) / (np.nanmax(z, 0) - np.nanmin(z, 0)) * 99 + 1  # positive for the geometric mean
    out = []
    for start in range(0, evaluations, chunk):
        r = min(chunk, evaluations - start)
        norm = np.where((rng.random(r) < 0.5)[:, None, None], mm, z)  # (r, rows, indicators)
        w = rng.uniform(0.75, 1.25, (r, 1, len(dims)))
        w[np.arange(r), 0, rng.integers(0, len(dims), r)] = 0  # leave one indicator out
        w = np.where(np.isnan(norm), 0, w)
        geo = (rng.random(r) < 0.5)[:, None, None]
        vals = np.where(geo, np.log(np.nan_to_num(norm, nan=1.0)), np.nan_to_num(norm))
        dim = ((vals * w) @ onehot) / (w @ onehot)
        dim = np.where(geo, np.exp(dim), dim)
        score = np.where(geo[..., 0], np.exp(np.log(dim).mean(-1)), dim.mean(-1))  # (r, rows)
        ranks = np.empty_like(score)
        for p in np.unique(periods):
            cols = periods == p
            ranks[:, cols] = (-score[:, cols]).argsort(1).argsort(1) + 1
        out.append(ranks)
    return np.concatenate(out)


def main() -> None:
    replications = 128 if quick() else 1000
    settings = load_settings().with_overrides(index={"uncertainty": {"replications": replications}})
    demo = None if quick() else _demo_inputs()
    if demo is not None:
        obs, fw, units, population = demo
        t0 = time.perf_counter()
        out = index_stage.run({"observations": obs, "framework": fw.nodes, "units": units, "population": population},
                              settings)
        print(f"demo full ({len(obs)} admin observations): index stage incl. audit and {replications:,}-replication "
              f"uncertainty: {time.perf_counter() - t0:.2f} s")
    obs, fw, units = synthetic_panel()
    print(f"synthetic panel 36 x 41 x 8: {len(obs)} observations")
    t0 = time.perf_counter()
    ci = CompositeIndex(obs, fw, units=units)
    print(f"CompositeIndex build: {time.perf_counter() - t0:.2f} s ({len(ci.scores)} score rows)")
    t0 = time.perf_counter()
    out = index_stage.run({"observations": obs, "framework": fw, "units": units}, settings)
    print(f"index stage (incl. audit and {replications:,}-replication uncertainty): {time.perf_counter() - t0:.2f} s; "
          f"{len(out)} tables")
    ours = measure(f"govlib monte_carlo, {replications:,} replications",
                   lambda: monte_carlo(ci, replications=replications, seed=0))
    evaluations = ours.result.settings["evaluations"]
    rng = np.random.default_rng(0)
    n_loop = 5

    def rebuild():
        for _ in range(n_loop):
            ci.replay(normalisation=str(rng.choice(["minmax", "percentile_rank"])), aggregation="arithmetic")

    peer = measure(f"naive rebuild per evaluation ({n_loop} rebuilds)", rebuild)
    floor = measure(f"numpy floor, {evaluations:,} evaluations", lambda: numpy_floor(obs, fw, evaluations))
    per_eval = [Timing(t.label + " / evaluation", [x / n for x in t.seconds])
                for t, n in ((ours, evaluations), (peer, n_loop), (floor, evaluations))]
    report(*per_eval, f"per index evaluation (govlib and the floor: {evaluations:,} evaluations, the peer: {n_loop})")


if __name__ == "__main__":
    main()
