"""``govlib build``: validate data/raw, run all stages, write data/processed."""
from __future__ import annotations

from . import non_negative

NAME = "build"
HELP = "validate data/raw, compute every stage and write data/processed (atomically, with manifest.json)"


def add_arguments(parser) -> None:
    parser.add_argument("--only", help="comma-separated stages to run (default: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--lock-timeout", type=non_negative, default=600,
                        help="seconds to wait for another running build (default 600)")


def run(args) -> int:
    from ..pipeline.build import build
    from ..settings import load_settings

    settings = load_settings(args.settings)
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if only is not None:  # an unknown stage name must not give a build that silently computes nothing
        from ..errors import one_of
        from ..pipeline.build import STAGES

        for name in only:
            one_of(name, [stage for stage, _ in STAGES], "--only")
    if not args.quiet:
        print(f"govlib build: {settings.raw_dir} -> {settings.processed_dir}")
    result = build(settings, only=only, lock_timeout=args.lock_timeout, progress=not args.quiet)
    m = result.manifest
    print(f"built {len(m['tables'])} tables in {result.timings['total']:.1f} s -> {result.folder}")
    print(f"data version {m['data_version'][:12]}  settings {m['settings_hash'][:12]}  govlib {m['govlib_version']}"
          + ("  [SYNTHETIC DEMO DATA]" if m["synthetic"] else ""))
    if not args.quiet:
        _print_league(result.tables)
    return 0


def _print_league(tables, n: int = 3) -> None:
    """Top and bottom 街镇 of the latest period, so a build says at a glance what it found."""
    import pandas as pd

    scores, units, framework = tables.get("index_scores"), tables.get("units"), tables.get("framework")
    if scores is None or scores.empty or units is None or framework is None:
        return
    root = framework.loc[framework["level"] == 0, "code"].iloc[0]
    latest = max(scores["period"].astype(str))
    league = scores[(scores["node"] == root) & (scores["period"].astype(str) == latest) & scores["rank"].notna()]
    league = league.merge(units[["code", "name_zh", "name_en"]], left_on="unit", right_on="code", how="left")
    league = league.sort_values("rank")
    if league.empty:
        return
    print(f"{root} {latest}: top and bottom of {len(league)} ranked units (score 0-100)")
    shown = league if len(league) <= 2 * n else pd.concat([league.head(n), league.tail(n)])
    for row in shown.itertuples():
        print(f"  {int(row.rank):>3}. {row.name_zh} ({row.name_en}) {row.score:6.1f}")
