"""Atomic writes and the processed store.

Nothing in ``data/processed`` or ``outputs/`` is ever half-written: every file is written to a temporary file
in the same folder and renamed over the target (``os.replace`` is atomic on POSIX), so a reader sees either the
previous complete file or the new complete file.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "write_table", "write_json", "file_sha256",
           "current_dir", "has_build", "begin_build", "commit_build", "remove_staging", "check_current"]


_UMASK = os.umask(0)
os.umask(_UMASK)

#: Every temporary file or folder govlib makes beside its outputs is named ``.govlib-tmp-<pid>-<name>...``:
#: :func:`remove_stale_temporaries` deletes only such names, and only when process ``<pid>`` has gone.
TEMP_PREFIX = ".govlib-tmp-"


def temporary_prefix(name: str) -> str:
    """The prefix of this process's temporaries for ``name`` (see :data:`TEMP_PREFIX`).

    >>> temporary_prefix("a.html") == f".govlib-tmp-{os.getpid()}-a.html."
    True
    """
    return f"{TEMP_PREFIX}{os.getpid()}-{name}."


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it is fsynced and renamed to ``target``.

    On any exception the temporary file is removed and ``target`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=temporary_prefix(target.name), suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; published files are readable like any other
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    return atomic_write_bytes(target, text.encode(encoding))


def write_json(target: str | Path, obj: Any) -> Path:
    """Write ``obj`` as pretty, key-sorted UTF-8 JSON (Chinese kept readable) atomically."""
    return atomic_write_text(target, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n")


def write_table(df: pd.DataFrame, target: str | Path) -> Path:
    """Write a DataFrame atomically as Parquet (``.parquet``) or UTF-8 CSV (``.csv``).

    Parquet files are written without pandas' index and without a creation timestamp, so that two builds from the
    same inputs produce byte-identical files.
    """
    target = Path(target)
    if target.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        with atomic_path(target) as tmp:
            pq.write_table(table, tmp, compression="zstd")
    elif target.suffix == ".csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False, lineterminator="\n")
        atomic_write_text(target, buf.getvalue())
    else:
        raise ValueError(f"write_table: unsupported file type {target.suffix!r} for {target}")
    return target


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- versioned store
# The processed store is a folder of complete builds, ``data/processed/builds/<id>/``, and a symbolic link
# ``data/processed/current`` that points at the newest complete one. A build writes into a fresh folder and only
# then swaps the link (rename of a new link over the old one is atomic), so readers never see a mix of two builds,
# and a build killed half-way leaves the previous version in place.

CURRENT = "current"
BUILDS = "builds"


def _is_build(folder: Path) -> bool:
    return (folder / "manifest.json").is_file()


def _newest_build(builds: Path) -> Path | None:
    """The newest complete build folder (with ``manifest.json``), by the manifest's modification time."""
    if not builds.is_dir():
        return None
    found = [p for p in builds.iterdir() if not p.name.startswith(".") and p.is_dir() and _is_build(p)]
    return max(found, key=lambda p: (p / "manifest.json").stat().st_mtime_ns) if found else None


def current_dir(processed_dir: str | Path) -> Path:
    """The folder of the current complete build (``data/processed/current``, resolved).

    A reader recovers from what a crash or a copy can leave: a ``current`` link to a folder that is gone (a build
    killed between two renames by an older govlib) or a ``current`` that is a plain folder without a build in it
    (a project copied through zip or to Windows) both fall back to the newest complete build in ``builds/``.
    A plain ``current`` folder that holds a complete build (a copied link) is read as it is.
    """
    processed_dir = Path(processed_dir)
    link = processed_dir / CURRENT
    target = link.resolve()
    if _is_build(target):
        return target
    newest = _newest_build(processed_dir / BUILDS)
    return newest if newest is not None else target


def has_build(processed_dir: str | Path) -> bool:
    return _is_build(current_dir(processed_dir))


def begin_build(processed_dir: str | Path) -> Path:
    """A new, empty staging folder for a build under ``processed_dir/builds``."""
    builds = Path(processed_dir) / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=builds))
    os.chmod(staging, 0o777 & ~_UMASK)
    return staging


def remove_staging(processed_dir: str | Path) -> int:
    """Remove unfinished build folders (``builds/.staging-*``); call only while holding the build lock."""
    import shutil

    builds = Path(processed_dir) / BUILDS
    if not builds.is_dir():
        return 0
    found = [p for p in builds.iterdir() if p.name.startswith(".staging-") and p.is_dir()]
    for p in found:
        shutil.rmtree(p, ignore_errors=True)
    return len(found)


def _free_name(builds: Path, build_id: str) -> Path:
    """``builds/<build_id>``, or ``builds/<build_id>.<k>`` when a folder of that name exists (same inputs)."""
    final = builds / build_id
    k = 2
    while final.exists() or final.is_symlink():
        final = builds / f"{build_id}.{k}"
        k += 1
    return final


def check_current(processed_dir: str | Path) -> None:
    """Before a build: a plain ``current`` folder that holds other files is explained now, not after the stages."""
    processed_dir = Path(processed_dir)
    link = processed_dir / CURRENT
    if link.is_dir() and not link.is_symlink() and not _is_build(link) and any(link.iterdir()):
        _adopt_plain_current(processed_dir, processed_dir / BUILDS)


def _adopt_plain_current(processed_dir: Path, builds: Path) -> None:
    """``current`` is a plain folder (the link was lost in a copy): keep a build in it, else explain.

    A folder holding a complete build (``manifest.json``) is moved into ``builds/`` (it becomes the previous
    build, nothing is deleted); an empty folder is removed; anything else is left alone and reported.
    """
    from ..errors import GovlibError

    link = processed_dir / CURRENT
    if link.is_symlink() or not link.is_dir():
        return
    if _is_build(link):
        os.replace(link, _free_name(builds, "copied-current"))
        return
    if not any(link.iterdir()):
        link.rmdir()
        return
    raise GovlibError(f"{link} is a folder, not the link govlib keeps there (the link is lost when a project is "
                      f"copied through zip or to Windows), and it holds files that are not a complete build "
                      f"(no manifest.json). Move it away and run `govlib build` again.")


def commit_build(processed_dir: str | Path, staging: Path, build_id: str, keep: int = 2) -> Path:
    """Make ``staging`` the current build: rename it to ``builds/<build_id>`` and swap the ``current`` link.

    The switch is one atomic rename of a new link over ``current``; the folder it points at is complete and is
    never renamed or removed afterwards while current (a rebuild with the same inputs goes to
    ``builds/<build_id>.2``), so a reader or a kill at any moment sees the previous build or the new one.
    Older builds beyond the newest ``keep`` are removed, as are staging folders of killed builds.
    """
    import shutil

    from ..errors import GovlibError

    processed_dir = Path(processed_dir)
    builds = processed_dir / BUILDS
    _adopt_plain_current(processed_dir, builds)
    final = _free_name(builds, build_id)
    os.replace(staging, final)
    _fsync_dir(builds)
    tmp_link = processed_dir / f".current-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    try:
        os.symlink(Path(BUILDS) / final.name, tmp_link)
        os.replace(tmp_link, processed_dir / CURRENT)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
        raise GovlibError(f"cannot point {processed_dir / CURRENT} at the new build {final} ({exc.strerror or exc}); "
                          f"the build is complete in {final}, the previous one is still current") from None
    _fsync_dir(processed_dir)
    # Tidy: staging folders of builds that died, and old complete builds (never the one now current).
    for p in builds.iterdir():
        if p.name.startswith((".staging-", ".old-")) and p != final:
            shutil.rmtree(p, ignore_errors=True)
    # only folders that are builds (manifest.json): a file someone put in builds/ is not govlib's to delete
    complete = sorted((p for p in builds.iterdir() if not p.name.startswith(".") and p != final and p.is_dir()
                       and not p.is_symlink() and _is_build(p)),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    for p in complete[max(keep - 1, 0):]:
        shutil.rmtree(p, ignore_errors=True)
    return final


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temporaries(folder: str | Path, keep: tuple[str, ...] = (".gitkeep",)) -> int:
    """Remove temporaries that killed govlib writers left behind; nothing else is ever touched.

    Only files and folders named by :func:`temporary_prefix` (``.govlib-tmp-<pid>-...``) whose process ``<pid>``
    no longer runs are removed: a user's own hidden files (``.env``, ``.notes``) never match. ``keep`` names are
    never removed. Returns how many were removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in (".env", ".govlib-tmp-999999999-a.html.x.tmp", f".govlib-tmp-{os.getpid()}-b.html.y.tmp"):
    ...     _ = (d / name).write_text("x")
    >>> remove_stale_temporaries(d), len(list(d.iterdir())), (d / ".env").exists()
    (1, 2, True)
    """
    import shutil

    removed = 0
    folder = Path(folder)
    if not folder.exists():
        return 0
    for path in sorted(folder.rglob(TEMP_PREFIX + "*"), reverse=True):
        pid = path.name[len(TEMP_PREFIX):].split("-", 1)[0]
        if path.name in keep or not pid.isdigit() or _process_alive(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
