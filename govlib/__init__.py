"""govlib — analytics for a district Social Governance Index (社会治理指数).

The package is built in floors; a floor imports only the floors below it (``tests/test_layout.py`` checks this):

=================  ==========================================================================================
floor              what lives there
=================  ==========================================================================================
base               :mod:`govlib.errors`, :mod:`govlib.periods`, :mod:`govlib.paths`, :mod:`govlib.settings`,
                   :mod:`govlib.parallel`
``data``           reading and validating raw tables, the framework, units, the demo generator, the processed store
``index``          composite index: treatment, normalisation, weights, aggregation, audit, uncertainty, sensitivity
``survey``         design-based estimation, calibration, small-area estimation, Dask reduction
``trend``          trend tests, change points, control charts, progress to target, alert rules
``services``       12345 hotline tickets, doorstep (家门口) services, inequality measures
``pipeline``       ``govlib build``: the stages and the processed store they write
``reports``        papermill runner and executors, views, narrative, charts, HTML, Excel, portal
``cli``            the ``govlib`` command and its subcommands (:mod:`govlib.commands`)
=================  ==========================================================================================

The entry points below are importable from ``govlib`` itself (loaded on first use, so ``import govlib`` stays
fast); everything else from its module.

Examples
--------
>>> import govlib
>>> fw = govlib.framework_from_records([{"code": "I", "parent": None},
...     {"code": "a", "parent": "I", "frequency": "A", "source": "admin"}])
>>> fw.leaves
['a']
>>> govlib.CompositeIndex.__module__
'govlib.index.composite'
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> module that defines it
_ENTRY_POINTS = {
    # data
    "load_settings": "govlib.settings",
    "load_raw": "govlib.data.schema",
    "load_framework": "govlib.data.framework",
    "framework_from_records": "govlib.data.framework",
    "generate_demo_data": "govlib.data.demo",
    "load_processed": "govlib.data.processed",
    "build": "govlib.pipeline.build",
    "validate": "govlib.pipeline.build",
    # composite index
    "CompositeIndex": "govlib.index.composite",
    "compare": "govlib.index.composite",
    "normalise": "govlib.index.normalise",
    "aggregate_tree": "govlib.index.aggregate",
    "ahp_weights": "govlib.index.weights",
    "entropy_weights": "govlib.index.weights",
    "critic_weights": "govlib.index.weights",
    # survey
    "make_design": "govlib.survey.estimate",
    "estimate": "govlib.survey.estimate",
    "rake": "govlib.survey.calibrate",
    "poststratify": "govlib.survey.calibrate",
    "fay_herriot": "govlib.survey.smallarea",
    "as_replicate_design": "govlib.survey.replicate",
    "replicate_design": "govlib.survey.replicate",
    "replicate_estimate": "govlib.survey.replicate",
    # trends and warnings
    "trend_table": "govlib.trend.mannkendall",
    "mann_kendall": "govlib.trend.mannkendall",
    "sens_slope": "govlib.trend.mannkendall",
    "pettitt": "govlib.trend.mannkendall",
    "homogeneity_table": "govlib.trend.homogeneity",
    "arl_cusum": "govlib.trend.control",
    "arl_ewma": "govlib.trend.control",
    "change_points": "govlib.trend.changepoint",
    "progress_to_target": "govlib.trend.progress",
    # reports
    "run_reports": "govlib.reports.runner",
}
_SUBPACKAGES = ("errors", "periods", "paths", "settings", "parallel", "data", "index", "survey", "trend", "services",
                "pipeline", "reports", "commands", "cli")
__all__ = ["__version__", *_ENTRY_POINTS, *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _ENTRY_POINTS:
        value = getattr(importlib.import_module(_ENTRY_POINTS[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'govlib' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
