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
    dataset = validate(settings)
    rows = sum(len(t) for t in dataset.tables.values())
    print(f"settings {settings.source or '(defaults)'}: OK (every key, and every stage's choices)")
    print(f"{raw}: {len(dataset.tables)} tables, {rows:,} rows, framework "
          f"{dataset.framework.meta.get('name_en', '')} ({len(dataset.framework.leaves)} indicators): OK"
          + (" [synthetic demo data]" if dataset.synthetic else ""))
    return 0
