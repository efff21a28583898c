"""Where work runs beyond one process: a local Dask cluster on loopback and tree-shaped reductions.

Used by the Dask executors of the survey (:mod:`govlib.survey.dask`), the hotline
(:mod:`govlib.services.hotline_stream`) and the reports (:mod:`govlib.reports.executors`). See ``docs/scaling.md``.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from .errors import InputError

__all__ = ["COMBINE_FAN_IN", "start_local_cluster", "local_client", "tree_combine"]

#: How many partial results one combine task adds up (the fan-in of the reduction tree).
COMBINE_FAN_IN = 8


def start_local_cluster(n_workers: int = 2, threads_per_worker: int = 1, memory_limit: str | int = "auto",
                        host: str = "127.0.0.1", **kwargs: Any):
    """Start a ``LocalCluster`` of worker *processes* on loopback, without a dashboard; return ``(cluster, client)``.

    Close both when done (``client.close(); cluster.close()``) or use :func:`local_client`.

    Parameters
    ----------
    n_workers : worker processes (one per core is a good start; reports are CPU-bound and single-threaded).
    threads_per_worker : threads per worker (1: numpy/pandas work and papermill kernels do not share a GIL well).
    memory_limit : per worker (``"auto"`` = total memory / workers); Dask spills and then pauses a worker at it.
    host : listen address; loopback keeps the cluster private to this machine.

    Examples
    --------
    >>> callable(start_local_cluster)
    True
    """
    from distributed import Client, LocalCluster

    if n_workers < 1:
        raise InputError(f"n_workers={n_workers}: expected at least 1")
    kwargs.setdefault("dashboard_address", None)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                           host=host, memory_limit=memory_limit, **kwargs)
    try:
        client = Client(cluster)
    except BaseException:
        cluster.close()
        raise
    return cluster, client


@contextlib.contextmanager
def local_client(n_workers: int = 2, **kwargs: Any) -> Iterator[Any]:
    """Context manager: a ``Client`` on a fresh :func:`start_local_cluster`; both closed on exit.

    Examples
    --------
    >>> callable(local_client)
    True
    """
    cluster, client = start_local_cluster(n_workers, **kwargs)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def tree_combine(parts: list, combine: Callable[[list], Any], fan_in: int = COMBINE_FAN_IN):
    """Combine delayed partial results in a tree of ``fan_in``-way combines (bounded memory per task).

    Examples
    --------
    >>> import dask
    >>> parts = [dask.delayed(n) for n in range(20)]
    >>> dask.compute(tree_combine(parts, sum, fan_in=4))[0]
    190
    """
    import dask

    parts = list(parts)
    if not parts:
        raise InputError("nothing to combine: the data have no partitions")
    combine_d = dask.delayed(combine, pure=True)
    while len(parts) > 1:
        parts = [combine_d(parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]
