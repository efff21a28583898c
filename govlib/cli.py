"""The ``govlib`` console script.

Each subcommand lives in its own module in :mod:`govlib.commands` and provides ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; modules there are discovered automatically. A
:class:`~govlib.errors.GovlibError` (a user's mistake) prints its message and exits with status 2, no traceback; so
does an :class:`OSError` from the user's files or disk (permission denied, a folder where a file belongs, a full or
read-only disk). A reader that closes the pipe early (``govlib validate | head``) ends the output quietly.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import os
import pkgutil
import sys

from . import __version__, commands
from .errors import GovlibError

__all__ = ["main", "build_parser", "os_error_message"]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``govlib`` argument parser with every subcommand, or with the subcommand ``only`` (``main`` passes the one
    on the command line, so that one command does not import the others' modules: pandas, scipy, ...). An unknown
    ``only`` gives the full parser (its error message lists every command).

    Examples
    --------
    >>> sorted(build_parser(only="provenance")._subparsers._group_actions[0].choices)
    ['provenance']
    >>> "report" in build_parser(only="no-such-command")._subparsers._group_actions[0].choices
    True
    """
    names = [info.name for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name)
             if not info.name.startswith("_")]
    if only is not None and only in {_command_name(n) for n in names}:
        names = [n for n in names if _command_name(n) == only]
    parser = argparse.ArgumentParser(
        prog="govlib",
        description="Social Governance Index analytics: build processed data, compute indices, survey "
                    "estimates and trends, and render reports.",
    )
    parser.add_argument("--version", action="version", version=f"govlib {__version__}")
    parser.add_argument("--settings", help="settings file (default: govlib.yaml at the project root)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in names:
        module = importlib.import_module(f"{commands.__name__}.{name}")
        if only is not None and len(names) == 1 and module.NAME != only:  # a module named against the convention
            return build_parser()
        p = sub.add_parser(module.NAME, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP))
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _command_name(module_name: str) -> str:
    """A command module's command name by the package's convention (``demo_data`` -> ``demo-data``, ``import_`` ->
    ``import``); :func:`build_parser` checks it against the module's ``NAME``."""
    return module_name.rstrip("_").replace("_", "-")


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named on a command line (the first word that is neither an option nor the ``--settings``
    value), or None."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--settings":
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_in(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    stdout = sys.stdout
    sys.stdout = _PipeSafe(stdout)  # `govlib validate | head`: the work finishes, the cut output is dropped quietly
    try:
        return int(args._run(args) or 0)
    except GovlibError as exc:
        print(f"govlib {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        message = os_error_message(exc)
        if message is None:
            raise
        print(f"govlib {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout.flush()  # still through the wrapper: a closed pipe is not an error at exit either
        sys.stdout = stdout


#: errno values that are the user's environment, not a bug: a full or read-only disk, a quota, a too-long name.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC: "no space left on the disk", errno.EROFS: "the file system is read-only",
                       errno.EDQUOT: "the disk quota is exceeded", errno.ENAMETOOLONG: "the file name is too long",
                       errno.ELOOP: "too many symbolic links (a link points to itself?)",
                       errno.EACCES: "permission denied", errno.EPERM: "operation not permitted"}


def os_error_message(exc: OSError) -> str | None:
    """A plain-words message for an :class:`OSError` caused by the user's files or disk (permissions, a folder
    where a file belongs, a full disk, ...), or ``None`` for other OS errors (those are bugs: keep the traceback).

    Examples
    --------
    >>> os_error_message(PermissionError(13, "Permission denied", "/srv/project/outputs"))
    "permission denied: /srv/project/outputs — govlib cannot read or write there; check the folder's permissions, or set another folder in govlib.yaml (paths:)"
    >>> os_error_message(OSError(28, "No space left on device", "data/processed/builds/x.parquet"))
    'no space left on the disk: data/processed/builds/x.parquet — free some space and run the command again (the previous build is untouched)'
    """
    where = exc.filename if exc.filename is not None else "(a file)"
    if exc.filename2 is not None:
        where = f"{exc.filename} -> {exc.filename2}"
    if isinstance(exc, PermissionError):
        return (f"permission denied: {where} — govlib cannot read or write there; check the folder's permissions, or "
                "set another folder in govlib.yaml (paths:)")
    if isinstance(exc, IsADirectoryError):
        return f"{where} is a folder where govlib expected a file; move it away or name a file"
    if isinstance(exc, NotADirectoryError):
        return f"{where}: part of this path is a file where govlib expected a folder"
    if isinstance(exc, FileExistsError):
        if exc.filename is not None and os.path.isfile(exc.filename):
            return (f"{where} is a file where govlib needs a folder; check the paths: section of govlib.yaml "
                    "(govlib does not replace your file)")
        return f"{where} already exists; govlib does not overwrite it — remove it or choose another name"
    if isinstance(exc, FileNotFoundError):
        return f"not found: {where}"
    if exc.errno in _ENVIRONMENT_ERRNOS:
        hint = (" — free some space and run the command again (the previous build is untouched)"
                if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "")
        return f"{_ENVIRONMENT_ERRNOS[exc.errno]}: {where}{hint}"
    return None


class _PipeSafe:
    """``sys.stdout`` that stops writing, without an error, once the reader has gone (a closed pipe)."""

    def __init__(self, stream):
        self._stream = stream
        self._closed_pipe = False

    def write(self, text: str) -> int:
        if not self._closed_pipe:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._reader_gone()
        return len(text)

    def flush(self) -> None:
        if not self._closed_pipe:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self) -> None:
        self._closed_pipe = True
        try:  # what is still buffered goes to /dev/null, so that the interpreter's exit does not complain
            fd = self._stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
