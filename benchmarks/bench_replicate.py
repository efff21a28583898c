"""Benchmark: replicate-weight SEs by domain -- govlib's factored replicates vs the explicit replicate-weight matrix.

Run: nice python benchmarks/bench_replicate.py [--quick]
A stratified cluster sample (36 strata, 600 PSUs, 60,000 rows; 1,300 domains; JKn: 600 replicates). The peer is
the textbook computation (as R's svrepdesign with combined weights): form the (rows x replicates) weight matrix and
take the domain totals of every replicate with one sparse matrix product. govlib sums the rows once per
(PSU, domain) and multiplies the small (groups x replicates) factor matrix. Both give the same SEs (checked).
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from scipy import sparse

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from govlib.survey.design import make_design  # noqa: E402
from govlib.survey.replicate import as_replicate_design, replicate_estimate  # noqa: E402


def synth(n, n_strata=36, n_psu=600, n_dom=1300, seed=1):
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, n_psu, n)
    return pd.DataFrame({"stratum": psu % n_strata, "psu": psu, "weight": rng.uniform(50, 500, n),
                         "domain": rng.integers(0, n_dom, n), "y": rng.normal(70, 15, n)})


def peer(rd, df):
    """Explicit (rows x R) replicate weights, domain means of every replicate by a sparse product."""
    W = rd.replicate_weights()  # rows x R
    dom = df["domain"].to_numpy()
    D = dom.max() + 1
    S = sparse.csr_matrix((np.ones(len(df)), (dom, np.arange(len(df)))), shape=(D, len(df)))
    y = df["y"].to_numpy()
    theta = (S @ (W * y[:, None])) / (S @ W)
    full = (S @ (rd.weight * y)) / (S @ rd.weight)
    centre = theta.mean(axis=1, keepdims=True)
    return full, np.sqrt(rd.scale * ((theta - centre) ** 2 * rd.rscales).sum(axis=1))


def main(quick: bool = False) -> None:
    n = 20_000 if quick else 60_000
    df = synth(n)
    rd = as_replicate_design(make_design(df, weight="weight", strata="stratum", clusters="psu"), "JKn")
    t0 = time.perf_counter()
    ours = replicate_estimate(rd, df, "y", by="domain")
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, se_peer = peer(rd, df)
    t_peer = time.perf_counter() - t0
    assert np.allclose(ours["se"].to_numpy(), se_peer, rtol=1e-9)
    mb = n * rd.n_replicates * 8 / 1e6
    print(f"{n:,} rows, {rd.n_replicates} JKn replicates, {len(ours):,} domains")
    print(f"govlib factored replicates: {t_ours:6.2f} s")
    print(f"explicit weight matrix    : {t_peer:6.2f} s  (+ a {mb:,.0f} MB rows x replicates matrix)")
    print(f"ratio peer / govlib       : {t_peer / t_ours:6.1f}x")


if __name__ == "__main__":
    main("--quick" in sys.argv)
