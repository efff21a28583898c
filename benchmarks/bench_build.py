"""Benchmark: ``govlib validate`` and ``govlib build`` of a project against a plain pandas/pyarrow floor (issue 20).

    python benchmarks/bench_build.py [--root PROJECT] [--runs 3] [--no-build]

``--root`` is a project root (a folder with ``govlib.yaml`` and ``data/raw``; the full demo: ``govlib demo-data
--size full`` there). Without it a small demo project is generated in a temporary folder. Run a full-size root under
``flock /tmp/govlib-full.lock`` (the build peaks near 2 GB).

Every run is a fresh process (as the command line is), timed around the call with imports excluded, for govlib and
the floor alike; each is run ``--runs`` times, and min / median are printed with the process's peak RSS.

The floors, measured in the same run on the same files:

- **validate floor**: read every raw file (pyarrow for Parquet, ``pandas.read_csv`` for CSV) and apply the
  vectorised checks of the table specs (``govlib.data.schema.SPECS``) with plain pandas: required values present,
  allowed values (``isin``), numeric ranges, duplicate keys (``duplicated``), references (``isin``). No message is
  made, no row is mapped back to its file, no text is normalised: the least any validation of these files costs.
  Parquet dictionary columns are checked on their categories, integer ids for duplicates with one sort (what
  the floor's plain pandas would take on these files when written with care; a naive ``astype(str).isin`` over
  15 million tickets made the floor slower than govlib).
- **build floor**: the validate floor plus writing the build's output tables (read back from the store govlib just
  wrote) with ``pyarrow.parquet.write_table``: the I/O any build of these files must pay, with none of the
  computation (survey estimation, index, trends).

The last lines print the ratios govlib / floor (min and median), of wall-clock and of CPU time (the steadier of
the two when other processes share the machine).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

GOVLIB_VALIDATE = """
import json, resource, sys, time
from govlib.pipeline.build import validate, check_stage_settings
from govlib.settings import load_settings
settings = load_settings()
check_stage_settings(settings)  # imports every stage module: not the validation's cost
t = time.perf_counter(); c = time.process_time()
ds = validate(settings, sinks={"hotline_tickets": False})  # as `govlib validate` does
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c, "rows": sum(ds.rows.values()),
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""

GOVLIB_BUILD = """
import json, resource, sys, time
from govlib.pipeline.build import build, check_stage_settings
from govlib.settings import load_settings
settings = load_settings()
check_stage_settings(settings)
t = time.perf_counter(); c = time.process_time()
r = build(settings, progress=False)
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c, "folder": str(r.folder),
                  "stages": {k: round(v, 2) for k, v in r.timings.items()},
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""

FLOOR = """
import json, resource, sys, time
from pathlib import Path
import numpy as np, pandas as pd, pyarrow.parquet as pq
from govlib.data.schema import SPECS
raw, out = Path(sys.argv[1]), (Path(sys.argv[2]) if len(sys.argv) > 2 else None)
t = time.perf_counter(); c = time.process_time()
tables, rows, bad = {}, 0, 0
for name, spec in SPECS.items():
    files = sorted((raw / name).glob("*")) if (raw / name).is_dir() else [p for p in (raw / f"{name}.csv",
                                                                            raw / f"{name}.parquet") if p.exists()]
    parts = [pq.read_table(p).to_pandas() if p.suffix == ".parquet" else pd.read_csv(p, dtype=str) for p in files]
    if not parts:
        continue
    keys = []
    for df in parts:
        rows += len(df)
        for col in spec.columns:
            if col.name not in df.columns:
                continue
            s = df[col.name]
            if not col.nullable:
                bad += int(s.isna().sum())
            if col.allowed is not None:
                bad += int((~s.isin(list(col.allowed)) & s.notna()).sum())
            if col.kind in ("float", "int") or col.min is not None or col.max is not None:
                v = pd.to_numeric(s, errors="coerce")
                bad += int((v < col.min).sum()) if col.min is not None else 0
                bad += int((v > col.max).sum()) if col.max is not None else 0
            elif col.kind == "datetime" and s.dtype.kind != "M":
                bad += int(pd.to_datetime(s, errors="coerce", format="mixed").isna().sum())
        if spec.key and all(k in df.columns for k in spec.key):
            keys.append(df[list(spec.key)])
    key = pd.concat(keys, ignore_index=True) if len(keys) > 1 else keys[0] if keys else None
    if key is not None and key.shape[1] == 1 and key.iloc[:, 0].dtype.kind in "iu":  # integer ids: one sort
        v = np.sort(key.iloc[:, 0].to_numpy())
        bad += int((v[1:] == v[:-1]).sum())
    elif key is not None:
        bad += int(key.duplicated().sum())
    if len(parts) == 1:
        tables[name] = parts[0]
    for col, (ref, ref_col) in spec.references.items():
        if ref in tables and ref != name:
            known = set(tables[ref][ref_col].astype(str))
            for df in parts:
                if col in df.columns and isinstance(df[col].dtype, pd.CategoricalDtype):  # Parquet dictionaries
                    ok = np.append(df[col].cat.categories.astype(str).isin(known), True)
                    bad += int((~ok[df[col].cat.codes.to_numpy()]).sum())  # code -1 (NA) takes the last: ok
                elif col in df.columns:
                    bad += int((~df[col].astype(str).isin(known) & df[col].notna()).sum())
    del parts, keys
if out is not None:  # the build floor: write the build's output tables again
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for p in sorted(out.glob("*.parquet")):
            pq.write_table(pq.read_table(p), Path(tmp) / p.name, compression="zstd")
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c, "rows": rows, "bad": bad,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


def run(code: str, root: Path, *args: str) -> dict:
    env = {**os.environ, "GOVLIB_ROOT": str(root)}
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=root)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summary(label: str, results: list[dict]) -> tuple[float, float]:
    walls = [r["wall"] for r in results]
    cpus = [r["cpu"] for r in results]
    rss = max(r["rss"] for r in results)
    lo, med = min(walls), statistics.median(walls)
    print(f"  {label:<16} wall min {lo:7.2f} s  median {med:7.2f} s   cpu min {min(cpus):7.2f} s  "
          f"median {statistics.median(cpus):7.2f} s   peak RSS {rss:5.2f} GB")
    return lo, med, min(cpus), statistics.median(cpus)


def small_project(tmp: Path) -> Path:
    root = tmp / "project"
    root.mkdir()
    repo = Path(__file__).resolve().parents[1]
    shutil.copy(repo / "govlib.yaml", root / "govlib.yaml")
    subprocess.run([sys.executable, "-c", "import sys; from govlib.cli import main; sys.exit(main(sys.argv[1:]))",
                    "demo-data", "--size", "small"], check=True,
                   env={**os.environ, "GOVLIB_ROOT": str(root)}, stdout=subprocess.DEVNULL)
    return root


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", help="project root (default: a small demo project in a temporary folder)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-build", action="store_true", help="validate only")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_build_") as tmp:
        root = Path(args.root).resolve() if args.root else small_project(Path(tmp))
        raw = root / "data" / "raw"
        print(f"project {root} ({args.runs} runs each, fresh process per run, imports excluded)")
        v = [run(GOVLIB_VALIDATE, root) for _ in range(args.runs)]
        fv = [run(FLOOR, root, str(raw)) for _ in range(args.runs)]
        print(f"validate ({v[0]['rows']:,} rows; the floor read {fv[0]['rows']:,})")
        gv, flv = summary("govlib validate", v), summary("floor", fv)
        ratios = [("validate", gv, flv)]
        if not args.no_build:
            b = [run(GOVLIB_BUILD, root) for _ in range(args.runs)]
            fb = [run(FLOOR, root, str(raw), b[-1]["folder"]) for _ in range(args.runs)]
            print("build (stage times of the last run: " + ", ".join(f"{k} {v}" for k, v in b[-1]["stages"].items())
                  + ")")
            gb, flb = summary("govlib build", b), summary("floor", fb)
            ratios.append(("build", gb, flb))
        for name, g, f in ratios:  # CPU time is the steadier figure on a shared machine
            print(f"ratio govlib {name} / floor: wall min {g[0] / f[0]:.2f}x  median {g[1] / f[1]:.2f}x;  "
                  f"cpu min {g[2] / f[2]:.2f}x  median {g[3] / f[3]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
