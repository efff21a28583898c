"""Benchmark: weighting methods at demo size, and the Sobol' estimators against SALib.

The uncertainty engine estimates S1/ST for every unit's rank (36 units x 8 periods = 288 outputs) at once;
SALib's ``sobol.analyze`` takes one output at a time, so the peer is a loop over outputs. Both bootstrap 100 times.

Run: ``python benchmarks/bench_weights.py``. The last lines print ratios (SALib time / govlib time).
"""
from __future__ import annotations

import time

import numpy as np

from govlib.index.sensitivity import saltelli_sample, sobol_indices
from govlib.index.weights import ahp_weights, critic_weights, entropy_weights, pca_weights


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

    k, n, m = 6, 1000, 36 * 8
    design = saltelli_sample([4, 3, 2, None, 2, 42], n, seed=1)
    weights = rng.normal(size=(k, m))
    f = lambda x: np.sin(x @ weights) + 0.1 * (x @ weights) ** 2  # noqa: E731  (stand-in for the rank model)
    f_A, f_B, f_AB = f(design.A), f(design.B), f(design.AB)
    ours = timed(lambda: sobol_indices(f_A, f_B, f_AB, n_bootstrap=100, seed=0), repeat=2)
    print(f"govlib sobol_indices k={k} N={n} m={m}, 100 bootstrap: {ours:8.3f} s")

    from SALib.analyze import sobol as salib_sobol

    problem = {"num_vars": k, "names": [f"x{i}" for i in range(k)], "bounds": [[0, 1]] * k}
    # SALib's row layout: per base row, A, AB_1..AB_k, B.
    stacked = np.concatenate([f_A[:, None, :], f_AB.transpose(1, 0, 2), f_B[:, None, :]], axis=1)
    stacked = stacked.reshape(n * (k + 2), m)

    def salib_all():
        for j in range(m):
            salib_sobol.analyze(problem, stacked[:, j], calc_second_order=False, num_resamples=100, seed=0)

    theirs = timed(salib_all, repeat=1)
    print(f"SALib sobol.analyze, loop over {m} outputs, 100 bootstrap: {theirs:8.3f} s")
    check = sobol_indices(f_A, f_B, f_AB)
    ref = salib_sobol.analyze(problem, stacked[:, 0], calc_second_order=False, num_resamples=10, seed=0)
    print(f"max |S1 - SALib S1| on output 0: {np.abs(check.S1[:, 0] - ref['S1']).max():.2e}")
    print(f"ratio SALib / govlib (Sobol' indices, {m} outputs): {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
