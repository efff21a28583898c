"""govlib — analytics for a district Social Governance Index (社会治理指数).

The public API, by topic (each a module; imported on first use so that ``import govlib`` stays fast):

- data: :mod:`govlib.io` (``load_raw``), :mod:`govlib.framework` (``load_framework``), :mod:`govlib.settings`
  (``load_settings``), :mod:`govlib.units`, :mod:`govlib.demo` (``generate_demo_data``),
  :mod:`govlib.processed` (``load_processed``), :mod:`govlib.pipeline` (``build``)
- composite index: :mod:`govlib.normalise`, :mod:`govlib.weights`, :mod:`govlib.aggregate`, :mod:`govlib.treat`,
  :mod:`govlib.index` (``CompositeIndex``, ``compare``), :mod:`govlib.audit`, :mod:`govlib.uncertainty`,
  :mod:`govlib.sensitivity`
- survey: :mod:`govlib.survey` (``make_design``, ``estimate``), :mod:`govlib.calibrate`, :mod:`govlib.smallarea`
- trends and warnings: :mod:`govlib.trend`, :mod:`govlib.changepoint`, :mod:`govlib.control`,
  :mod:`govlib.progress`, :mod:`govlib.alerts`
- services: :mod:`govlib.hotline`, :mod:`govlib.doorstep`, :mod:`govlib.inequality`
- output: :mod:`govlib.plots`, :mod:`govlib.reports`, :mod:`govlib.excel`, :mod:`govlib.portal`
- scale-out: :mod:`govlib.distributed`, :mod:`govlib.partitioned`

Examples
--------
>>> import govlib
>>> fw = govlib.framework.framework_from_records([{"code": "I", "parent": None},
...     {"code": "a", "parent": "I", "frequency": "A", "source": "admin"}])
>>> fw.leaves
['a']
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "aggregate", "alerts", "audit", "calibrate", "changepoint", "control", "demo", "distributed", "doorstep",
    "errors", "excel", "fonts", "framework", "hotline", "html", "index", "inequality", "io", "narrative",
    "normalise", "partitioned", "paths", "periods", "pipeline", "plots", "portal", "processed", "progress",
    "reports", "sensitivity", "settings", "smallarea", "store", "survey", "tabular", "treat", "trend",
    "uncertainty", "units", "views", "weights",
)
__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'govlib' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
