"""Timing like with like for the benchmarks: each contender (govlib, its peer, a plain numpy/pandas floor) runs the
same number of times on the same data in the same process, and the ratios are printed from the minimum and the
median of those runs.

``GOVLIB_BENCH_QUICK=1`` (``make bench QUICK=1``) asks every benchmark for its quick size; ``GOVLIB_BENCH_RUNS``
sets the number of runs (default 3).
"""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable


def quick() -> bool:
    """True when ``GOVLIB_BENCH_QUICK`` asks for the quick sizes (any value but empty or 0)."""
    return os.environ.get("GOVLIB_BENCH_QUICK", "") not in ("", "0")


def runs() -> int:
    return max(1, int(os.environ.get("GOVLIB_BENCH_RUNS", "3")))


@dataclass
class Timing:
    """Wall times of repeated runs of one contender; ``result`` is the last run's return value."""

    label: str
    seconds: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def __str__(self) -> str:
        return f"{self.label}: min {self.min:.3f} s, median {self.median:.3f} s of {len(self.seconds)} runs"


def measure(label: str, func: Callable[[], Any], n: int | None = None) -> Timing:
    """Run ``func`` ``n`` times (default :func:`runs`) and keep every wall time; print the summary line."""
    timing = Timing(label)
    for _ in range(n or runs()):
        t0 = time.perf_counter()
        timing.result = func()
        timing.seconds.append(time.perf_counter() - t0)
    print(f"  {timing}", flush=True)
    return timing


def ratio(ours: Timing, other: Timing | None, what: str) -> None:
    """One line: govlib / ``other`` from the minima and from the medians (n/a when ``other`` was not measured)."""
    if other is None:
        print(f"  ratio govlib / {what}: n/a (not measured in this run)")
    else:
        print(f"  ratio govlib / {what} ({other.label}): min {ours.min / other.min:.3g}, "
              f"median {ours.median / other.median:.3g}")


def report(ours: Timing, peer: Timing | None, floor: Timing | None, size: str, note: str = "") -> None:
    """The benchmark's last lines: govlib / peer and govlib / floor (min and median), with the data size."""
    print(f"ratios, {size}{'; ' + note if note else ''} (> 1: govlib is slower):")
    ratio(ours, peer, "peer")
    ratio(ours, floor, "floor")
