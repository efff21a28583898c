"""``govlib build``: validate data/raw, run all stages, write data/processed."""
from __future__ import annotations

NAME = "build"
HELP = "validate data/raw, compute every stage and write data/processed (atomically, with manifest.json)"


def add_arguments(parser) -> None:
    parser.add_argument("--only", help="comma-separated stages to run (default: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--lock-timeout", type=float, default=600,
                        help="seconds to wait for another running build (default 600)")


def run(args) -> int:
    from ..pipeline import build
    from ..settings import load_settings

    settings = load_settings(args.settings)
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if not args.quiet:
        print(f"govlib build: {settings.raw_dir} -> {settings.processed_dir}")
    result = build(settings, only=only, lock_timeout=args.lock_timeout, progress=not args.quiet)
    m = result.manifest
    print(f"built {len(m['tables'])} tables in {result.timings['total']:.1f} s -> {result.folder}")
    print(f"data version {m['data_version'][:12]}  settings {m['settings_hash'][:12]}  govlib {m['govlib_version']}"
          + ("  [SYNTHETIC DEMO DATA]" if m["synthetic"] else ""))
    return 0
