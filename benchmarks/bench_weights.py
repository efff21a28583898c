"""Benchmark: weighting methods at demo size, and the Sobol' estimators against SALib.

The uncertainty engine estimates S1/ST for every unit's rank (36 units x 8 periods = 288 outputs) at once;
SALib's ``sobol.analyze`` takes one output at a time, so the peer is a loop over outputs. The floor is the same
estimators (Saltelli 2010 S1, Jansen ST, centred outputs) and percentile bootstrap written in plain numpy: one
resample of the rows at a time. All three bootstrap 100 times, on the same outputs, the same number of runs.

Run: ``python benchmarks/bench_weights.py`` (``GOVLIB_BENCH_QUICK=1``: 36 outputs instead of 288). The last lines
print govlib / peer and govlib / floor (min and median of 3 runs).
"""
from __future__ import annotations

import time

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _compare import measure, quick, report  # noqa: E402
from govlib.index.sensitivity import saltelli_sample, sobol_indices  # noqa: E402
from govlib.index.weights import ahp_weights, critic_weights, entropy_weights, pca_weights  # noqa: E402


def timed(func, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    data = rng.random((36 * 8, 41)) * 100 + 1  # 36 units x 8 periods, 41 indicators
    w = rng.random(15) + 0.1
    for name, func in [
        ("entropy raw 288x41", lambda: entropy_weights(data)),
        ("entropy minmax 288x41", lambda: entropy_weights(data, form="minmax")),
        ("CRITIC 288x41", lambda: critic_weights(data)),
        ("PCA 288x41", lambda: pca_weights(data)),
        ("AHP 15x15", lambda: ahp_weights(w[:, None] / w[None, :], ri_table="chinese_textbook")),
    ]:
        print(f"{name:28s} {timed(func) * 1e3:8.2f} ms")

    k, n, m = 6, 1000, 36 if quick() else 36 * 8
    design = saltelli_sample([4, 3, 2, None, 2, 42], n, seed=1)
    weights = rng.normal(size=(k, m))
    f = lambda x: np.sin(x @ weights) + 0.1 * (x @ weights) ** 2  # noqa: E731  (stand-in for the rank model)
    f_A, f_B, f_AB = f(design.A), f(design.B), f(design.AB)
    print(f"Sobol' indices, k={k} factors, N={n}, m={m} outputs, 100 bootstrap resamples:")
    ours = measure("govlib sobol_indices", lambda: sobol_indices(f_A, f_B, f_AB, n_bootstrap=100, seed=0))

    from SALib.analyze import sobol as salib_sobol

    problem = {"num_vars": k, "names": [f"x{i}" for i in range(k)], "bounds": [[0, 1]] * k}
    # SALib's row layout: per base row, A, AB_1..AB_k, B.
    stacked = np.concatenate([f_A[:, None, :], f_AB.transpose(1, 0, 2), f_B[:, None, :]], axis=1)
    stacked = stacked.reshape(n * (k + 2), m)

    def salib_all():
        return [salib_sobol.analyze(problem, stacked[:, j], calc_second_order=False, num_resamples=100, seed=0)
                for j in range(m)]

    peer = measure(f"SALib sobol.analyze, a loop over {m} outputs", salib_all)
    floor = measure("numpy floor (same estimators, one resample at a time)", lambda: numpy_sobol(f_A, f_B, f_AB))
    got, ref, low = ours.result, peer.result, floor.result
    print(f"  max |S1 govlib - SALib| {max(np.abs(got.S1[:, j] - ref[j]['S1']).max() for j in range(m)):.1e}, "
          f"|ST govlib - SALib| {max(np.abs(got.ST[:, j] - ref[j]['ST']).max() for j in range(m)):.1e}, "
          f"|S1 govlib - floor| {np.abs(got.S1 - low[0]).max():.1e}")
    report(ours, peer, floor, f"k={k}, N={n}, m={m} outputs, 100 bootstrap resamples")


def numpy_sobol(f_A, f_B, f_AB, n_bootstrap=100, seed=0, confidence=0.95):
    """S1 (Saltelli 2010) and ST (Jansen) with percentile-bootstrap half-widths, as one writes them in numpy."""
    n = f_A.shape[0]
    mean = (f_A.sum(0) + f_B.sum(0) + f_AB.sum((0, 1))) / (n * (f_AB.shape[0] + 2))
    a, b, ab = f_A - mean, f_B - mean, f_AB - mean

    def estimate(rows):
        aa, bb, abab = a[rows], b[rows], ab[:, rows]
        var = np.concatenate([aa, bb]).var(axis=0)
        return (bb * (abab - aa)).mean(axis=1) / var, 0.5 * ((aa - abab) ** 2).mean(axis=1) / var

    s1, st = estimate(np.arange(n))
    rng = np.random.default_rng(seed)
    boot = [estimate(rng.integers(0, n, n)) for _ in range(n_bootstrap)]
    q = [(1 - confidence) / 2, (1 + confidence) / 2]
    s1_lo, s1_hi = np.quantile([x[0] for x in boot], q, axis=0)
    st_lo, st_hi = np.quantile([x[1] for x in boot], q, axis=0)
    return s1, st, (s1_hi - s1_lo) / 2, (st_hi - st_lo) / 2

if __name__ == "__main__":
    main()
