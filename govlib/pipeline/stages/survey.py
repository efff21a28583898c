"""Build stage ``survey``: resident-survey microdata -> D6 observations with SE, survey_estimates, survey_sae.

Inputs (``tables``): ``survey_responses``, ``survey_items``, ``units``, ``population_structure`` (docs/data.md).

Design: each wave is an independent sample, so strata are wave x ``stratum`` (街镇) and PSUs wave x ``psu``
(community); the second stage (respondents) enters the variance when both fpc columns are present, as R's
``svydesign(id=~psu+respondent_id, strata=~stratum, fpc=~fpc1+fpc2)``. Weights are raked per wave to the adult
population by 街镇 x age group and 街镇 x sex (``population_structure`` of the wave's year), then optionally
trimmed.

Outputs:

- ``observations_survey``: ``unit`` (街镇 code), ``period`` (wave), ``indicator`` (items table), ``value``
  (mean 0-100 score), ``se``, ``flag`` (``""`` or ``"suppressed"``), ``source="survey"``.
- ``survey_estimates``: ``level`` (``district``/``jiezhen``/``community``), ``unit``, ``period``, ``item``,
  ``indicator``, ``measure`` (``score``, ``top2``, ``net``), ``estimate``, ``se``, ``ci_low``, ``ci_high``,
  ``n``, ``n_eff``, ``deff``, ``cv``, ``flag`` (``release``/``caution``/``suppress``/``psu_domain``). The
  composite score (``item="composite"``, indicator ``D6``) is the weighted mean of the item scores.
- ``survey_sae``: per community x wave x item (score): ``direct``, ``direct_se``, ``direct_flag``, ``eblup``,
  ``eblup_se`` (root MSE), ``gamma``, ``flag`` (of the EBLUP, by its CV), ``recommended``
  (``direct`` or ``eblup``). Fay-Herriot with the community's 街镇 as covariate, one fit per wave x item.

Settings (section ``survey``; missing keys take these defaults):

==================  ==================  ==============================================================
key                 default             meaning
==================  ==================  ==============================================================
strata              ``stratum``         stratum column (crossed with wave)
psu                 ``psu``             first-stage cluster (crossed with wave)
ssu                 ``respondent_id``   second-stage unit (used when ``fpc`` has two columns)
weight              ``weight``          sampling weight column
fpc                 [fpc1, fpc2]        fpc columns per stage ([] for none)
fpc_kind            ``population``      ``population`` or ``fraction``
lonely_psu          ``fail``            ``fail``, ``remove``, ``certainty``, ``adjust``, ``average``
calibration         ``rake``            ``rake``, ``poststratify`` (街镇 x age x sex) or ``none``
trim_lower          null                lower weight bound after calibration (null: none)
trim_upper          null                upper weight bound after calibration (null: none)
confidence_level    0.95                CI level
ci                  ``t``               ``t`` (design df) or ``normal``
cv_release          0.165               flags (Statistics Canada defaults)
cv_suppress         0.333
min_n               30
min_n_eff           30
measures            [score, top2, net]  measures in survey_estimates (observations use ``score``)
composite_weights   {}                  item -> weight for the composite (empty: equal weights)
community_level     true                community x wave estimates (score only) and the SAE table
sae                 true                Fay-Herriot for communities
==================  ==================  ==============================================================

All SEs after calibration are R's (calibration residuals, :mod:`govlib.survey.calibrate`), at every level.

Streaming: the design (its degrees of freedom: #PSUs - #strata of all waves), the raking and the trimming are made
once for all respondents (a few arrays of one number per respondent); the scores, linearised values and variance
algebra then run whole waves at a time (:data:`WAVE_CHUNK_ROWS`, :meth:`~govlib.survey.design.SurveyDesign.subset`):
every stratum, PSU, calibration cell and domain lies within a wave, so each chunk's estimates are the whole
design's, and the stage's memory beyond its input is one chunk's (full demo: 1.23M respondents in 32 waves).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits
import pandas as pd

from ...survey.calibrate import poststratify, rake, trim_weights
from ...errors import InputError
from ...settings import read_section, section_defaults
from ...survey.smallarea import fay_herriot
from ...survey.estimate import estimate, make_design, reliability_flags, score_items

__all__ = ["run", "DEFAULTS", "REQUIRES", "read_settings"]

#: The pipeline skips the stage when these tables are absent (no survey microdata).
REQUIRES = ("survey_responses", "survey_items")

#: The ``survey`` section's defaults (declared in :data:`govlib.settings.SCHEMA`).
DEFAULTS: dict[str, Any] = section_defaults("survey")


def read_settings(settings) -> dict[str, Any]:
    """The ``survey`` section merged over :data:`DEFAULTS` and checked (:func:`govlib.settings.read_section`).

    Examples
    --------
    >>> read_settings(None)["lonely_psu"]
    'fail'
    """
    return read_section(settings, "survey")


def _text(s: pd.Series) -> pd.Categorical:
    """``s.astype(str)`` coded as a categorical: the same strings, but hashing, grouping and fingerprinting a
    million respondents' codes costs a pass over integers, not over strings."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    labels = pd.Index(np.asarray(uniques, dtype=object)).astype(str)
    if not labels.is_unique:  # e.g. 1 and "1": keep astype(str)'s meaning
        return pd.Categorical(s.astype(str).to_numpy())
    return pd.Categorical.from_codes(codes, categories=labels)


def _joined(a: pd.Categorical, b: pd.Categorical) -> pd.Categorical:
    """``a + "|" + b`` of two coded columns, coded (strata and PSUs are crossed with the wave)."""
    nb = len(b.categories)
    codes, uniques = pd.factorize(a.codes.astype(np.int64) * nb + b.codes)
    ca, cb = np.asarray(a.categories, dtype=object), np.asarray(b.categories, dtype=object)
    return pd.Categorical.from_codes(codes, categories=[f"{ca[u // nb]}|{cb[u % nb]}" for u in uniques])


def _item_answers(resp: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """The item columns of the responses (an item the responses lack is named by :func:`score_items`)."""
    names = list(dict.fromkeys(items["item"]))
    if not all(name in resp.columns for name in names):
        score_items(resp, items)
    return resp[names]


def _scores(part: pd.DataFrame, resp: pd.DataFrame, items: pd.DataFrame, measure: str) -> pd.DataFrame:
    """:func:`score_items` of a chunk; a bad code is reported from the whole table (one error names every bad
    code and its count, not just this chunk's)."""
    try:
        return score_items(part, items, measure=measure)
    except InputError:
        score_items(resp, items, measure=measure)
        raise


def _rows(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, Any]:
    """Some rows of the stage's frame, column by column; a coded column keeps only the categories it uses (the
    design's fingerprint hashes every category of a coded column, and a chunk has one wave's PSUs)."""
    out: dict[str, Any] = {}
    for c in frame.columns:
        v = frame[c].array
        if isinstance(v, pd.Categorical):
            codes = v.codes[rows]
            used = np.flatnonzero(np.bincount(codes, minlength=len(v.categories)))  # in category order
            new = np.full(len(v.categories), -1, dtype=np.int64)
            new[used] = np.arange(len(used))
            out[c] = pd.Categorical.from_codes(new[codes], categories=v.categories[used])
        else:
            out[c] = np.asarray(v)[rows]
    return out


def _year(wave: pd.Series) -> pd.Series:
    return wave.astype(str).str.slice(0, 4).astype(int)


def _calibrate(design, frame: pd.DataFrame, population: pd.DataFrame, cfg: dict):
    if cfg["calibration"] == "none":
        return design
    pop = population.copy()
    pop["code"] = pop["code"].astype(str)
    pop["year"] = pd.to_numeric(pop["year"], errors="coerce").astype("Int64").astype(float)
    pop["sex"] = pop["sex"].astype(str)
    pop["age_group"] = pop["age_group"].astype(str)
    waves = pd.DataFrame({"_wave": np.asarray(frame["_wave"].unique(), dtype=object).astype(str)})
    waves["year"] = _year(waves["_wave"]).astype(float)
    pop = waves.merge(pop, on="year", how="inner")
    pop = pop.rename(columns={"code": "_stratum"})
    keys = ["_wave", "_stratum"]
    # margins only for the 街镇 x waves that were surveyed
    present = frame[keys].drop_duplicates().astype(str)
    pop = pop.merge(present, on=keys, how="inner")
    if cfg["calibration"] == "poststratify":
        cells = keys + ["sex", "age_group"]
        table = pop.groupby(cells, as_index=False, observed=True)["residents"].sum()
        return poststratify(design, frame, cells, table)
    m1 = keys + ["age_group"]
    m2 = keys + ["sex"]
    t1 = pop.groupby(m1, as_index=False, observed=True)["residents"].sum()
    t2 = pop.groupby(m2, as_index=False, observed=True)["residents"].sum()
    return rake(design, frame, [m1, m2], [t1, t2])


def run(tables: dict[str, pd.DataFrame], settings) -> dict[str, pd.DataFrame]:
    """Survey stage: design, calibration, domain estimates, flags, D6 observations and small-area estimates.

    Examples
    --------
    >>> from govlib.settings import load_settings
    >>> rng = np.random.default_rng(0)
    >>> n = 400
    >>> resp = pd.DataFrame({"respondent_id": np.arange(n), "wave": "2024", "stratum": "310115004000",
    ...     "psu": np.repeat([f"c{i}" for i in range(8)], 50), "weight": 10.0, "fpc1": 8, "fpc2": 500,
    ...     "sex": rng.choice(["M", "F"], n), "age_group": rng.choice(["18-34", "65+"], n),
    ...     "q1": rng.integers(1, 6, n)})
    >>> resp["unit"] = resp["psu"]
    >>> items = pd.DataFrame({"item": ["q1"], "indicator": ["D6.1"], "scale_min": [1], "scale_max": [5],
    ...                       "missing_codes": ["9"]})
    >>> out = run({"survey_responses": resp, "survey_items": items, "units": pd.DataFrame(),
    ...            "population_structure": pd.DataFrame()},
    ...           load_settings().with_overrides(survey={"calibration": "none", "sae": False}))
    >>> out["observations_survey"][["unit", "period", "indicator"]].values.tolist()
    [['310115004000', '2024', 'D6.1']]
    """
    # Small matrix products (raking cross-tables, Fay-Herriot fits of ~40 columns): BLAS threads only spin against
    # each other and against a busy neighbour's processes (seen: 2 s became 220 s), so use one.
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(tables, settings)


def _run(tables: dict[str, pd.DataFrame], settings) -> dict[str, pd.DataFrame]:
    cfg = read_settings(settings)
    for name in ("survey_responses", "survey_items"):
        if name not in tables:
            raise InputError(f"survey stage needs the table '{name}'")
    resp = tables["survey_responses"].reset_index(drop=True)
    items = tables["survey_items"].reset_index(drop=True)
    item_names = items["item"].astype(str).tolist()
    indicator_of = dict(zip(item_names, items["indicator"].astype(str)))

    frame = pd.DataFrame({
        "_wave": _text(resp["wave"]),
        "_stratum": _text(resp[cfg["strata"]]),
        "_psu": _text(resp[cfg["psu"]]),
        "_unit": _text(resp["unit"]),
    })
    frame["_wstratum"] = _joined(frame["_wave"].array, frame["_stratum"].array)
    frame["_wpsu"] = _joined(frame["_wave"].array, frame["_psu"].array)
    for c in ("sex", "age_group"):
        if c in resp.columns:
            frame[c] = _text(resp[c])
    fpc = list(cfg["fpc"] or [])
    if "fpc" not in (settings.section("survey") if settings is not None else {}) \
            and not any(c in resp.columns for c in fpc):
        fpc = []  # the documented default, and the data have no fpc columns (they are optional in the schema)
    clusters = ["_wpsu"]
    if len(fpc) == 2:
        frame["_ssu"] = resp[cfg["ssu"]].to_numpy()
        clusters.append("_ssu")
    for c in fpc:
        frame[c] = resp[c].to_numpy()
    frame[cfg["weight"]] = resp[cfg["weight"]].to_numpy()
    design = make_design(frame, weight=cfg["weight"], strata="_wstratum", clusters=clusters, fpc=fpc or None,
                         fpc_kind=cfg["fpc_kind"], lonely_psu=cfg["lonely_psu"])
    if cfg["calibration"] != "none":
        if tables.get("population_structure") is None:
            raise InputError(f"settings survey.calibration={cfg['calibration']!r} needs the table "
                             f"'population_structure' (adults by 街镇, year, sex, age group); add it or set "
                             f"survey.calibration: none")
        design = _calibrate(design, frame, tables["population_structure"], cfg)
    if cfg["trim_lower"] is not None or cfg["trim_upper"] is not None:
        lo = -np.inf if cfg["trim_lower"] is None else float(cfg["trim_lower"])
        hi = np.inf if cfg["trim_upper"] is None else float(cfg["trim_upper"])
        trimmed = trim_weights(design, lower=lo, upper=hi)
        design = trimmed.with_weights(trimmed.weight, design.calibration)

    weights = cfg["composite_weights"] or {i: 1.0 for i in item_names}
    total_w = float(sum(weights.values()))
    composite = {"composite": {i: float(a) / total_w for i, a in weights.items()}}
    rules = {k: cfg[k] for k in ("cv_release", "cv_suppress", "min_n", "min_n_eff")}
    est_args = dict(level=float(cfg["confidence_level"]), ci=cfg["ci"], empty="nan")
    levels = [("district", None), ("jiezhen", "_stratum")]
    if cfg["community_level"]:
        levels.append(("community", "_unit"))
    # a community domain that is a single PSU has no design SE unless the second stage enters the variance
    psus_per_unit = frame.groupby(["_wave", "_unit"], observed=True)["_wpsu"].nunique()
    single_psu_units = set(psus_per_unit[psus_per_unit == 1].index) if not design.two_stage else set()

    variables = [f"_{measure}__{i}" for measure in cfg["measures"] for i in item_names]
    comp = {"_score__composite": {f"_score__{i}": a for i, a in composite["composite"].items()}} \
        if "score" in cfg["measures"] else None
    if comp:  # the composite's design effect: that of each respondent's composite score (issue 14)
        variables.append(COMPOSITE_ROWS)
    answers = _item_answers(resp, items)
    per_level: dict[str, list[pd.DataFrame]] = {level: [] for level, _ in levels}
    for rows in wave_chunks(frame["_wave"], WAVE_CHUNK_ROWS):
        # Whole waves at a time: every stratum, PSU, calibration cell and domain lies within a wave, and the
        # design's subset keeps the whole design's structure and degrees of freedom, so every estimate equals the
        # whole design's while only these waves' scores and linearised values are held.
        part = answers.iloc[rows].reset_index(drop=True)
        columns = _rows(frame, rows)
        for measure in cfg["measures"]:
            scores = _scores(part, resp, items, measure)
            columns.update({f"_{measure}__{c}": scores[c].to_numpy() for c in scores.columns})
        data = pd.DataFrame(columns)
        if comp:
            data[COMPOSITE_ROWS] = _composite_rows(data, comp["_score__composite"])
        part_design = design.subset(rows, data)
        for level, col in levels:
            by = ["_wave"] + ([col] if col else [])
            # Communities get the 0-100 score only (what the profiles and small-area estimation use): top-2-box
            # and net shares of ~30 respondents are mostly suppressed anyway, and each measure costs a variance
            # pass.
            wanted = [v for v in variables if level != "community" or v.startswith("_score__")]
            with np.errstate(invalid="ignore", divide="ignore"):  # an all-missing item is NaN (empty="nan")
                e = estimate(part_design, data, wanted, by=by, stat="mean", composite=comp, **est_args)
            per_level[level].append(_composite_design_effect(e))
        del data, columns, part, part_design
    parts = []
    for level, col in levels:
        e = pd.concat(per_level.pop(level), ignore_index=True)
        e["level"] = level
        e["unit"] = e[col] if col else "district"
        e["period"] = e["_wave"]
        code, names = pd.factorize(e["variable"])  # split the few distinct names, not every row's
        split = pd.Series(names).str.slice(1).str.split("__", n=1, regex=False)
        e["measure"] = pd.Series(split.str[0].to_numpy()[code], index=e.index, dtype=object)
        e["item"] = pd.Series(split.str[1].to_numpy()[code], index=e.index, dtype=object)
        e["indicator"] = e["item"].map(indicator_of).fillna("D6")
        psu_dom = np.zeros(len(e), bool)
        if level == "community" and single_psu_units:
            psu_dom = np.array([(w, u) in single_psu_units for w, u in zip(e["_wave"], e["unit"])])
        e["flag"] = reliability_flags(e, psu_domain=psu_dom, **rules).to_numpy()
        parts.append(e)
    cols = ["level", "unit", "period", "item", "indicator", "measure", "estimate", "se", "ci_low", "ci_high", "n",
            "n_eff", "deff", "cv", "flag"]
    estimates = pd.concat(parts, ignore_index=True)[cols]
    units = tables.get("units")
    district = None
    if units is not None and len(units) and "level" in units.columns:
        d = units.loc[units["level"] == "district", "code"]
        district = str(d.iloc[0]) if len(d) else None
    if district:
        estimates.loc[estimates["level"] == "district", "unit"] = district

    jz = estimates[(estimates["level"] == "jiezhen") & (estimates["measure"] == "score")
                   & (estimates["item"] != "composite")]
    observations = pd.DataFrame({
        "unit": jz["unit"].to_numpy(), "period": jz["period"].to_numpy(), "indicator": jz["indicator"].to_numpy(),
        "value": jz["estimate"].to_numpy(), "se": jz["se"].to_numpy(),
        "flag": np.where(jz["flag"].isin(["suppress", "psu_domain"]), "suppressed", ""),
        "source": "survey",
    })
    sae = _small_area(estimates, frame, resp, items, cfg, rules) if (cfg["sae"] and cfg["community_level"]) \
        else pd.DataFrame(columns=["unit", "jiezhen", "period", "item", "indicator", "direct", "direct_se",
                                   "direct_flag", "eblup", "eblup_se", "gamma", "flag", "recommended"])
    return {"observations_survey": observations, "survey_estimates": estimates, "survey_sae": sae}


COMPOSITE_ROWS = "_score__composite_rows"

#: Waves are estimated together until they hold about this many respondents: the stage's memory is that of such
#: a chunk (scores, linearised values). Fewer, larger chunks spread the per-call overhead, but their (rows x
#: variables) temporaries outgrow the allocator's reuse and every one is page-faulted afresh: measured on the
#: full demo (one wave ~38k respondents), 50k rows a chunk took less CPU than 100k or 250k.
WAVE_CHUNK_ROWS = 50_000


def wave_chunks(wave: pd.Series, chunk_rows: int) -> list[np.ndarray]:
    """Row numbers of consecutive whole waves (in sorted order), about ``chunk_rows`` respondents a chunk.

    A wave larger than ``chunk_rows`` is a chunk of its own; the chunks' rows, concatenated, list every row once.

    Examples
    --------
    >>> [c.tolist() for c in wave_chunks(pd.Series(["b", "a", "b", "c", "a"]), 3)]
    [[1, 4], [0, 2, 3]]
    """
    code, _ = pd.factorize(wave, sort=True)
    sizes = np.bincount(code)
    chunk_of_wave = pd.factorize(np.cumsum(sizes) // max(int(chunk_rows), 1))[0]
    chunk = chunk_of_wave[code]
    order = np.argsort(chunk, kind="stable")
    return np.split(order, np.cumsum(np.bincount(chunk))[:-1])


def _composite_rows(data: pd.DataFrame, coefs: dict[str, float]) -> np.ndarray:
    """Each respondent's composite score: the coefficient-weighted mean of the items they answered."""
    y = data[list(coefs)].to_numpy(dtype=float)
    a = np.array(list(coefs.values()), dtype=float)
    answered = ~np.isnan(y)
    den = (answered * a).sum(axis=1)
    num = np.where(answered, y, 0.0) @ a
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _composite_design_effect(e: pd.DataFrame) -> pd.DataFrame:
    """Give the composite rows the ``deff`` of the respondent-level composite score and ``n_eff = n / deff``.

    The composite is a linear combination of domain means, so the linearisation gives its SE but no SRS variance
    to compare with; without a deff its ``n_eff`` was NaN and every composite was flagged ``suppress``.
    """
    helper = (e["variable"] == COMPOSITE_ROWS).to_numpy()
    if not helper.any():
        return e
    # estimate() lays out one row per domain and variable, domain by domain: the helper's rows and the
    # composite's rows are the same domains in the same order
    target = (e["variable"] == "_score__composite").to_numpy()
    got = e["deff"].to_numpy(dtype=float)[helper]
    deff = e["deff"].to_numpy(dtype=float).copy()
    n_eff = e["n_eff"].to_numpy(dtype=float).copy()
    deff[target] = got
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff[target] = e["n"].to_numpy(dtype=float)[target] / got
    e["deff"] = deff
    e["n_eff"] = n_eff
    return e.loc[~helper].reset_index(drop=True)


def _small_area(estimates: pd.DataFrame, frame: pd.DataFrame, resp: pd.DataFrame, items: pd.DataFrame,
                cfg: dict, rules: dict) -> pd.DataFrame:
    """Fay-Herriot per wave x item over communities, the community's 街镇 as a factor covariate."""
    com = estimates[(estimates["level"] == "community") & (estimates["measure"] == "score")
                    & (estimates["item"] != "composite")].copy()
    parent = frame.drop_duplicates("_unit").set_index("_unit")["_stratum"].astype(str)
    parent.index = parent.index.astype(str)
    com["jiezhen"] = com["unit"].map(parent)
    # a domain without a design SE (single PSU, no second stage) gets the within-community SRS variance
    var = com["se"].to_numpy() ** 2
    no_se = ~(var > 0)
    if no_se.any():
        srs = com["estimate"].to_numpy()  # placeholder replaced below
        scores = score_items(resp, items, measure="score")
        long = pd.DataFrame({"_wave": frame["_wave"].astype(str), "_unit": frame["_unit"].astype(str)}).join(scores)
        melted = long.melt(id_vars=["_wave", "_unit"], var_name="item", value_name="y").dropna()
        g = melted.groupby(["_wave", "_unit", "item"])["y"]
        s2n = (g.var(ddof=1) / g.count()).rename("s2n").reset_index()
        merged = com[["period", "unit", "item"]].merge(
            s2n.rename(columns={"_wave": "period", "_unit": "unit"}), on=["period", "unit", "item"], how="left")
        srs = merged["s2n"].to_numpy()
        var = np.where(no_se, srs, var)
    com["vardir"] = var
    com = com[com["estimate"].notna() & (com["vardir"] > 0) & np.isfinite(com["vardir"])]
    com = com.sort_values(["period", "item", "unit"], kind="stable").reset_index(drop=True)
    group = com.groupby(["period", "item"], sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(com)]
    direct = com["estimate"].to_numpy(float)
    vardir = com["vardir"].to_numpy(float)
    jz_codes = pd.factorize(com["jiezhen"])[0]
    eblup = direct.copy()
    mse = vardir.copy()
    gamma = np.ones(len(com))
    for a, b in zip(starts, ends):  # one Fay-Herriot fit per wave x item (tens of fits, not per domain)
        codes = jz_codes[a:b]
        if b - a <= len(np.unique(codes)):  # intercept + 街镇 factor: as many coefficients as 街镇
            continue
        fit = fay_herriot(direct[a:b], vardir[a:b], groups=codes)  # by group sums: O(areas) per step
        eblup[a:b] = fit.table["eblup"].to_numpy()
        mse[a:b] = fit.table["mse"].to_numpy()
        gamma[a:b] = fit.table["gamma"].to_numpy()
    res = com[["unit", "jiezhen", "period", "item", "indicator"]].copy()
    res["direct"] = direct
    res["direct_se"] = com["se"].to_numpy()
    res["direct_flag"] = com["flag"].to_numpy()
    res["eblup"] = eblup
    res["eblup_se"] = np.sqrt(mse)
    res["gamma"] = gamma
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = res["eblup_se"].to_numpy() / np.abs(eblup)
    res["flag"] = np.where(cv <= rules["cv_release"], "release",
                           np.where(cv <= rules["cv_suppress"], "caution", "suppress"))
    res["recommended"] = np.where(res["direct_flag"] == "release", "direct", "eblup")
    return res
