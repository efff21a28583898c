"""Benchmark: what the build runs -- the raked two-stage survey design -- at the build's scale, with its peers.

Run: nice python benchmarks/bench_survey_calibrated.py [--quick] [--r-waves N] [--r-strata K]

Data: the full demo's ``survey_responses`` (1.23M respondents, 32 waves, 36 街镇 strata per wave, 1,275
communities as PSUs, respondents as SSUs with both fpcs), read from ``$GOVLIB_ROOT/data/raw`` when it is there,
else generated (``--quick``: the small demo).

1. The survey stage (``govlib.pipeline.stages.survey.run``: rake per wave to 街镇 x age and 街镇 x sex, score /
   top-2 / net of 8 items at district, 街镇 and community level with calibrated SEs, Fay-Herriot per wave x
   item) against a plain numpy/pandas floor measured in the same run: the data passes any implementation of
   the same outputs needs (score the items, rake with bincounts, and one pandas group-by of w, w*y, w*y^2 per
   PSU x calibration cell x variable), without any variance algebra -- a lower bound, not the same outputs.
2. R ``survey`` on the same design (``svydesign(id=~psu+respondent_id, strata=~stratum, fpc=~fpc1+fpc2)``,
   ``rake`` to the same margins, ``svyby(~q1, ~stratum, svymean, na.rm=TRUE)``) against govlib's
   ``make_design`` + ``rake`` + ``estimate`` of the same, on the first ``--r-strata`` strata (default 4; 0: all)
   of the first ``--r-waves`` waves (default 1): R's largest feasible size (a whole wave of the full demo did not
   finish in 30 CPU minutes), printed beside the ratio; estimates and SEs compared.
Every timing: one warm-up run, then the minimum and median of three, the same for govlib, its peer and the floor.
The stage's peak memory (tracemalloc) is measured in one further, untimed run.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from govlib.pipeline.stages import survey as stage  # noqa: E402
from govlib.settings import load_settings  # noqa: E402
from govlib.survey.calibrate import rake  # noqa: E402
from govlib.survey.estimate import estimate, make_design, score_items  # noqa: E402

REPEATS = 3


def timed(fn, repeats=REPEATS):
    """(min, median, last result) of ``repeats`` runs after one warm-up: wall seconds; CPU seconds (this process,
    all threads) are printed too, as the shared machine's load stretches wall time."""
    fn()
    times, cpu, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(f"  [{getattr(fn, '__name__', 'run')}: wall {', '.join(f'{x:.2f}' for x in times)} s; "
          f"CPU {', '.join(f'{x:.2f}' for x in cpu)} s]", flush=True)
    return min(times), statistics.median(times), out


def traced_peak(fn) -> float:
    """Peak of Python and numpy allocations during ``fn()`` in MB (tracemalloc; slows the run, so not timed)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def load_tables(quick: bool) -> dict:
    raw = Path(os.environ.get("GOVLIB_ROOT", ".")) / "data" / "raw"
    if not quick and (raw / "survey_responses.parquet").exists():
        t = {n: pd.read_csv(raw / f"{n}.csv", dtype={"code": str}) for n in ("survey_items", "population_structure",
                                                                             "units")}
        t["survey_responses"] = pd.read_parquet(raw / "survey_responses.parquet")
        return t
    from govlib.data.demo import generate_demo_data

    d = generate_demo_data("small" if quick else "full")
    return {k: d[k] for k in ("survey_items", "population_structure", "units", "survey_responses")}


def floor(tables: dict) -> int:
    """The data passes of the stage's outputs in plain numpy/pandas (a lower bound: no variance algebra)."""
    r = tables["survey_responses"]
    items = tables["survey_items"]
    w = r["weight"].to_numpy(float)
    wave = r["wave"].cat.codes.to_numpy() if hasattr(r["wave"], "cat") else pd.factorize(r["wave"])[0]
    h = wave.astype(np.int64) * 100 + pd.factorize(r["stratum"])[0]
    age = h * 10 + pd.factorize(r["age_group"])[0]
    sex = h * 10 + pd.factorize(r["sex"])[0]
    ta, ts = np.bincount(age, weights=w) * 1.1, np.bincount(sex, weights=w) * 0.9
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(10):  # raking: ten sweeps of two margins
            w = w * (ta / np.bincount(age, weights=w, minlength=len(ta)))[age]
            w = w * (ts / np.bincount(sex, weights=w, minlength=len(ts)))[sex]
    cols = {}
    for it in items.itertuples():
        x = pd.to_numeric(r[it.item], errors="coerce").to_numpy(float)
        x = np.where(x > it.scale_max, np.nan, x)
        for name, v in (("score", 100 * (x - it.scale_min) / (it.scale_max - it.scale_min)),
                        ("top2", np.where(np.isnan(x), np.nan, 100.0 * (x >= it.scale_max - 1))),
                        ("net", np.where(np.isnan(x), np.nan, 100.0 * (x >= it.scale_max - 1)
                                         - 100.0 * (x <= it.scale_min + 1)))):
            ok = ~np.isnan(v)
            y = np.where(ok, v, 0.0)
            cols[f"{name}_{it.item}_w"] = w * ok
            cols[f"{name}_{it.item}_wy"] = w * y
            cols[f"{name}_{it.item}_wyy"] = w * y * y
    frame = pd.DataFrame(cols)
    frame["psu"] = wave.astype(np.int64) * 10_000 + pd.factorize(r["psu"])[0]
    frame["cell"] = age * 10 + pd.factorize(r["sex"])[0]
    return len(frame.groupby(["psu", "cell"], sort=False).sum())


R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
df <- read.csv(args[1]); pa <- read.csv(args[2]); ps <- read.csv(args[3])
df$h_age <- paste(df$stratum, df$age_group); df$h_sex <- paste(df$stratum, df$sex)
pa$h_age <- paste(pa$stratum, pa$age_group); ps$h_sex <- paste(ps$stratum, ps$sex)
pa <- pa[, c("h_age", "Freq")]; ps <- ps[, c("h_sex", "Freq")]
run <- function() {
  d <- svydesign(id = ~psu + respondent_id, strata = ~stratum, fpc = ~fpc1 + fpc2, weights = ~weight, data = df)
  r <- rake(d, list(~h_age, ~h_sex), list(pa, ps))
  svyby(~q1, ~stratum, r, svymean, na.rm = TRUE)
}
invisible(run())
times <- sapply(1:3, function(i) system.time(e <<- run())[["elapsed"]])
out <- data.frame(stratum = as.character(e$stratum), estimate = e$q1, se = SE(e))
write.csv(out, args[4], row.names = FALSE)
cat(min(times), median(times), "\n")
"""


def r_comparison(tables: dict, n_waves: int, n_strata: int | None) -> None:
    r = tables["survey_responses"]
    waves = sorted(r["wave"].astype(str).unique())[:n_waves]
    df = r[r["wave"].astype(str).isin(waves)].reset_index(drop=True)
    if n_strata:  # R's feasible size: whole strata (街镇) of those waves, every PSU and respondent of each
        keep = sorted(df["stratum"].astype(str).unique())[:n_strata]
        df = df[df["stratum"].astype(str).isin(keep)].reset_index(drop=True)
    frame = pd.DataFrame({"stratum": (df["wave"].astype(str) + "_" + df["stratum"].astype(str)),
                          "psu": df["wave"].astype(str) + "_" + df["psu"].astype(str),
                          "respondent_id": df["respondent_id"], "weight": df["weight"], "fpc1": df["fpc1"],
                          "fpc2": df["fpc2"], "age_group": df["age_group"].astype(str), "sex": df["sex"].astype(str)})
    frame["q1"] = score_items(df, tables["survey_items"])["q1"]
    pop = tables["population_structure"].copy()
    pop["year"] = pop["year"].astype(int)
    parts = []
    for w in waves:
        p = pop[pop["year"] == int(w[:4])].copy()
        p["stratum"] = w + "_" + p["code"].astype(str)
        parts.append(p[p["stratum"].isin(set(frame["stratum"]))])
    pop = pd.concat(parts)
    pa = pop.groupby(["stratum", "age_group"], as_index=False)["residents"].sum().rename(columns={"residents": "Freq"})
    ps = pop.groupby(["stratum", "sex"], as_index=False)["residents"].sum().rename(columns={"residents": "Freq"})

    def govlib_run():
        d = make_design(frame, weight="weight", strata="stratum", clusters=["psu", "respondent_id"],
                        fpc=["fpc1", "fpc2"])
        cal = rake(d, frame, [["stratum", "age_group"], ["stratum", "sex"]], [pa, ps])
        return estimate(cal, frame, "q1", by="stratum")

    g_min, g_med, g = timed(govlib_run)
    rscript = shutil.which("Rscript")
    size = f"{len(frame):,} respondents, {n_waves} wave(s), {frame['stratum'].nunique()} strata, " \
           f"{frame['psu'].nunique():,} PSUs"
    if not rscript:
        print(f"R survey: Rscript not found; govlib alone on {size}: {g_min:.3f} / {g_med:.3f} s")
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / n for n in ("data.csv", "pa.csv", "ps.csv", "out.csv", "bench.R")]
        frame.to_csv(paths[0], index=False)
        pa.to_csv(paths[1], index=False)
        ps.to_csv(paths[2], index=False)
        paths[4].write_text(R_SCRIPT)
        res = subprocess.run([rscript, str(paths[4])] + [str(p) for p in paths[:4]], capture_output=True, text=True)
        if res.returncode != 0:
            print("R survey failed:", res.stderr[-1500:])
            return
        r_min, r_med = map(float, res.stdout.split()[-2:])
        ref = pd.read_csv(paths[3]).sort_values("stratum").reset_index(drop=True)
    g = g.sort_values("stratum").reset_index(drop=True)
    de = np.max(np.abs(g["estimate"].to_numpy() / ref["estimate"].to_numpy() - 1))
    ds = np.max(np.abs(g["se"].to_numpy() / ref["se"].to_numpy() - 1))
    print(f"R survey rake + svyby on {size}: {r_min:.3f} / {r_med:.3f} s (min / median of 3); govlib "
          f"{g_min:.3f} / {g_med:.3f} s; max relative difference estimate {de:.1e}, se {ds:.1e}")
    print(f"ratio R survey / govlib ({size}): {r_min / g_min:.1f}x")


def main() -> None:
    quick = "--quick" in sys.argv
    n_r = int(sys.argv[sys.argv.index("--r-waves") + 1]) if "--r-waves" in sys.argv else 1
    # a whole wave of the full demo (38k respondents, 36 strata) did not finish R's warm-up + 3 runs in 30 CPU
    # minutes on the project's machine; 4 strata of it (3,575 respondents, 119 PSUs) take about a second
    k_r = int(sys.argv[sys.argv.index("--r-strata") + 1]) if "--r-strata" in sys.argv else 4
    tables = load_tables(quick)
    r = tables["survey_responses"]
    size = f"{len(r):,} respondents, {r['wave'].nunique()} waves, {r['psu'].nunique():,} communities"
    settings = load_settings()
    s_min, s_med, out = timed(lambda: stage.run(tables, settings))
    f_min, f_med, _ = timed(lambda: floor(tables))
    print(f"survey stage on {size}: {s_min:.2f} / {s_med:.2f} s (min / median of 3; "
          f"{len(out['survey_estimates']):,} estimates, {len(out['survey_sae']):,} small-area rows)")
    print(f"numpy/pandas floor (data passes only) on the same data: {f_min:.2f} / {f_med:.2f} s")
    print(f"ratio survey stage / floor ({size}): {s_min / f_min:.1f}x")
    peak = traced_peak(lambda: stage.run(tables, settings))
    print(f"survey stage peak memory (tracemalloc, one more run): {peak:.0f} MB beyond its input (it streams whole "
          f"waves: stages.survey.WAVE_CHUNK_ROWS = {stage.WAVE_CHUNK_ROWS:,})")
    r_comparison(tables, n_r, k_r or None)


if __name__ == "__main__":
    main()
