"""``govlib validate``: check the settings and every raw table and report all problems (nothing is written)."""
from __future__ import annotations

NAME = "validate"
HELP = ("check govlib.yaml (every key and every stage's choices) and the raw data (data/raw) against the "
        "documented schema and the rules the build applies; report every problem")


def add_arguments(parser) -> None:
    parser.add_argument("--raw", help="raw data folder (default: paths.raw in govlib.yaml)")


def run(args) -> int:
    from ..pipeline.build import validate
    from ..settings import load_settings

    settings = load_settings(args.settings)
    raw = args.raw or settings.raw_dir
    if args.raw:
        settings = settings.with_raw_dir(raw)
    dataset = validate(settings, sinks={"hotline_tickets": False})  # checked file by file, not kept
    rows = sum(dataset.rows.values())
    for name, files in sorted(dataset.sources.items()):  # say which tables were found where
        shown = files if len(files) <= 3 else files[:2] + [f"... {len(files)} files"]
        print(f"  {name:<22} {dataset.rows[name]:>10,} rows  {', '.join(shown)}")
    print("  checked: types, ranges and keys of every table; references between tables; the unit hierarchy; "
          "indicator units and leaves; the survey design (weights, strata, PSUs, fpc, survey.lonely_psu); "
          "hotline times; the doorstep rules")
    if not dataset.meta.get("synthetic") and dataset.meta.get("provenance"):
        print(f"  provenance: {dataset.meta['provenance']}")
    print(f"settings {settings.source or '(defaults)'}: OK (every key, and every stage's choices)")
    print(f"{raw}: {len(dataset.rows)} tables, {rows:,} rows, framework "
          f"{dataset.framework.meta.get('name_en', '')} ({len(dataset.framework.leaves)} indicators): OK"
          + (" [synthetic demo data]" if dataset.synthetic else ""))
    return 0
