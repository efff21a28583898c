"""Subcommands of the govlib CLI, one module each (discovered by govlib.cli), and the argument types they share.

A number outside its range is refused by argparse itself (a clear message and exit status 2) instead of giving a
silently wrong answer (``--alpha 2`` would call nearly every series significant).
"""
from __future__ import annotations

import argparse
import math

__all__ = ["rate", "non_negative"]


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def rate(text: str) -> float:
    """argparse type: a level or rate strictly between 0 and 1 (``--alpha``, ``--conf-level``).

    Examples
    --------
    >>> rate("0.05")
    0.05
    >>> rate("2")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a number between 0 and 1 (e.g. 0.05), got '2'
    """
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (e.g. 0.05), got {text!r}")
    return value


def non_negative(text: str) -> float:
    """argparse type: a number >= 0 (seconds, standard deviations).

    Examples
    --------
    >>> non_negative("1.5")
    1.5
    """
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value
