"""Benchmark: the index stage on a full-size panel (36 街镇 x 41 indicators x 8 years) and the 1,000-replication
uncertainty run (target: under 30 s on the 2-core build machine).

Run: ``python benchmarks/bench_index.py``. Times the stage on the demo generator's full data set (its admin
observations) when available, then on a synthetic panel of the full shape built here (all 41 indicators, 3 %
missing). The last lines compare the vectorised Monte Carlo with the naive approach (copy, change one choice,
rebuild the whole index, per evaluation, as one does with COINr), timed on 5 rebuilds and extrapolated.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from govlib.index.composite import CompositeIndex
from govlib.pipeline.stages import index as index_stage
from govlib.settings import load_settings
from govlib.index.uncertainty import monte_carlo

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


def main() -> None:
    settings = load_settings().with_overrides(index={"uncertainty": {"replications": 1000}})
    demo = _demo_inputs()
    if demo is not None:
        obs, fw, units, population = demo
        t0 = time.perf_counter()
        out = index_stage.run({"observations": obs, "framework": fw.nodes, "units": units, "population": population},
                              settings)
        print(f"demo full ({len(obs)} admin observations): index stage incl. audit and 1,000-replication "
              f"uncertainty: {time.perf_counter() - t0:.2f} s")
    obs, fw, units = synthetic_panel()
    print(f"synthetic panel 36 x 41 x 8: {len(obs)} observations")
    t0 = time.perf_counter()
    ci = CompositeIndex(obs, fw, units=units)
    t_build = time.perf_counter() - t0
    print(f"CompositeIndex build: {t_build:.2f} s ({len(ci.scores)} score rows)")
    t0 = time.perf_counter()
    out = index_stage.run({"observations": obs, "framework": fw, "units": units}, settings)
    t_stage = time.perf_counter() - t0
    print(f"index stage (incl. audit and 1,000-replication uncertainty): {t_stage:.2f} s; {len(out)} tables")
    t0 = time.perf_counter()
    res = monte_carlo(ci, replications=1000, seed=0)
    t_mc = time.perf_counter() - t0
    print(f"uncertainty, 1,000 replications ({res.settings['evaluations']} index evaluations): {t_mc:.2f} s "
          f"(target < 30 s)")
    # Peer: rebuild the index per evaluation (COINr-style copy-change-rebuild), timed on 5 and extrapolated.
    rng = np.random.default_rng(0)
    n_loop = 5
    t0 = time.perf_counter()
    for _ in range(n_loop):
        ci.replay(normalisation=str(rng.choice(["minmax", "percentile_rank"])), aggregation="arithmetic")
    t_loop = (time.perf_counter() - t0) / n_loop * res.settings["evaluations"]
    print(f"naive rebuild per evaluation, extrapolated to {res.settings['evaluations']} evaluations: {t_loop:.1f} s")
    print(f"ratio naive rebuild / vectorised Monte Carlo: {t_loop / t_mc:.1f}x")


if __name__ == "__main__":
    main()
