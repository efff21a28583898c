"""The ``govlib`` console script.

Each subcommand lives in its own module in :mod:`govlib.commands` and provides ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; modules there are discovered automatically. A
:class:`~govlib.errors.GovlibError` (a user's mistake) prints its message and exits with status 2, no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands
from .errors import GovlibError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govlib",
        description="Social Governance Index analytics: build processed data, compute indices, survey "
                    "estimates and trends, and render reports.",
    )
    parser.add_argument("--version", action="version", version=f"govlib {__version__}")
    parser.add_argument("--settings", help="settings file (default: govlib.yaml at the project root)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP))
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except GovlibError as exc:
        print(f"govlib {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
