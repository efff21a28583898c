"""The index recipe: every choice of a :class:`~govlib.index.composite.CompositeIndex` in one YAML document.

A recipe is what an index run needs besides its data: the input files (optional, for the command line) and every
choice of :data:`~govlib.index.composite.DEFAULT_CHOICES`, each written out even where it is the default, so that
a recipe stays the same run when a later govlib changes a default. ``CompositeIndex.to_recipe()`` writes one and
``govlib index --recipe R`` replays it; the flags of ``govlib index`` override a recipe's choices.

Format (version 1)::

    govlib_index_recipe: 1
    inputs:              # optional; paths relative to the recipe file
      framework: framework.yaml
      data: data.csv
      units: units.csv           # optional: level, kind, peer_group
      population: population.csv # optional: denominators (any numeric column)
    choices:
      normalisation: minmax
      outliers: winsorise
      ...

The engine does no file I/O: :func:`recipe_to_yaml` returns text and :func:`parse_recipe` takes the parsed
document; the command line reads and writes the file.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import yaml

from ..errors import InputError

__all__ = ["RECIPE_VERSION", "RECIPE_INPUTS", "recipe_document", "recipe_to_yaml", "parse_recipe"]

RECIPE_VERSION = 1
#: Input files a recipe may name (the command line's --framework, --data, --units, --population, --weights).
RECIPE_INPUTS = ("framework", "data", "units", "population", "weights")


def _plain(value: Any) -> Any:
    """A YAML-safe copy: tuples to lists, numpy scalars to Python, WeightSets to their weights."""
    if hasattr(value, "weights") and hasattr(value, "name"):  # a WeightSet
        value = value.weights
    if hasattr(value, "to_dict") and not isinstance(value, Mapping):  # a pandas Series
        value = value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def recipe_document(choices: Mapping[str, Any], inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The recipe as a plain mapping (every choice written out).

    Examples
    --------
    >>> doc = recipe_document({"normalisation": "zscore", "scale": (0, 1)}, {"data": "d.csv"})
    >>> doc["govlib_index_recipe"], doc["inputs"], doc["choices"]["scale"]
    (1, {'data': 'd.csv'}, [0, 1])
    """
    doc: dict[str, Any] = {"govlib_index_recipe": RECIPE_VERSION}
    given = {k: str(v) for k, v in (inputs or {}).items() if v is not None}
    bad = sorted(set(given) - set(RECIPE_INPUTS))
    if bad:
        raise InputError(f"recipe inputs: unknown {bad}; expected some of {', '.join(RECIPE_INPUTS)}")
    if given:
        doc["inputs"] = given
    doc["choices"] = {k: _plain(v) for k, v in choices.items()}
    return doc


def recipe_to_yaml(choices: Mapping[str, Any], inputs: Mapping[str, Any] | None = None) -> str:
    """The recipe as YAML text (UTF-8, keys in the order of the choices).

    Examples
    --------
    >>> print(recipe_to_yaml({"outliers": "winsorise"}).strip())
    # govlib index recipe: every choice of the run (docs/index.md). Replay: govlib index --recipe <this file>
    govlib_index_recipe: 1
    choices:
      outliers: winsorise
    """
    head = "# govlib index recipe: every choice of the run (docs/index.md). Replay: govlib index --recipe <this file>\n"
    return head + yaml.safe_dump(recipe_document(choices, inputs), allow_unicode=True, sort_keys=False, width=118)


def parse_recipe(doc: Any, known_choices: Mapping[str, Any], source: str = "recipe") -> tuple[dict, dict]:
    """Check a parsed recipe and return ``(inputs, choices)``.

    Unknown keys, an unknown version and wrongly shaped values are refused with the recipe's name and the key.
    Choices left out keep their defaults (the caller merges them).

    Examples
    --------
    >>> parse_recipe({"govlib_index_recipe": 1, "choices": {"ddof": 0}}, {"ddof": 1})
    ({}, {'ddof': 0})
    >>> parse_recipe({"govlib_index_recipe": 1, "choices": {"dof": 0}}, {"ddof": 1})
    Traceback (most recent call last):
    ...
    govlib.errors.InputError: recipe: unknown choice(s) ['dof'] under 'choices'; expected some of ddof
    """
    if not isinstance(doc, Mapping):
        raise InputError(f"{source}: expected a YAML mapping with 'govlib_index_recipe', 'inputs' and 'choices'")
    unknown = sorted(set(doc) - {"govlib_index_recipe", "inputs", "choices"})
    if unknown:
        raise InputError(f"{source}: unknown top-level key(s) {unknown}; expected govlib_index_recipe, inputs, "
                         "choices")
    version = doc.get("govlib_index_recipe")
    if version != RECIPE_VERSION:
        raise InputError(f"{source}: govlib_index_recipe: expected {RECIPE_VERSION}, got {version!r} (is this an "
                         "index recipe written by CompositeIndex.to_recipe or govlib index --write-recipe?)")
    inputs = doc.get("inputs") or {}
    choices = doc.get("choices") or {}
    for key, part in (("inputs", inputs), ("choices", choices)):
        if not isinstance(part, Mapping):
            raise InputError(f"{source}: '{key}' must be a mapping, got {type(part).__name__}")
    bad = sorted(set(inputs) - set(RECIPE_INPUTS))
    if bad:
        raise InputError(f"{source}: unknown input(s) {bad} under 'inputs'; expected some of "
                         f"{', '.join(RECIPE_INPUTS)}")
    bad = sorted(set(choices) - set(known_choices))
    if bad:
        raise InputError(f"{source}: unknown choice(s) {bad} under 'choices'; expected some of "
                         f"{', '.join(known_choices)}")
    out = dict(choices)
    for key in ("scale",):
        if out.get(key) is not None:
            out[key] = tuple(out[key])
    if out.get("exclude") is not None:
        out["exclude"] = tuple(out["exclude"])
    return {k: str(v) for k, v in inputs.items() if v is not None}, out
