"""Shanghai-scale benchmark: survey estimation and hotline aggregation on pandas vs Dask, and report fan-out.

A synthetic city (16 districts, 215 街镇, 6,600 communities) with 10 years of quarterly survey waves and 10 years
of hotline tickets is generated *in chunks* straight to Parquet in a temporary folder (never all in memory):

- ``--full``: about 50 million survey responses (40 waves x 1.25 M) and 20 million tickets (10 yearly files);
- default ``--scale 0.02``: the same city with 2% of the rows (a few minutes on a busy 2-core machine).

Then, each phase measured for wall time and the **peak RSS of the whole process tree** (this process plus every
Dask worker / pool process, sampled every 0.1 s with psutil):

1. survey: 8 items by wave x 街镇 (8,600 domains), design weight + strata (街镇) + PSU (community) + fpc --
   ``govlib.survey.estimate.estimate`` on one in-memory DataFrame (only when the rows fit: see ``--pandas-limit-gb``) and
   ``govlib.survey.dask.estimate_on_dask`` on a LocalCluster reading the Parquet files;
2. hotline: monthly indicators -- ``govlib.services.hotline.aggregate_tickets`` in memory (when it fits), the pyarrow
   streaming path ``aggregate_ticket_files`` and ``aggregate_tickets_on_dask``;
3. report fan-out: real reports of the sample processed store through the report runner's executors: in-process
   (one warm kernel), the local warm pool of 2, and Dask clusters of 1, 2 and 4 workers.

Each aggregation is also timed against a peer and a floor, all run ``--runs`` times (default 3; min and median):
survey -- govlib on Dask against govlib in memory (the peer: the same estimates) and a plain pandas read + weighted
``groupby`` mean per domain (the floor: point estimates only, no variance); hotline -- govlib's streaming path against
polars' streaming ``group_by`` (the peer) and pyarrow batches + a pandas ``groupby`` (the floor), both counts only.

Run: ``nice python benchmarks/bench_scale.py [--scale 0.02 | --full] [--workers 2] [--keep DIR]``
(``GOVLIB_BENCH_QUICK=1``: scale 0.005, fan-out of 4 tasks).
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _compare import Timing, quick, ratio, runs  # noqa: E402

DISTRICTS, JIEZHEN, COMMUNITIES = 16, 215, 6_600
YEARS = list(range(2016, 2026))
FULL_RESPONSES, FULL_TICKETS = 50_000_000, 20_000_000
ITEMS = [f"q{i}" for i in range(1, 9)]
# Peak memory per row of the in-memory (pandas) paths (read_parquet + estimate / aggregate_tickets), measured with
# ru_maxrss on 1 M rows of this data on this machine (712 and 852 bytes) and rounded up; the pandas path runs only
# if rows x this fits in --pandas-limit-gb (so --full skips both: ~37 GB and ~18 GB).
SURVEY_BYTES_PER_ROW, TICKET_BYTES_PER_ROW = 750, 900


# ------------------------------------------------------------------------------------------- memory probe
class PeakRSS:
    """Sample the RSS of this process and all its descendants; ``peak`` in bytes since the last ``reset``."""

    def __init__(self, interval: float = 0.1):
        import psutil

        self._proc = psutil.Process()
        self._psutil = psutil
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def current(self) -> int:
        total = 0
        procs = [self._proc]
        try:
            procs += self._proc.children(recursive=True)
        except self._psutil.Error:
            pass
        for p in procs:
            try:
                total += p.memory_info().rss
            except self._psutil.Error:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.interval)

    def reset(self) -> None:
        self.peak = self.current()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def gb(n: float) -> str:
    return f"{n / 2**30:.2f} GB"


# ---------------------------------------------------------------------------------------------- the city
def make_units() -> pd.DataFrame:
    """16 districts, 215 街镇 (spread over them), 6,600 communities (spread over the 街镇); 12-digit codes."""
    rng = np.random.default_rng(1)
    jz_district = np.sort(rng.integers(0, DISTRICTS, JIEZHEN))
    jz_code = [f"3101{d + 1:02d}{i + 1:03d}000" for i, d in enumerate(jz_district)]
    per_jz = np.bincount(rng.integers(0, JIEZHEN, COMMUNITIES - 2 * JIEZHEN), minlength=JIEZHEN) + 2
    comm_code, comm_parent = [], []
    for j, n in enumerate(per_jz):
        for k in range(n):
            comm_code.append(jz_code[j][:9] + f"{k + 1:03d}")
            comm_parent.append(jz_code[j])
    city = pd.DataFrame({"code": ["310000000000"], "level": ["district"], "parent": [None]})  # the city root
    jz = pd.DataFrame({"code": jz_code, "level": "subdistrict", "parent": "310000000000"})
    comm = pd.DataFrame({"code": comm_code, "level": "community", "parent": comm_parent})
    return pd.concat([city, jz, comm], ignore_index=True)


def make_population(units: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    codes = units.loc[units["level"] != "district", "code"].to_numpy()
    is_jz = units.loc[units["level"] != "district", "level"].eq("subdistrict").to_numpy()
    base = np.where(is_jz, rng.integers(40_000, 200_000, len(codes)), rng.integers(2_000, 12_000, len(codes)))
    return pd.DataFrame({"code": np.repeat(codes, len(YEARS)), "year": np.tile(YEARS, len(codes)),
                         "residents": np.repeat(base, len(YEARS))})


def write_survey(folder: Path, units: pd.DataFrame, n_rows: int) -> list[Path]:
    """One Parquet file per quarterly wave; rows per community drawn around n_rows / (waves x communities)."""
    folder.mkdir(parents=True)
    comm = units[units["level"] == "community"]
    codes = comm["code"].to_numpy()
    parent = comm["parent"].to_numpy()
    jz_codes = np.sort(units.loc[units["level"] == "subdistrict", "code"].to_numpy())
    n_per_jz = pd.Series(parent).value_counts()
    fpc1 = (n_per_jz.reindex(parent).to_numpy() * 1.5).astype(np.int32)  # 街镇 has 1.5x the sampled communities
    waves = [f"{y}Q{q}" for y in YEARS for q in range(1, 5)]
    per_wave = n_rows // len(waves)
    wave_cat = pd.CategoricalDtype(waves)
    comm_cat = pd.CategoricalDtype(np.sort(codes))
    jz_cat = pd.CategoricalDtype(jz_codes)
    effect = np.random.default_rng(3).normal(0, 0.4, len(codes))
    files = []
    for w, wave in enumerate(waves):
        rng = np.random.default_rng(100 + w)
        c = rng.integers(0, len(codes), per_wave)
        latent = effect[c][:, None] + rng.normal(3.6, 0.9, (per_wave, len(ITEMS)))
        answers = np.clip(np.rint(latent), 1, 5).astype("float32")
        answers[rng.random(answers.shape) < 0.04] = np.nan  # don't know
        df = pd.DataFrame({"respondent_id": np.arange(w * per_wave, (w + 1) * per_wave, dtype=np.int64),
                           "wave": pd.Categorical([wave] * per_wave, dtype=wave_cat),
                           "unit": pd.Categorical(codes[c], dtype=comm_cat),
                           "stratum": pd.Categorical(parent[c], dtype=jz_cat),
                           "psu": pd.Categorical(codes[c], dtype=comm_cat),
                           "weight": rng.uniform(50, 400, per_wave), "fpc1": fpc1[c]})
        for j, item in enumerate(ITEMS):
            df[item] = answers[:, j]
        path = folder / f"{wave}.parquet"
        df.to_parquet(path, row_group_size=256_000, compression="zstd", index=False)
        files.append(path)
        del df, latent, answers
    return files


def write_tickets(folder: Path, units: pd.DataFrame, n_rows: int, chunk: int = 500_000) -> list[Path]:
    """One Parquet file per year, written in chunks of ``chunk`` rows (row groups of 250k)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    comm = np.sort(units.loc[units["level"] == "community", "code"].to_numpy())
    cats = np.array(["consultation", "help", "complaint", "suggestion", "other"])
    per_year = n_rows // len(YEARS)
    files = []
    for y, year in enumerate(YEARS):
        path = folder / f"{year}.parquet"
        writer = None
        start_s = pd.Timestamp(f"{year}-01-01").value // 10**9
        span_s = 365 * 86_400
        for i0 in range(0, per_year, chunk):
            n = min(chunk, per_year - i0)
            rng = np.random.default_rng(10_000 * y + i0 // chunk)
            created = start_s + np.sort(rng.integers(0, span_s, n))
            due = created + rng.choice([86_400, 3 * 86_400, 7 * 86_400], n)
            closed = created + rng.exponential(2.5 * 86_400, n).astype(np.int64)
            open_ = rng.random(n) < 0.02
            sat = np.where(rng.random(n) < 0.6, rng.integers(1, 6, n), 0).astype(np.int8)
            df = pd.DataFrame({
                "ticket_id": np.arange(y * per_year + i0, y * per_year + i0 + n, dtype=np.int64),
                "unit": pd.Categorical(comm[rng.integers(0, len(comm), n)], categories=comm),
                "created_at": created.astype("datetime64[s]"),
                "due_at": due.astype("datetime64[s]"),
                "closed_at": pd.Series(closed.astype("datetime64[s]")).where(~open_),
                "category": pd.Categorical(cats[rng.choice(5, n, p=[.35, .25, .25, .1, .05])], categories=cats),
                "satisfaction": pd.array(np.where(sat > 0, sat, pd.NA), dtype="Int8"),
                "repeat": rng.random(n) < 0.08,
            })
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=250_000)
            del df, table
        writer.close()
        files.append(path)
    return files


# ----------------------------------------------------------------------------------------------- phases
def timed(probe: PeakRSS, label: str, func, results: dict, n: int = 1):
    """Run ``func`` ``n`` times; keep the wall times (a Timing) and the highest peak RSS of the process tree."""
    timing, peak = Timing(label), 0
    for _ in range(n):
        gc.collect()
        probe.reset()
        t0 = time.perf_counter()
        out = func()
        timing.seconds.append(time.perf_counter() - t0)
        time.sleep(probe.interval * 2)
        peak = max(peak, probe.peak)
    results[label] = (timing, peak)
    print(f"  {label:<44s} {timing.min:8.2f} s (median {timing.median:.2f} s of {n})   peak RSS {gb(peak)}",
          flush=True)
    return out


def skipped(label: str, need: float, limit: float, results: dict):
    results[label] = None
    print(f"  {label:<44s} skipped: would need ~{gb(need)} (> --pandas-limit-gb {limit:g})", flush=True)


def polars_counts(files):
    """The peer: community x month counts of the ticket files with polars' streaming engine."""
    import polars as pl

    return (pl.scan_parquet([str(f) for f in files])
            .with_columns(period=pl.col("created_at").dt.truncate("1mo")).group_by("unit", "period").agg(
                n=pl.len(), complaint=(pl.col("category") == "complaint").sum(),
                on_time=(pl.col("closed_at") <= pl.col("due_at")).sum(),
                rated=pl.col("satisfaction").is_not_null().sum(), satisfied=(pl.col("satisfaction") >= 4).sum(),
                repeat=pl.col("repeat").sum())
            .collect(engine="streaming"))


def floor_counts(files, batch_rows=500_000):
    """The floor: the same counts with pyarrow batches and a pandas groupby per batch, summed."""
    import pyarrow.dataset as ds

    parts = []
    for batch in ds.dataset([str(f) for f in files], format="parquet").to_batches(batch_size=batch_rows):
        t = batch.to_pandas()
        df = pd.DataFrame({"unit": t["unit"], "period": t["created_at"].dt.to_period("M"),
                           "complaint": t["category"] == "complaint", "on_time": t["closed_at"] <= t["due_at"],
                           "rated": t["satisfaction"].notna(), "satisfied": (t["satisfaction"] >= 4).fillna(False),
                           "repeat": t["repeat"]})
        parts.append(df.groupby(["unit", "period"], observed=True).sum())
    return pd.concat(parts).groupby(level=[0, 1], observed=True).sum()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.005 if quick() else 0.02,
                    help="fraction of the full 50M/20M rows (default 0.02; quick 0.005)")
    ap.add_argument("--runs", type=int, default=runs(), help="runs of each compared aggregation (min and median)")
    ap.add_argument("--full", action="store_true", help="the full Shanghai scale (same as --scale 1)")
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes for the aggregations")
    ap.add_argument("--worker-memory", default="2.5GiB", help="memory limit per Dask worker")
    ap.add_argument("--pandas-limit-gb", type=float, default=6.0,
                    help="run the in-memory pandas paths only if their estimated peak is below this")
    ap.add_argument("--fanout-tasks", type=int, default=4 if quick() else 12,
                    help="street reports in the fan-out benchmark (<= 36)")
    ap.add_argument("--keep", type=Path, default=None, help="generate into (and keep) this folder")
    ap.add_argument("--skip", nargs="*", default=[], choices=["survey", "hotline", "fanout"])
    args = ap.parse_args(argv)
    scale = 1.0 if args.full else args.scale
    if not 0 < scale <= 1:
        ap.error("--scale must be in (0, 1]")

    import dask
    import dask.dataframe as dd

    from govlib import parallel as gp
    from govlib.services import hotline_stream as hs
    from govlib.survey import dask as sd
    from govlib.services import hotline
    from govlib.survey import estimate as survey

    n_resp, n_tick = int(FULL_RESPONSES * scale), int(FULL_TICKETS * scale)
    limit = args.pandas_limit_gb * 2**30
    probe = PeakRSS()
    results: dict = {}
    root = args.keep or Path(tempfile.mkdtemp(prefix="govlib-bench-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"bench_scale: scale {scale:g}: {n_resp:,} survey responses, {n_tick:,} hotline tickets; "
          f"{JIEZHEN} 街镇, {COMMUNITIES:,} communities, {len(YEARS)} years; data in {root}")
    print(f"machine: {os.cpu_count()} cores; Dask {dask.__version__}, pandas {pd.__version__}; "
          f"{args.workers} Dask workers x {args.worker_memory}")
    units = make_units()
    population = make_population(units)
    try:
        if "survey" not in args.skip or "hotline" not in args.skip:
            print("generate (chunked, to Parquet)")
        if "survey" not in args.skip:  # (with --keep DIR, data already there are reused)
            sfiles = (sorted((root / "survey").glob("*.parquet")) if (root / "survey").is_dir() else
                      timed(probe, "generate survey waves", lambda: write_survey(root / "survey", units, n_resp),
                            results))
        if "hotline" not in args.skip:
            tfiles = (sorted((root / "tickets").glob("*.parquet")) if (root / "tickets").is_dir() else
                      timed(probe, "generate ticket files", lambda: write_tickets(root / "tickets", units, n_tick),
                            results))
        design_kw = dict(weight="weight", strata="stratum", clusters="psu", fpc="fpc1")
        by = ["wave", "stratum"]
        cluster, client = gp.start_local_cluster(args.workers, memory_limit=args.worker_memory)
        try:
            if "survey" not in args.skip:
                print("survey: 8 items by wave x 街镇")
                if n_resp * SURVEY_BYTES_PER_ROW < limit:
                    def pandas_survey():
                        df = pd.read_parquet(sfiles)
                        d = survey.make_design(df, **design_kw)
                        return survey.estimate(d, df, ITEMS, by=by)
                    want = timed(probe, "survey pandas (read + estimate)", pandas_survey, results, args.runs)
                else:
                    want = None
                    skipped("survey pandas (read + estimate)", n_resp * SURVEY_BYTES_PER_ROW, args.pandas_limit_gb,
                            results)
                got = timed(probe, "survey dask (read_parquet + estimate_on_dask)",
                            lambda: sd.estimate_on_dask(dd.read_parquet([str(f) for f in sfiles]), ITEMS, by=by,
                                                        **design_kw), results, args.runs)

                def floor_survey():  # read + weighted mean per (wave, 街镇) of every item: no variance
                    df = pd.read_parquet(sfiles)
                    wy = df[ITEMS].mul(df["weight"], axis=0).assign(**{k: df[k] for k in by})
                    w = df[ITEMS].notna().mul(df["weight"], axis=0).assign(**{k: df[k] for k in by})
                    return (wy.groupby(by, observed=True).sum() / w.groupby(by, observed=True).sum())
                timed(probe, "survey floor (read + weighted groupby mean)", floor_survey, results, args.runs)
                if want is not None:
                    key = by + ["variable"]
                    a = got.assign(**{k: got[k].astype(str) for k in by}).sort_values(key)
                    b = want.assign(**{k: want[k].astype(str) for k in by}).sort_values(key)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        diff = np.nanmax(np.abs(a["se"].to_numpy() - b["se"].to_numpy()) / b["se"].to_numpy())
                    print(f"  max relative SE difference dask vs pandas: {diff:.1e} over {len(got):,} estimates")
                del got, want
            if "hotline" not in args.skip:
                print("hotline: monthly indicators per community, 街镇 and city")
                if n_tick * TICKET_BYTES_PER_ROW < limit:
                    def pandas_hotline():
                        return hotline.aggregate_tickets(pd.read_parquet(tfiles), units, population)
                    want = timed(probe, "hotline pandas (read + aggregate_tickets)", pandas_hotline, results,
                                 args.runs)
                else:
                    want = None
                    skipped("hotline pandas (read + aggregate_tickets)", n_tick * TICKET_BYTES_PER_ROW,
                            args.pandas_limit_gb, results)
                streamed = timed(probe, "hotline streaming (pyarrow batches, 1 proc)",
                                 lambda: hs.aggregate_ticket_files(tfiles, units, population, batch_rows=500_000),
                                 results, args.runs)
                on_dask = timed(probe, "hotline dask (aggregate_tickets_on_dask)",
                                lambda: hs.aggregate_tickets_on_dask(tfiles, units, population), results, args.runs)
                timed(probe, "hotline peer (polars streaming group_by)", lambda: polars_counts(tfiles), results,
                      args.runs)
                timed(probe, "hotline floor (pyarrow batches + pandas groupby)", lambda: floor_counts(tfiles),
                      results, args.runs)
                cols = ["level", "unit", "period"]
                same = streamed.sort_values(cols).reset_index(drop=True).equals(
                    on_dask.sort_values(cols).reset_index(drop=True))
                if want is not None:
                    same &= streamed.sort_values(cols).reset_index(drop=True).equals(
                        want.sort_values(cols).reset_index(drop=True))
                print(f"  results identical across paths: {same}; {len(streamed):,} rows of hotline_monthly")
                del streamed, on_dask, want
        finally:
            client.close()
            cluster.close()
        if "fanout" not in args.skip:
            from govlib.data.sample_store import build_fake_store
            from govlib.reports.executors import DaskExecutor, InlineExecutor
            from govlib.reports.runner import plan_all, run_reports
            from govlib.settings import load_settings

            store = load_settings(root=build_fake_store(root / "sample-project"))
            jobs = plan_all("latest", "zh", store)[:args.fanout_tasks]
            print(f"report fan-out: {len(jobs)} real street reports of the sample processed store "
                  f"(govlib.data.sample_store) through the runner's executors, every report rendered (--force)")

            def fan_out(executor, workers=2):
                res = run_reports(jobs, store, workers=workers, force=True, progress=False, executor=executor)
                assert all(r.status == "ok" for r in res), [r.error for r in res if r.status != "ok"][:2]
                return res

            timed(probe, "fan-out sequential (1 process)", lambda: fan_out(InlineExecutor()), results)
            timed(probe, "fan-out process pool (2)", lambda: fan_out("local", 2), results)
            for w in (1, 2, 4):
                with gp.local_client(w) as c:
                    c.run(lambda: __import__("govlib.reports.worker"))  # workers up before the clock starts
                    timed(probe, f"fan-out dask ({w} worker{'s' if w > 1 else ''})",
                          lambda: fan_out(DaskExecutor(client=c)), results)
    finally:
        probe.stop()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    print("ratios (same run; min and median of the runs; > 1: the first is slower):")
    t = {label: v[0] for label, v in results.items() if v}
    peak_all = max(v[1] for v in results.values() if v)
    for a, b, what in [
        ("survey dask (read_parquet + estimate_on_dask)", "survey pandas (read + estimate)", "peer, survey dask/pandas"),
        ("survey dask (read_parquet + estimate_on_dask)", "survey floor (read + weighted groupby mean)",
         "floor, survey dask/floor"),
        ("hotline streaming (pyarrow batches, 1 proc)", "hotline peer (polars streaming group_by)",
         "peer, hotline streaming/polars"),
        ("hotline streaming (pyarrow batches, 1 proc)", "hotline floor (pyarrow batches + pandas groupby)",
         "floor, hotline streaming/floor"),
        ("hotline streaming (pyarrow batches, 1 proc)", "hotline pandas (read + aggregate_tickets)",
         "hotline streaming/pandas time"),
        ("hotline dask (aggregate_tickets_on_dask)", "hotline pandas (read + aggregate_tickets)",
         "hotline dask/pandas time"),
        ("fan-out dask (1 worker)", "fan-out dask (2 workers)", "fan-out 1 vs 2 dask workers (speed-up)"),
        ("fan-out dask (1 worker)", "fan-out dask (4 workers)", "fan-out 1 vs 4 dask workers (speed-up)"),
        ("fan-out dask (2 workers)", "fan-out process pool (2)", "fan-out dask(2)/process pool(2) time"),
    ]:
        if a in t and b in t and what.startswith(("peer", "floor")):
            ratio(t[a], t[b], what)
        elif a in t and b in t:
            print(f"  {what}: min {t[a].min / t[b].min:.3g}, median {t[a].median / t[b].median:.3g}")
        elif a in results or b in results:
            print(f"  ratio {what}: n/a (a path was skipped)")
    print(f"  peak RSS of the process tree, any phase:  {gb(peak_all)} (limit 8 GB: "
          f"{'OK' if peak_all < 8 * 2**30 else 'EXCEEDED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
