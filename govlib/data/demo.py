"""Synthetic demo data with known ground truth, in the raw-table schema of ``docs/data.md``.

**Everything generated here is synthetic.** The numbers are calibrated on the public figures in DOMAIN.md §3
(population, income, GPs, hotline volume and mix, doorstep catalogue) but describe no real place or person.

Structure (so that analyses have something to find):

- A latent governance level per 街镇 (``g``) with six correlated dimension components (``D1``-``D6``); most
  indicators load strongly on their dimension, a few only weakly (D1.3, D2.8, D3.4, D5.6), as real ones do.
- 街道 differ from towns: higher income, older population, more hotline requests per resident.
- Populations by community (synthetic), adding up to 街镇 totals (街道 80k-250k, towns 30k-450k; about 5.6
  million in the 36 街镇 in 2020, the census says 5.68 million for Pudong); modest growth, faster in towns.
- Admin indicators (``observations``: the ``source: admin`` indicators only; survey-, hotline- and service-based
  indicators are derived by the build stages from the microdata generated here) are *stationary* around each
  街镇's level apart from the planted events and a few district-wide movements that are listed in the ground
  truth with unit ``310115000000`` (income growth, GP density, family-doctor coverage, ageing, the July 2019
  waste-sorting regulation).
- Ground truth (``ground_truth``): linear trends, step changes, one-off shocks and data-entry errors (×10 or a
  misplaced decimal) in chosen 街镇 × indicator series; satisfaction drops in some communities (survey); a
  community that loses bottom-line doorstep items and one whose station usage falls.

Sizes: ``"full"`` is the whole district (36 街镇, 1,275 communities; ~1.2 million survey respondents; ~2 million
hotline tickets a year). ``"small"`` keeps 4 街镇 (2 街道, 2 towns) with at most 25 communities each and scales
every population by :data:`SMALL_POPULATION_SCALE` so that event-level tables stay small; rates per resident are
unchanged, so derived indicators stay in their demo ranges.

Ground truth (``ground_truth`` table), one row per planted event; ``unit`` is a 街镇 code, a community code, or
``310115000000`` for a district-wide movement present in every 街镇's series:

============================  =====================================================================================
kind                          meaning of ``start_period``/``end_period`` and ``magnitude``
============================  =====================================================================================
``trend``                     a linear trend added from ``start_period``; magnitude = change per year (indicator
                              units); ``magnitude_sd`` = magnitude / the series' noise SD
``step``                      a level shift from ``start_period`` on; magnitude = the shift
``shock``                     a one-off deviation in ``start_period`` only; magnitude = the deviation
``outlier``                   a data-entry error in the row (unit, ``start_period``, indicator) of ``observations``;
                              magnitude = the factor (10: typed ×10; 0.1: misplaced decimal point)
``survey_drop``               a community's item score (0-100) falls by magnitude points from wave ``start_period``
``doorstep_menu_loss``        a community stops offering bottom-line items from ``start_period`` (month); magnitude
                              = change in the number of items; the item ids are listed in ``description``
``doorstep_usage_drop``       services delivered in a community fall from ``start_period``; magnitude = relative
                              change (-0.65: down 65%)
``survey_drop_jiezhen``       every community of a 街镇 falls by magnitude points (0-100) on one item from wave
                              ``start_period``
``hotline_surge``             one month (``start_period``) of extra 12345 tickets in one category of a 街镇 (named in
                              ``description``); indicator D4.1; magnitude = relative increase (>= 0.5, >= 30 tickets)
============================  =====================================================================================

In ``doorstep_menus``, ``to_period`` is the last month an item was offered (inclusive); empty means still offered.

This module does no writing: :func:`generate_demo_data` returns the tables; ``govlib demo-data`` writes them.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from .. import __version__
from ..errors import InputError, one_of
from ..paths import package_data
from .units import DISTRICT_CODE, jiezhen_table, units_table

__all__ = [
    "DEFAULT_SEED", "YEARS", "QUARTERS", "MONTHS", "DEMO_RANGES", "SCOPED_RANGES", "SMALL_POPULATION_SCALE", "TABLE_NAMES",
    "DOORSTEP_CATEGORIES", "DOORSTEP_TIERS", "default_framework", "generate_demo_data", "dataset_info",
]

DEFAULT_SEED = 20180507
YEARS = [str(y) for y in range(2018, 2026)]
QUARTERS = [f"{y}Q{q}" for y in YEARS for q in range(1, 5)]
MONTHS = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
SMALL_POPULATION_SCALE = 0.1
AGE_GROUPS = ["18-34", "35-49", "50-64", "65+"]

TABLE_NAMES = [
    "units", "population", "population_structure", "observations", "survey_responses", "survey_items",
    "hotline_tickets", "doorstep_catalogue", "doorstep_stations", "doorstep_menus", "doorstep_records",
    "doorstep_evaluations", "ground_truth",
]
TABLE_NAMES += ["conformity_standard", "conformity_inspections", "doorstep_projects"]  # 家门口 conformity (#18)

# Demo ranges per 街镇-year (DOMAIN.md §4). D3.1 is a per-year rate reported quarterly (quarters sum to it).
DEMO_RANGES: dict[str, tuple[float, float]] = {
    "D1.1": (60, 100), "D1.2": (70, 98), "D1.3": (5, 60), "D1.4": (12, 30),
    "D2.1": (45000, 110000), "D2.2": (0.25, 0.60), "D2.3": (30, 60), "D2.4": (15, 35), "D2.5": (15, 45),
    "D2.6": (60, 100), "D2.7": (70, 100), "D2.8": (60, 95), "D2.9": (90, 100),
    "D3.1": (5, 40), "D3.2": (90, 99), "D3.3": (2, 15), "D3.4": (0, 15), "D3.5": (90, 100),
    "D4.1": (2000, 6000), "D4.2": (85, 99), "D4.3": (75, 95), "D4.4": (60, 99), "D4.5": (80, 100),
    "D4.6": (0, 40), "D4.7": (70, 100),
    "D5.1": (95, 100), "D5.2": (100, 147), "D5.3": (50, 90), "D5.4": (2, 24), "D5.5": (800, 2500),
    "D5.6": (2, 12), "D5.7": (5, 30), "D5.8": (80, 100),
    "D6.1": (70, 92), "D6.2": (68, 90), "D6.3": (68, 90), "D6.4": (75, 95), "D6.5": (65, 90), "D6.6": (75, 95),
    "D6.7": (55, 85), "D6.8": (72, 92),
}
# Ranges that differ between 街道 and towns.
SCOPED_RANGES = {"D2.1": {"街道": (75000, 110000), "镇": (45000, 90000)},
                 "D2.4": {"街道": (22, 35), "镇": (15, 30)}}

# Loadings of admin indicators on their dimension component (default 0.8): a few correlate only weakly.
_LOADING = {"D1.3": 0.2, "D2.8": 0.15, "D3.4": 0.2, "D5.6": 0.3}
_COUNT_INDICATORS = {"D1.3", "D3.4", "D4.6"}
# Indicators whose series may carry planted trend/step/shock/outlier events (continuous, no district-wide drift).
_EVENT_INDICATORS = ["D1.1", "D1.2", "D1.4", "D2.5", "D2.6", "D2.7", "D2.8", "D5.5", "D5.6", "D5.7",
                     "D3.2", "D4.4", "D3.1"]
_DECIMALS = {"D2.1": 0, "D2.2": 3, "D1.3": 0, "D3.4": 0, "D4.6": 0, "D3.1": 2, "D5.5": 0}

DOORSTEP_CATEGORIES = [  # (key, name_zh, name_en, number of items)
    ("party", "党群服务", "Party and public services", 18),
    ("government", "政务服务", "Government affairs", 30),
    ("daily_life", "生活服务", "Daily-life services", 28),
    ("legal", "法律服务", "Legal services", 12),
    ("health", "健康服务", "Health services", 22),
    ("culture", "文化服务", "Cultural services", 17),
    ("community", "社区管理服务", "Community management services", 20),
]
DOORSTEP_TIERS = {"bottom_line": 38, "basic": 84, "quality": 25}
_DEPARTMENTS = [  # 26 synthetic department labels (generic district bureau names)
    "区委组织部", "区委宣传部", "区委政法委", "区民政局", "区人力资源和社会保障局", "区卫生健康委员会",
    "区医疗保障局", "区司法局", "区公安分局", "区文化体育和旅游局", "区教育局", "区退役军人事务局",
    "区市场监督管理局", "区住房和城乡建设管理委员会", "区生态环境局", "区城市管理行政执法局", "区规划和自然资源局",
    "区应急管理局", "区残疾人联合会", "区总工会", "团区委", "区妇女联合会", "区税务局", "区科技和经济委员会",
    "区农业农村委员会", "区城运中心",
]
_CATEGORY_DEPARTMENTS = {
    "party": [0, 1, 19, 20, 21], "government": [3, 4, 6, 11, 12, 22, 16], "daily_life": [3, 13, 15, 23, 14],
    "legal": [2, 7, 8], "health": [5, 6, 18], "culture": [9, 10, 1], "community": [25, 17, 15, 24, 13],
}
_SURVEY_ITEMS = [  # item, indicator, label_zh, label_en
    ("q1", "D6.1", "您对日常生活便利程度的满意度", "How satisfied are you with the convenience of everyday life?"),
    ("q2", "D6.2", "您对社会保障的满意度", "How satisfied are you with social security?"),
    ("q3", "D6.3", "您对医疗卫生服务的满意度", "How satisfied are you with health services?"),
    ("q4", "D6.4", "您对社会治安的满意度", "How satisfied are you with public safety?"),
    ("q5", "D6.5", "您对居住环境的满意度", "How satisfied are you with your living environment?"),
    ("q6", "D6.6", "您对家门口服务的满意度", "How satisfied are you with the doorstep services?"),
    ("q7", "D6.7", "您对社区事务的了解和参与程度", "How well do you know and take part in community affairs?"),
    ("q8", "D6.8", "总体而言，您对本社区治理的满意度", "Overall, how satisfied are you with how your community is run?"),
]
_HOTLINE_CATEGORIES = ["consultation", "help", "complaint", "suggestion", "other"]
_HOTLINE_MIX = np.array([0.286, 0.228, 0.118, 0.07, 0.298])
_HOTLINE_WORKING_DAYS = np.array([1, 5, 7, 15, 5])


@lru_cache(maxsize=1)
def _framework_cached() -> dict:
    with open(package_data("framework_sgi.yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def default_framework() -> dict:
    """The packaged illustrative framework (``govlib/data/framework_sgi.yaml``) as a parsed dict (a copy).

    Examples
    --------
    >>> fw = default_framework()
    >>> sum(1 for n in fw["nodes"] if "." in n["code"]), fw["scale"]
    (41, [0, 100])
    """
    return copy.deepcopy(_framework_cached())


def dataset_info(size: str, seed: int) -> dict:
    """The content of ``DATASET.json`` for a generated data set (no wall-clock time: files are reproducible).

    Examples
    --------
    >>> dataset_info("small", 1)["synthetic"]
    True
    """
    return {
        "synthetic": True,
        "seed": int(seed),
        "size": size,
        "generated_by": f"govlib {__version__}",
        "population_scale": SMALL_POPULATION_SCALE if size == "small" else 1.0,
        "population_basis": "residence",
        "periods": {"annual": [YEARS[0], YEARS[-1]], "quarterly": [QUARTERS[0], QUARTERS[-1]],
                    "monthly": [MONTHS[0], MONTHS[-1]], "survey_waves": [QUARTERS[0], QUARTERS[-1]]},
        "note_zh": "本数据集全部为合成（模拟）数据，不代表任何真实地区或个人。",
        "note_en": "All data in this data set are synthetic; they describe no real place or person.",
    }


# ----------------------------------------------------------------------------------------------------------------
# helpers

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _position(z):
    """Map a latent z to a position in [0.15, 0.85] of an indicator's range."""
    return 0.15 + 0.7 * _sigmoid(1.2 * z)


def _periods_for(freq: str) -> list[str]:
    return {"A": YEARS, "Q": QUARTERS, "M": MONTHS}[freq]


def _year_of(periods: list[str]) -> np.ndarray:
    return np.array([int(p[:4]) for p in periods])


class _Context:
    """Shared state of one generation run (units, latent levels, populations)."""

    def __init__(self, size: str, seed: int, events: bool = True):
        self.size = size
        self.seed = seed
        self.events = events  # False: a null data set (no planted events)
        # alert-target events (hotline surges, a 街镇 survey drop) draw from their own stream: the other tables
        # stay the same as without them
        self.alert_rng = np.random.default_rng([seed, 15])
        streams = np.random.SeedSequence(seed).spawn(12)
        self.rngs = {name: np.random.default_rng(s) for name, s in zip(
            ["units", "latent", "population", "observations", "events", "survey", "hotline", "catalogue",
             "menus", "records", "evaluations", "stations"], streams)}
        self.units = units_table(self.rngs["units"], size)
        u = self.units
        self.jz = u[(u["level"] == "subdistrict") & u["kind"].isin(["街道", "镇"])].reset_index(drop=True)
        self.stat_units = u[u["kind"].isin(["农场", "开发区"])].reset_index(drop=True)
        self.comm = u[u["level"] == "community"].reset_index(drop=True)
        self.jz_index = {c: i for i, c in enumerate(self.jz["code"])}
        self.comm_jz = self.comm["parent"].map(self.jz_index).to_numpy()
        self.is_street = (self.jz["kind"] == "街道").to_numpy()
        self.pop_scale = SMALL_POPULATION_SCALE if size == "small" else 1.0
        rng = self.rngs["latent"]
        # Latent governance: the full registry is drawn and then subset, so a 街镇 has the same level in the
        # small and the full data set for a given seed.
        all_codes = jiezhen_table()["code"].tolist()
        g_all = rng.normal(size=len(all_codes))
        comp_all = 0.75 * g_all[:, None] + 0.66 * rng.normal(size=(len(all_codes), 6))
        pos = [all_codes.index(c) for c in self.jz["code"]]
        self.g = g_all[pos]
        self.comp = comp_all[pos]
        self.comm_effect = rng.normal(0, 0.5, size=len(self.comm))


# ----------------------------------------------------------------------------------------------------------------
# population

def _population(ctx: _Context) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    rng = ctx.rngs["population"]
    comm, jz = ctx.comm, ctx.jz
    n_years = len(YEARS)
    t = np.arange(n_years) - 2  # 2020 = 0
    village = (comm["kind"] == "村委").to_numpy()
    base = np.where(village, 2800.0, 5000.0) * np.exp(rng.normal(0, 0.3, size=len(comm)))
    base[~village & ctx.is_street[ctx.comm_jz]] *= 0.94
    growth_jz = np.where(ctx.is_street, rng.normal(0.002, 0.004, size=len(jz)), rng.normal(0.012, 0.007, size=len(jz)))
    growth_jz[(jz["code"] == "310115145000").to_numpy()] = 0.05  # 南汇新城镇 (Lingang) grows fast
    growth = growth_jz[ctx.comm_jz] + rng.normal(0, 0.003, size=len(comm))
    # Keep 街镇 totals in their ranges, then scale to ~5.6 million in the 36 街镇 (2020) for the full registry.
    jz_total = np.bincount(ctx.comm_jz, weights=base, minlength=len(jz))
    lo = np.where(ctx.is_street, 85_000, 35_000)
    hi = np.where(ctx.is_street, 235_000, 420_000)
    base *= (np.clip(jz_total, lo, hi) / jz_total)[ctx.comm_jz]
    if ctx.size == "full":  # about 5.6 million in the 36 街镇 in 2020 (census: 5.68 million for all of Pudong)
        for _ in range(3):
            base *= 5_600_000 / base.sum()
            jz_total = np.bincount(ctx.comm_jz, weights=base, minlength=len(jz))
            base *= (np.clip(jz_total, lo, hi) / jz_total)[ctx.comm_jz]
    residents = base[:, None] * (1 + growth[:, None]) ** t[None, :]  # communities x years, before scaling
    residents = np.round(residents * ctx.pop_scale)
    jz_res = np.vstack([np.bincount(ctx.comm_jz, weights=residents[:, k], minlength=len(jz)) for k in range(n_years)]).T

    # Elderly share (residence basis): 街道 older; rising about 0.5 points a year.
    share60_jz = np.where(ctx.is_street, rng.uniform(23.0, 28.0, size=len(jz)), rng.uniform(16.5, 20.5, size=len(jz)))
    outer = (jz["peer_group"] == "outer_suburban").to_numpy()
    share60_jz[outer] += 2.5
    share60_jz = share60_jz[:, None] + 0.5 * (np.arange(n_years) - 0)[None, :] + rng.normal(0, 0.15, (len(jz), n_years))
    comm_share60 = np.clip(share60_jz[ctx.comm_jz] + rng.normal(0, 2.0, size=(len(comm), 1)), 8, 45)
    aged = np.round(residents * comm_share60 / 100)
    jz_aged = np.vstack([np.bincount(ctx.comm_jz, weights=aged[:, k], minlength=len(jz)) for k in range(n_years)]).T
    hh_size = np.where(village, 2.6, 2.25) * np.exp(rng.normal(0, 0.05, size=len(comm)))
    households = np.round(residents / hh_size[:, None])
    jz_hh = np.vstack([np.bincount(ctx.comm_jz, weights=households[:, k], minlength=len(jz)) for k in range(n_years)]).T

    known_area = {"310115005000": 6.89, "310115016000": 20.93, "310115139000": 160.19, "310115145000": 152.15}
    area = np.where(ctx.is_street, rng.uniform(4.0, 12.0, len(jz)), rng.uniform(15.0, 55.0, len(jz)))
    for code, a in known_area.items():
        if code in ctx.jz_index:
            area[ctx.jz_index[code]] = a
    comm_area = np.zeros(len(comm))
    for j in range(len(jz)):
        idx = np.flatnonzero(ctx.comm_jz == j)
        w = rng.dirichlet(np.where(village[idx], 3.0, 1.0) * 4)
        comm_area[idx] = area[j] * w

    # The 6 non-街镇 statistical units: small resident populations.
    stat = ctx.stat_units
    stat_res = np.round(np.where(stat["kind"] == "农场", 3000.0, 25000.0)[:, None]
                        * np.exp(rng.normal(0, 0.3, (len(stat), 1))) * (1.01 ** t)[None, :] * ctx.pop_scale)
    stat_aged = np.round(stat_res * 0.12)
    stat_hh = np.round(stat_res / 2.0)
    stat_area = np.where(stat["kind"] == "农场", 25.0, 10.0)

    def block(codes, res, ag, hh, ar):
        n = len(codes)
        return pd.DataFrame({
            "code": np.repeat(np.asarray(codes, dtype=object), n_years),
            "year": np.tile(YEARS, n),
            "residents": res.ravel().astype(np.int64), "aged_60_plus": ag.ravel().astype(np.int64),
            "households": hh.ravel().astype(np.int64), "area_km2": np.round(np.repeat(ar, n_years), 2),
            "basis": "residence"})

    dist_res = jz_res.sum(0) + stat_res.sum(0)
    population = pd.concat([
        block([DISTRICT_CODE], dist_res[None, :], (jz_aged.sum(0) + stat_aged.sum(0))[None, :],
              (jz_hh.sum(0) + stat_hh.sum(0))[None, :], np.array([area.sum() + stat_area.sum()])),
        block(jz["code"], jz_res, jz_aged, jz_hh, area),
        block(stat["code"], stat_res, stat_aged, stat_hh, stat_area),
        block(comm["code"], residents, aged, households, comm_area),
    ], ignore_index=True)

    # Adult residents by sex and age group per 街镇 (margins for raking).
    adult_share = np.where(ctx.is_street, 0.88, 0.86)
    adults = jz_res * adult_share[:, None]
    s65 = 0.69 * jz_aged  # 65+ is about 0.69 of 60+ (census 14.99 / 21.63)
    rest = adults - s65
    young_share = np.where(ctx.is_street, 0.34, 0.40)
    parts = np.stack([rest * young_share[:, None], rest * 0.33, rest * (0.67 - young_share)[:, None], s65], axis=-1)
    male = np.array([0.52, 0.51, 0.50, 0.46])
    cells = np.concatenate([parts * male, parts * (1 - male)], axis=-1)  # jz x year x 8 (M ages, F ages)
    cells = np.round(cells).astype(np.int64)
    sexes = np.repeat(["M", "F"], 4)
    ages = np.tile(AGE_GROUPS, 2)
    J, Y = len(jz), n_years
    structure = pd.DataFrame({
        "code": np.repeat(jz["code"].to_numpy(), Y * 8), "year": np.tile(np.repeat(YEARS, 8), J),
        "sex": np.tile(sexes, J * Y), "age_group": np.tile(ages, J * Y), "residents": cells.ravel()})
    comm_adults = np.round(residents * adult_share[ctx.comm_jz][:, None]).astype(np.int64)
    return population, structure, residents, comm_adults


# ----------------------------------------------------------------------------------------------------------------
# admin observations and their planted events

def _range_for(code: str, is_street: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if code in SCOPED_RANGES:
        s = SCOPED_RANGES[code]
        lo = np.where(is_street, s["街道"][0], s["镇"][0]).astype(float)
        hi = np.where(is_street, s["街道"][1], s["镇"][1]).astype(float)
    else:
        lo = np.full(len(is_street), float(DEMO_RANGES[code][0]))
        hi = np.full(len(is_street), float(DEMO_RANGES[code][1]))
    return lo, hi


def _noise_sd(code: str, freq: str) -> float:
    lo, hi = DEMO_RANGES[code]
    sd = (hi - lo) * {"A": 0.03, "Q": 0.04, "M": 0.05}[freq]
    return sd / 4 if code == "D3.1" else sd  # D3.1: quarterly values are a quarter of a per-year rate


def _observations(ctx: _Context, population: pd.DataFrame, framework: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = ctx.rngs["observations"]
    erng = ctx.rngs["events"]
    leaves = [n for n in framework["nodes"] if n.get("source") == "admin"]
    J = len(ctx.jz)
    kind = ctx.jz["kind"].to_numpy()
    jz_pop = population[population["code"].isin(ctx.jz["code"])]
    res = jz_pop["residents"].to_numpy().reshape(J, len(YEARS))
    aged = jz_pop["aged_60_plus"].to_numpy().reshape(J, len(YEARS))

    series: dict[tuple[str, str], np.ndarray] = {}  # (indicator) -> J x T values (NaN where out of scope)
    base_level: dict[str, np.ndarray] = {}
    for node in leaves:
        code, freq, d = node["code"], node["frequency"], int(node["direction"])
        periods = _periods_for(freq)
        T = len(periods)
        years = _year_of(periods) - 2018
        dim = int(code[1]) - 1
        lam = _LOADING.get(code, 0.8)
        z = lam * ctx.comp[:, dim] + np.sqrt(1 - lam ** 2) * rng.normal(size=J)
        pos = _position(z) if d >= 0 else 1 - _position(z)
        lo, hi = _range_for(code, ctx.is_street)
        w = hi - lo
        sd = _noise_sd(code, freq)
        if code == "D2.1":  # income: nominal growth about 4.5% a year; level set by 2018 position
            base2018 = np.where(ctx.is_street, 75500 + 5000 * pos, 45500 + 21000 * pos)
            g = rng.normal(0.045, 0.003, size=J)
            vals = base2018[:, None] * (1 + g[:, None]) ** years[None, :] * np.exp(rng.normal(0, 0.008, (J, T)))
        elif code == "D2.4":  # context: from the population table (residence basis)
            vals = 100 * aged / res
        elif code == "D2.2":
            vals = (lo + w * (0.05 + 0.6 * (pos - 0.15) / 0.7))[:, None] + 0.015 * years[None, :] \
                + rng.normal(0, sd, (J, T))
        elif code == "D2.3":
            vals = (lo + w * (0.05 + 0.45 * (pos - 0.15) / 0.7))[:, None] + 2.0 * years[None, :] \
                + rng.normal(0, sd, (J, T))
        elif code == "D4.5":  # Shanghai's waste-sorting regulation took effect in July 2019
            after = np.array([p >= "2019Q3" for p in periods])
            vals = (lo + w * (0.05 + 0.55 * (pos - 0.15) / 0.7))[:, None] + 8.0 * after[None, :] \
                + rng.normal(0, sd, (J, T))
        elif code == "D3.1":  # per-year rate reported by quarter: quarters sum to the annual rate
            annual = lo + w * pos
            season = np.tile([0.95, 1.0, 1.05, 1.0], len(YEARS))
            vals = annual[:, None] / 4 * season[None, :] + rng.normal(0, sd, (J, T))
        elif code in _COUNT_INDICATORS:
            vals = rng.poisson(np.repeat((lo + w * pos)[:, None], T, axis=1)).astype(float)
        else:
            vals = (lo + w * pos)[:, None] + rng.normal(0, sd, (J, T))
        scope = node.get("scope", "all")
        if scope != "all":
            vals[kind != scope, :] = np.nan
        series[code] = vals
        base_level[code] = lo + w * pos

    # ---- planted events ----------------------------------------------------------------------------------
    small = ctx.size == "small"
    n_trend, n_step, n_small_step, n_shock, n_outlier = (2, 2, 1, 2, 3) if small else (6, 6, 2, 4, 5)
    if not ctx.events:
        n_trend = n_step = n_small_step = n_shock = n_outlier = 0
    events = []
    used: set[tuple[int, str]] = set()

    def pick_series(exclude=()):
        options = [c for c in _EVENT_INDICATORS if c not in exclude]
        while True:
            code = options[erng.integers(len(options))]
            j = int(erng.integers(J))
            if (j, code) not in used and not np.isnan(series[code][j]).all():
                used.add((j, code))
                return j, code

    def toward_centre(j, code):
        lo, hi = _range_for(code, ctx.is_street)
        return 1.0 if base_level[code][j] < (lo[j] + hi[j]) / 2 else -1.0

    for k in range(n_trend):
        j, code = pick_series(exclude=("D3.1",))  # D3.1 is a per-year rate split by quarter: no trends there
        freq = next(n["frequency"] for n in leaves if n["code"] == code)
        periods = _periods_for(freq)
        sd = _noise_sd(code, freq)
        slope = toward_centre(j, code) * erng.uniform(0.6, 1.0) * sd  # per year
        start = erng.choice(["2018", "2019", "2020"])
        t = _year_of(periods) + (np.array([int(p[5]) - 1 for p in periods]) / 4 if freq == "Q" else
                                 np.array([int(p[5:7]) - 1 for p in periods]) / 12 if freq == "M" else 0)
        elapsed = np.clip(t - int(start), 0, None)
        series[code][j] += slope * elapsed
        events.append(("trend", ctx.jz["code"][j], code, _first_period(start, freq), periods[-1],
                       slope, slope / sd, "planted linear trend (magnitude per year)"))
    for k in range(n_step + n_small_step):
        j, code = pick_series()
        freq = next(n["frequency"] for n in leaves if n["code"] == code)
        periods = _periods_for(freq)
        sd = _noise_sd(code, freq)
        big = k < n_step
        mult = erng.uniform(2.5, 4.0) if big else erng.uniform(0.8, 1.2)
        delta = toward_centre(j, code) * mult * sd
        start_year = str(int(erng.integers(2020, 2024)))
        start = _first_period(start_year, freq)
        if freq != "A":  # start mid-year for sub-annual series
            start = periods[periods.index(start) + int(erng.integers(0, 3 if freq == "Q" else 11))]
        after = np.array([p >= start for p in periods])
        series[code][j, after] += delta
        events.append(("step", ctx.jz["code"][j], code, start, periods[-1], delta, delta / sd,
                       "planted step change" + ("" if big else " (small)")))
    for k in range(n_shock):
        j, code = pick_series()
        freq = next(n["frequency"] for n in leaves if n["code"] == code)
        periods = _periods_for(freq)
        sd = _noise_sd(code, freq)
        at = int(erng.integers(2, len(periods) - 1))
        delta = toward_centre(j, code) * erng.uniform(4.0, 5.0) * sd
        series[code][j, at] += delta
        events.append(("shock", ctx.jz["code"][j], code, periods[at], periods[at], delta, delta / sd,
                       "one-off shock in a single period"))

    # Round and clip to the demo ranges (outliers are added afterwards and are not clipped).
    rows = []
    for node in leaves:
        code, freq = node["code"], node["frequency"]
        periods = _periods_for(freq)
        lo, hi = _range_for(code, ctx.is_street)
        vals = series[code]
        if code == "D3.1":
            vals = np.clip(vals, (lo / 4)[:, None], (hi / 4)[:, None])
        elif code != "D2.4":
            vals = np.clip(vals, lo[:, None], hi[:, None])
        vals = np.round(vals, _DECIMALS.get(code, 1))
        series[code] = vals
        ok = ~np.isnan(vals).all(axis=1)
        jj = np.flatnonzero(ok)
        rows.append(pd.DataFrame({
            "unit": np.repeat(ctx.jz["code"].to_numpy()[jj], len(periods)),
            "period": np.tile(periods, len(jj)), "indicator": code, "value": vals[jj].ravel()}))
    obs = pd.concat(rows, ignore_index=True)

    key = obs["unit"] + "|" + obs["indicator"]
    event_series = {f"{e[1]}|{e[2]}" for e in events}
    in_event = key.isin(event_series).to_numpy()
    # Data-entry errors: a value typed ×10 or with a misplaced decimal point, in non-event series.
    candidates = np.flatnonzero(~in_event & obs["indicator"].isin(_EVENT_INDICATORS).to_numpy())
    chosen = erng.choice(candidates, size=n_outlier, replace=False)
    factors = np.where(erng.random(n_outlier) < 0.6, 10.0, 0.1)
    true_vals = obs["value"].to_numpy()[chosen]
    # A ×10 slip that would leave its unit's range (a % above 100) is made a ÷10 slip: validation rejects
    # impossible values (govlib.data.rules.UNIT_RANGES), and the demo data must pass validation.
    bounded = np.isin(obs["indicator"].to_numpy()[chosen],
                      [n["code"] for n in leaves if n.get("unit") in ("%", "score 0-100")])
    factors = np.where(bounded & (true_vals * factors > 100), 0.1, factors)
    obs.loc[chosen, "value"] = np.round(true_vals * factors, 4)
    for r, f, tv in zip(chosen, factors, true_vals):
        code = obs.at[r, "indicator"]
        freq = next(n["frequency"] for n in leaves if n["code"] == code)
        events.append(("outlier", obs.at[r, "unit"], code, obs.at[r, "period"], obs.at[r, "period"], float(f),
                       float((tv * f - tv) / _noise_sd(code, freq)),
                       f"data-entry error: recorded value is {'10 times' if f == 10 else 'one tenth of'} the "
                       f"true value {tv:g} (magnitude = factor)"))
    protected = in_event.copy()
    protected[chosen] = True
    # Missing values (~2.5% overall) outside event series; provisional flags on the latest periods.
    missing = (rng.random(len(obs)) < 0.028) & ~protected
    obs.loc[missing, "value"] = np.nan
    period = obs["period"]
    p_prov = np.select([period == "2025", period.isin(["2025Q4"]), period.isin(["2025Q3"]),
                        period.isin(["2025-10", "2025-11", "2025-12"])], [0.6, 0.5, 0.2, 0.4], 0.0)
    provisional = (rng.random(len(obs)) < p_prov) & ~missing
    provisional[chosen] = False  # keep planted entry errors unflagged
    obs["se"] = np.nan
    obs["flag"] = np.where(provisional, "provisional", "")
    obs["source"] = "admin"
    obs = obs[["unit", "period", "indicator", "value", "se", "flag", "source"]]

    # District-wide movements (unit = the district code: every 街镇 in the data).
    yrs = np.arange(len(YEARS))
    slope_income = float(np.mean([np.polyfit(yrs, series["D2.1"][j], 1)[0] for j in range(J)]))
    slope_age = float(np.mean([np.polyfit(yrs, series["D2.4"][j], 1)[0] for j in range(J)]))
    district_events = [
        ("trend", DISTRICT_CODE, "D2.1", "2018", "2025", round(slope_income), np.nan,
         "district-wide: nominal income growth of about 4.5% a year in every 街镇 (magnitude: mean yuan per year)"),
        ("trend", DISTRICT_CODE, "D2.2", "2018", "2025", 0.015, 0.015 / _noise_sd("D2.2", "A"),
         "district-wide: GP density rising in every 街镇"),
        ("trend", DISTRICT_CODE, "D2.3", "2018", "2025", 2.0, 2.0 / _noise_sd("D2.3", "A"),
         "district-wide: family-doctor coverage rising in every 街镇"),
        ("trend", DISTRICT_CODE, "D2.4", "2018", "2025", round(slope_age, 3), np.nan,
         "district-wide: population ageing (residence basis), context indicator"),
        ("step", DISTRICT_CODE, "D4.5", "2019Q3", "2025Q4", 8.0, 8.0 / _noise_sd("D4.5", "Q"),
         "district-wide: Shanghai's household waste regulation took effect in July 2019"),
    ]
    gt = pd.DataFrame(events + district_events, columns=["kind", "unit", "indicator", "start_period", "end_period",
                                                         "magnitude", "magnitude_sd", "description"])
    return obs, gt


def _first_period(year: str, freq: str) -> str:
    return {"A": year, "Q": f"{year}Q1", "M": f"{year}-01"}[freq]


# ----------------------------------------------------------------------------------------------------------------
# survey

# Item centres follow the 2025 survey's order: safety > health > everyday convenience (infrastructure) > social
# security > environment; awareness of community affairs lowest.
_ITEM_CENTRE = np.array([80.0, 78.5, 81.8, 85.5, 76.5, 84.0, 70.0, 82.0])
_ITEM_SPREAD = np.array([7.0, 7.0, 7.0, 6.5, 8.0, 6.5, 9.0, 6.5])
_ITEM_LOADING = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.4, 1.0])
_DONT_KNOW = np.array([0.03, 0.04, 0.035, 0.03, 0.03, 0.045, 0.05, 0.03])
_LATENT_SD = 0.9  # total SD of an item's latent response


def _expected_score_grid():
    """E[score 0-100] of clip(round(mu + N(0, _LATENT_SD)), 1, 5) as a function of mu (for inversion)."""
    from scipy.special import ndtr  # the normal CDF (what scipy.stats.norm.cdf calls), without scipy.stats' import
    mu = np.linspace(-1.0, 7.0, 801)
    cuts = np.array([1.5, 2.5, 3.5, 4.5])
    cdf = ndtr((cuts[None, :] - mu[:, None]) / _LATENT_SD)
    p = np.diff(np.column_stack([np.zeros(len(mu)), cdf, np.ones(len(mu))]), axis=1)
    ey = p @ np.arange(1, 6)
    return mu, (ey - 1) / 4 * 100


def _survey(ctx: _Context, structure: pd.DataFrame, comm_adults: np.ndarray):
    rng = ctx.rngs["survey"]
    C, W = len(ctx.comm), len(QUARTERS)
    wave_year = np.repeat(np.arange(len(YEARS)), 4)
    n_cw = rng.binomial(35, 0.86, size=(C, W))  # about 30 respondents per community and wave
    # Planted satisfaction drops: a few communities, from a wave on, on one item (score points 0-100).
    n_drop = (2 if ctx.size == "small" else 4) if ctx.events else 0
    drop_comm = rng.choice(C, size=n_drop, replace=False)
    drop_wave = rng.integers(12, 24, size=n_drop)
    drop_item = rng.choice([0, 4, 7], size=n_drop)
    drop_size = -rng.uniform(10, 14, size=n_drop)
    target = np.zeros((C, W, 8))
    jz_level = ctx.comp[ctx.comm_jz, 5]
    comm_level = 0.8 * jz_level + 0.5 * ctx.comm_effect
    wave_noise = rng.normal(0, 0.15, size=(C, W))
    lvl = np.tanh(0.6 * (comm_level[:, None] + wave_noise))  # C x W
    loading = _ITEM_LOADING[None, None, :]
    target[:] = _ITEM_CENTRE[None, None, :] + _ITEM_SPREAD[None, None, :] * loading * lvl[:, :, None]
    drop_mask = np.zeros((C, W, 8), dtype=bool)
    for c, w0, it, s in zip(drop_comm, drop_wave, drop_item, drop_size):
        target[c, w0:, it] += s
        drop_mask[c, w0:, it] = True
    jz_drops = _plant_jiezhen_survey_drop(ctx, target, W, exclude=ctx.comm_jz[drop_comm])
    mu_grid, score_grid = _expected_score_grid()
    mu = np.interp(target, score_grid, mu_grid)  # C x W x 8

    # Respondents (community-major, wave within community).
    N = int(n_cw.sum())
    cw = np.repeat(np.arange(C * W), n_cw.ravel())
    c_idx, w_idx = cw // W, cw % W
    j_idx = ctx.comm_jz[c_idx]
    # Demographics: population cells of the 街镇-year times response propensities (older people and women answer
    # more often), so the unweighted sample is too old and too female and raking matters.
    cells = structure["residents"].to_numpy().reshape(len(ctx.jz), len(YEARS), 8).astype(float)
    propensity = np.array([0.55, 0.8, 1.1, 1.45] * 2) * np.repeat([1.0, 1.15], 4)
    prob = cells * propensity
    prob /= prob.sum(-1, keepdims=True)
    cum = np.cumsum(prob, axis=-1)
    u = rng.random(N)
    cell = (u[:, None] > cum[j_idx, wave_year[w_idx]]).sum(axis=1).clip(0, 7)
    age = cell % 4
    age_shift = np.array([-0.12, -0.04, 0.04, 0.15])[age]
    person = rng.normal(0, 0.55, size=N)
    idio_sd = np.sqrt(_LATENT_SD ** 2 - 0.55 ** 2)
    resp = {}
    items = np.empty((N, 8), dtype=np.int8)
    for k in range(8):
        ystar = mu[c_idx, w_idx, k] + person + age_shift + rng.normal(0, idio_sd, size=N)
        items[:, k] = np.clip(np.rint(ystar), 1, 5).astype(np.int8)
    dk = rng.random((N, 8)) < _DONT_KNOW[None, :]
    items[dk] = 9
    nonresp = rng.random((N, 8)) < 0.02
    adults = comm_adults[c_idx, wave_year[w_idx]]
    n_here = n_cw[c_idx, w_idx]
    comm_codes = ctx.comm["code"].to_numpy()
    jz_codes = ctx.jz["code"].to_numpy()
    fpc1 = np.bincount(ctx.comm_jz, minlength=len(ctx.jz))[j_idx]
    comm_cat = pd.Categorical.from_codes(c_idx, categories=comm_codes)
    resp["respondent_id"] = np.arange(1, N + 1, dtype=np.int64)
    resp["wave"] = pd.Categorical.from_codes(w_idx, categories=QUARTERS)
    resp["unit"] = comm_cat
    resp["stratum"] = pd.Categorical.from_codes(j_idx, categories=jz_codes)
    resp["psu"] = comm_cat.copy()
    # Design weight with the nonresponse adjustment: adults / issued sample × 1 / response rate = adults /
    # respondents of the community and wave.
    resp["weight"] = np.round(adults / n_here, 4)
    resp["fpc1"] = fpc1.astype(np.int16)
    resp["fpc2"] = adults.astype(np.int32)
    resp["sex"] = pd.Categorical.from_codes((cell >= 4).astype(np.int8), categories=["M", "F"])
    resp["age_group"] = pd.Categorical.from_codes(age, categories=AGE_GROUPS)
    for k in range(8):
        col = pd.array(items[:, k], dtype="Int8")
        col[nonresp[:, k]] = pd.NA
        resp[f"q{k + 1}"] = col
    survey = pd.DataFrame(resp)
    item_table = pd.DataFrame([{"item": i, "indicator": ind, "scale_min": 1, "scale_max": 5, "missing_codes": "9",
                                "label_zh": zh, "label_en": en} for i, ind, zh, en in _SURVEY_ITEMS])
    gt = pd.DataFrame({
        "kind": "survey_drop", "unit": comm_codes[drop_comm], "indicator": [_SURVEY_ITEMS[i][1] for i in drop_item],
        "start_period": [QUARTERS[w] for w in drop_wave], "end_period": QUARTERS[-1],
        "magnitude": np.round(drop_size, 2), "magnitude_sd": np.nan,
        "description": [f"satisfaction drop in one community (item {_SURVEY_ITEMS[i][0]}, score points 0-100)"
                        for i in drop_item]})
    gt = pd.concat([gt, jz_drops], ignore_index=True) if len(jz_drops) else gt
    return survey, item_table, gt


# ----------------------------------------------------------------------------------------------------------------
# hotline

def _plan_hotline_surges(ctx: _Context, lam: np.ndarray) -> list[dict]:
    """Alert-target events: one-month surges of +50% (at least 30 extra tickets) in one category of one 街镇."""
    if not ctx.events:
        return []
    rng = ctx.alert_rng
    n = 2 if ctx.size == "small" else 4
    out = []
    for j, m in zip(rng.choice(len(ctx.jz), size=n, replace=False), rng.integers(40, len(MONTHS), size=n)):
        k = int(rng.integers(len(_HOTLINE_CATEGORIES)))
        expected = float(lam[ctx.comm_jz == j, m].sum() * _HOTLINE_MIX[k])
        out.append({"j": int(j), "m": int(m), "k": k, "expected": expected,
                    "extra": int(max(30, np.ceil(0.5 * expected)))})
    return out


def _plant_jiezhen_survey_drop(ctx: _Context, target: np.ndarray, W: int, exclude=()) -> pd.DataFrame:
    """Alert-target event: one 街镇's satisfaction on one item falls by 5 points (0-100) from a wave on (in a
    街镇 without a planted community drop, so that each event stands alone)."""
    options = np.setdiff1d(np.arange(len(ctx.jz)), exclude)
    if not ctx.events or not len(options):
        return pd.DataFrame()
    rng = ctx.alert_rng
    j, w0, it = int(rng.choice(options)), int(rng.integers(12, W - 2)), int(rng.choice([0, 4, 7]))
    target[ctx.comm_jz == j, w0:, it] -= 5.0
    return pd.DataFrame([{
        "kind": "survey_drop_jiezhen", "unit": ctx.jz["code"][j], "indicator": _SURVEY_ITEMS[it][1],
        "start_period": QUARTERS[w0], "end_period": QUARTERS[-1], "magnitude": -5.0, "magnitude_sd": np.nan,
        "description": f"satisfaction drop in every community of one 街镇 (item {_SURVEY_ITEMS[it][0]}, "
                       f"score points 0-100)"}])


def _time_of_day_quantiles() -> tuple[np.ndarray, np.ndarray]:
    """Inverse CDF grid of the time of day of a hotline call (busy in the day, quiet at night)."""
    h = np.linspace(0, 86399, 1441)
    density = np.exp(-0.5 * ((h - 13.5 * 3600) / (3.5 * 3600)) ** 2) + 0.03
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return cdf / cdf[-1], h


def _hotline(ctx: _Context, residents: np.ndarray) -> pd.DataFrame:
    """Hotline tickets, generated month by month already sorted by creation time (no sort of 16M rows)."""
    rng = ctx.rngs["hotline"]
    C, M = len(ctx.comm), len(MONTHS)
    j = ctx.comm_jz
    d3, d4 = ctx.comp[:, 2], ctx.comp[:, 3]
    rate_jz = np.clip(np.where(ctx.is_street, 0.40, 0.33) + 0.04 * rng.normal(size=len(ctx.jz)), 0.22, 0.56)
    rate = rate_jz[j] * np.exp(rng.normal(0, 0.1, size=C))
    ontime_jz = 0.85 + 0.13 * _sigmoid(1.2 * d4 + 0.3 * rng.normal(size=len(ctx.jz)))
    sat_jz = 0.76 + 0.18 * _sigmoid(1.2 * d4 + 0.4 * rng.normal(size=len(ctx.jz)))
    repeat_jz = 0.03 + 0.09 * _sigmoid(-1.2 * d3 + 0.4 * rng.normal(size=len(ctx.jz)))
    month_year = np.repeat(np.arange(len(YEARS)), 12)
    season = np.tile([0.85, 0.8, 0.95, 1.0, 1.05, 1.1, 1.2, 1.2, 1.05, 0.95, 0.9, 0.95], len(YEARS))
    season = season / season[:12].mean()
    lam = residents[:, month_year] * rate[:, None] / 12 * season[None, :]  # C x M
    counts = rng.poisson(lam.T)  # M x C
    surges = _plan_hotline_surges(ctx, lam)
    for e in surges:  # the extra tickets of each planted surge, spread over the 街镇's communities
        in_j = j == e["j"]
        counts[e["m"], in_j] += ctx.alert_rng.multinomial(e["extra"], lam[in_j, e["m"]] / lam[in_j, e["m"]].sum())
    per_month = counts.sum(axis=1)
    N = int(per_month.sum())
    months = pd.PeriodIndex(MONTHS, freq="M")
    month_start = months.to_timestamp().to_numpy().astype("datetime64[s]").astype(np.int64)
    days_in_month = months.days_in_month.to_numpy()
    cdf, tod_grid = _time_of_day_quantiles()
    created = np.empty(N, dtype=np.int64)  # seconds since 1970
    c_idx = np.empty(N, dtype=np.int32)
    comm_ids = np.arange(C, dtype=np.int32)
    offset = 0
    for m in range(M):
        n = int(per_month[m])
        # Sorted uniform times from normalised cumulative exponential spacings, then a monotone map to the
        # time of day: the tickets of a month come out in time order.
        cs = np.cumsum(rng.standard_exponential(n + 1))
        t = cs[:-1] * (days_in_month[m] / cs[-1])
        day = t.astype(np.int64)
        tod = np.interp(t - day, cdf, tod_grid).astype(np.int64)
        created[offset:offset + n] = month_start[m] + day * 86400 + tod
        labels = np.repeat(comm_ids, counts[m])
        rng.shuffle(labels)
        c_idx[offset:offset + n] = labels
        offset += n
    del counts, lam
    u_cat = rng.random(N, dtype=np.float32)
    cum = np.cumsum(_HOTLINE_MIX).astype(np.float32)
    cat = ((u_cat > cum[0]).astype(np.int8) + (u_cat > cum[1]) + (u_cat > cum[2]) + (u_cat > cum[3])).astype(np.int8)
    del u_cat
    month_offsets = np.concatenate([[0], np.cumsum(per_month)])
    for e in surges:  # the surge is in one category: that many of the 街镇's tickets of the month are of it
        lo, hi = month_offsets[e["m"]], month_offsets[e["m"] + 1]
        idx = lo + np.flatnonzero((j[c_idx[lo:hi]] == e["j"]) & (cat[lo:hi] != e["k"]))
        cat[ctx.alert_rng.choice(idx, size=min(e["extra"], len(idx)), replace=False)] = e["k"]
    # Due date: created + category-dependent working days (weekends skipped), from a small lookup table.
    day0 = month_start[0] // 86400
    n_days = int((month_start[-1] // 86400) - day0 + 40)
    cal = np.arange(day0, day0 + n_days).astype("datetime64[D]")
    due_table = np.stack([np.busday_offset(cal, k, roll="forward").astype(np.int64) for k in _HOTLINE_WORKING_DAYS],
                         axis=1)
    created_day = created // 86400
    due = due_table[created_day - day0, cat] * 86400 + (created - created_day * 86400)
    del created_day
    allowed = due - created
    jj = j[c_idx]
    late = rng.random(N, dtype=np.float32) > ontime_jz[jj].astype(np.float32)
    secs = np.maximum((allowed * (rng.random(N, dtype=np.float32) ** 1.5)).astype(np.int64), 300)
    n_late = int(late.sum())
    secs[late] = allowed[late] + (86400 * (0.2 + rng.exponential(4.0, size=n_late))).astype(np.int64)
    closed = created + secs
    del secs, allowed
    snapshot = np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64)
    still_open = closed >= snapshot
    nat = np.iinfo(np.int64).min
    closed[still_open] = nat
    rated = ~still_open & (rng.random(N, dtype=np.float32) < 0.55)
    r_idx = np.flatnonzero(rated)
    p_sat = (sat_jz[jj[r_idx]] - 0.15 * late[r_idx]).astype(np.float32)
    u = rng.random(len(r_idx), dtype=np.float32)
    q = (u - p_sat) / (1 - p_sat)  # position within the dissatisfied part
    rating = np.where(u < p_sat, np.where(u < 0.6 * p_sat, 5, 4), np.where(q < 0.5, 3, np.where(q < 0.75, 2, 1)))
    sat_values = np.zeros(N, dtype=np.int8)
    sat_values[r_idx] = rating
    satisfaction = pd.arrays.IntegerArray(sat_values, ~rated)
    repeat = rng.random(N, dtype=np.float32) < (repeat_jz[jj] * np.where(cat == 2, 1.5, 0.9)).astype(np.float32)
    del jj
    year = (created // 86400).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    serial = np.arange(N, dtype=np.int64) - np.searchsorted(year, year, side="left")
    ticket_id = year * 10_000_000 + serial + 1
    ctx.hotline_events = pd.DataFrame([{
        "kind": "hotline_surge", "unit": ctx.jz["code"][e["j"]], "indicator": "D4.1", "start_period": MONTHS[e["m"]],
        "end_period": MONTHS[e["m"]], "magnitude": round(e["extra"] / e["expected"], 3), "magnitude_sd": np.nan,
        "description": f"12345 surge in one month: about {e['extra']} extra '{_HOTLINE_CATEGORIES[e['k']]}' tickets "
                       f"(expected {e['expected']:.0f}; magnitude = relative increase)"} for e in surges])
    return pd.DataFrame({
        "ticket_id": ticket_id,
        "unit": pd.Categorical.from_codes(c_idx, categories=ctx.comm["code"].to_numpy()),
        "created_at": created.view("datetime64[s]"), "due_at": due.view("datetime64[s]"),
        "closed_at": closed.view("datetime64[s]"),
        "category": pd.Categorical.from_codes(cat, categories=_HOTLINE_CATEGORIES),
        "satisfaction": satisfaction, "repeat": repeat,
    }, copy=False)


# ----------------------------------------------------------------------------------------------------------------
# doorstep services

def _catalogue(ctx: _Context) -> pd.DataFrame:
    rng = ctx.rngs["catalogue"]
    cat_keys = np.repeat([c[0] for c in DOORSTEP_CATEGORIES], [c[3] for c in DOORSTEP_CATEGORIES])
    n = len(cat_keys)
    assert n == 147
    # Tiers: spread 38 bottom-line / 84 basic / 25 quality items across categories at random (fixed per seed).
    tiers = np.array(["bottom_line"] * 38 + ["basic"] * 84 + ["quality"] * 25)
    tiers = tiers[rng.permutation(n)]
    dept = np.empty(n, dtype=object)
    for key, idx in pd.Series(np.arange(n)).groupby(cat_keys):
        options = _CATEGORY_DEPARTMENTS[key]
        dept[idx.to_numpy()] = [_DEPARTMENTS[options[k % len(options)]] for k in range(len(idx))]
    names = {c[0]: (c[1], c[2]) for c in DOORSTEP_CATEGORIES}
    serial = pd.Series(cat_keys).groupby(cat_keys).cumcount().to_numpy() + 1
    tier_zh = {"bottom_line": "底线民生", "basic": "基本民生", "quality": "质量民生"}
    return pd.DataFrame({
        "item_id": [f"DS{k:03d}" for k in range(1, n + 1)],
        "name_zh": [f"{names[c][0]}示例事项{s:02d}（{tier_zh[t]}，示例）" for c, s, t in zip(cat_keys, serial, tiers)],
        "name_en": [f"{names[c][1]} item {s:02d} ({t.replace('_', '-')}, synthetic)"
                    for c, s, t in zip(cat_keys, serial, tiers)],
        "category": cat_keys, "tier": tiers, "department": dept,
    })


def _stations(ctx: _Context) -> pd.DataFrame:
    rng = ctx.rngs["stations"]
    C, Y = len(ctx.comm), len(YEARS)
    level = 0.6 * ctx.comp[ctx.comm_jz, 4] + 0.5 * ctx.comm_effect
    open_year = np.where(rng.random(C) < 0.98, 0, rng.integers(1, 3, size=C))  # ~98% in 2018, all by 2020
    adviser_year = np.where(rng.random(C) < 0.96, 0, rng.integers(1, 4, size=C))
    yrs = np.arange(Y)
    has = yrs[None, :] >= open_year[:, None]
    floor = np.round(np.exp(rng.normal(np.log(450), 0.35, size=C)), 0)
    share = np.clip(0.62 + 0.06 * level[:, None] + 0.025 * yrs[None, :] + rng.normal(0, 0.03, (C, Y)), 0.5, 0.9)
    floor_y = np.where(has, floor[:, None], np.nan)
    service = np.round(floor_y * share, 0)
    legal = (yrs[None, :] >= adviser_year[:, None]) & has
    return pd.DataFrame({
        "community": np.repeat(ctx.comm["code"].to_numpy(), Y), "year": np.tile(YEARS, C),
        "has_station": has.ravel(), "floor_area_m2": floor_y.ravel(), "service_area_m2": service.ravel(),
        "legal_adviser": legal.ravel()})


def _menus(ctx: _Context, catalogue: pd.DataFrame):
    """Adoption month per community and item (0 = in the menu from 2018-01; >= 96 never) and the menus table."""
    rng = ctx.rngs["menus"]
    C, I, M = len(ctx.comm), len(catalogue), len(MONTHS)
    tier = catalogue["tier"].to_numpy()
    level = 0.6 * ctx.comp[ctx.comm_jz, 4] + 0.5 * ctx.comm_effect
    p0 = np.select([tier == "bottom_line", tier == "basic"], [0.995, 0.68], 0.3)
    hazard = np.select([tier == "bottom_line", tier == "basic"], [0.05, 0.035], 0.012)  # per month, later orders
    p_init = _sigmoid(np.log(p0 / (1 - p0))[None, :] + 0.6 * level[:, None])
    initial = rng.random((C, I)) < p_init
    hz = hazard[None, :] * np.exp(0.4 * level[:, None])
    later = np.ceil(rng.exponential(1.0 / hz)).astype(np.int64)
    adopt = np.where(initial, 0, later)  # >= M: never within the data
    end = np.full((C, I), M, dtype=np.int64)  # exclusive end month index (M: still offered)
    # A few quality items dropped again after a while.
    dropped = (adopt < M - 12) & (tier == "quality")[None, :] & (rng.random((C, I)) < 0.05)
    end[dropped] = np.minimum(M, adopt[dropped] + 12 + rng.integers(0, 36, size=int(dropped.sum())))
    # Planted event: one community loses several bottom-line items from a month on.
    c_loss = int(rng.integers(C))
    bl = np.flatnonzero(tier == "bottom_line")
    lost = rng.choice(bl, size=6, replace=False)
    m_loss = int(rng.integers(48, 72))
    if ctx.events:
        adopt[c_loss, bl] = 0
        end[c_loss, lost] = m_loss
    cc, ii = np.nonzero(adopt < M)
    months = np.array(MONTHS, dtype=object)
    menus = pd.DataFrame({
        "community": ctx.comm["code"].to_numpy()[cc], "item_id": catalogue["item_id"].to_numpy()[ii],
        "from_period": months[adopt[cc, ii]],
        "to_period": np.where(end[cc, ii] < M, months[np.minimum(end[cc, ii], M) - 1], ""),
    })
    gt = pd.DataFrame([{
        "kind": "doorstep_menu_loss", "unit": ctx.comm["code"][c_loss], "indicator": "D5.2",
        "start_period": MONTHS[m_loss], "end_period": MONTHS[-1], "magnitude": -6.0, "magnitude_sd": np.nan,
        "description": "community stops offering 6 bottom-line (底线民生) items: "
                       + ";".join(catalogue["item_id"].to_numpy()[np.sort(lost)])}])
    return menus, adopt, end, (gt if ctx.events else gt.iloc[:0])


def _records(ctx: _Context, catalogue: pd.DataFrame, adopt, end, residents) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = ctx.rngs["records"]
    C, I = adopt.shape
    cat_rate = {"party": 0.02, "government": 0.06, "daily_life": 0.05, "legal": 0.01, "health": 0.05,
                "culture": 0.03, "community": 0.02}
    item_rate = catalogue["category"].map(cat_rate).to_numpy() * np.exp(rng.normal(-0.5, 2.0, size=I))
    # The usage drop is planted in a community of above-median size, where it stands out of the Poisson noise.
    big = np.flatnonzero(residents[:, 0] >= np.median(residents[:, 0]))
    c_drop = int(big[rng.integers(len(big))])
    m_drop = int(rng.integers(36, 72))
    months = pd.PeriodIndex(MONTHS, freq="M").to_timestamp().to_numpy()
    comm_codes = ctx.comm["code"].to_numpy()
    item_ids = catalogue["item_id"].to_numpy()
    parts = []
    for y in range(len(YEARS)):
        m = np.arange(12 * y, 12 * y + 12)
        active = (adopt[:, :, None] <= m[None, None, :]) & (end[:, :, None] > m[None, None, :])  # C x I x 12
        lam = residents[:, y][:, None, None] / 1000 * item_rate[None, :, None] * np.ones((1, 1, 12))
        lam[c_drop, :, :] *= np.where(m >= m_drop, 0.35, 1.0)[None, :] if ctx.events else 1.0
        cnt = rng.poisson(lam) * active
        cc, ii, mm = np.nonzero(cnt)
        parts.append(pd.DataFrame({
            "community": pd.Categorical.from_codes(cc, categories=comm_codes),
            "item_id": pd.Categorical.from_codes(ii, categories=item_ids),
            "date": months[m[mm]], "count": cnt[cc, ii, mm].astype(np.int32)}))
    records = pd.concat(parts, ignore_index=True)
    records["date"] = records["date"].astype("datetime64[s]")
    gt = pd.DataFrame([{
        "kind": "doorstep_usage_drop", "unit": comm_codes[c_drop], "indicator": "",
        "start_period": MONTHS[m_drop], "end_period": MONTHS[-1], "magnitude": -0.65, "magnitude_sd": np.nan,
        "description": "station usage falls: services delivered drop by 65% (magnitude = relative change)"}])
    return records, (gt if ctx.events else gt.iloc[:0])


def _evaluations(ctx: _Context) -> pd.DataFrame:
    rng = ctx.rngs["evaluations"]
    C, Y = len(ctx.comm), len(YEARS)
    level = 0.6 * ctx.comp[ctx.comm_jz, 4] + 0.5 * ctx.comm_effect
    n_proj = np.clip(rng.poisson(np.clip(3.0 + 0.8 * level, 0.5, None)[:, None] * np.ones((1, Y))), 2, 6)
    P = int(n_proj.sum())
    cy = np.repeat(np.arange(C * Y), n_proj.ravel())
    c_idx, y_idx = cy // Y, cy % Y
    k = np.arange(P) - np.searchsorted(cy, cy, side="left") + 1
    n_coord = rng.integers(0, 3, size=P)
    evaluated = rng.random(P) > 0.03  # a few projects are never evaluated
    n_meet = 1 + n_coord + evaluated
    pm = np.repeat(np.arange(P), n_meet)
    pos = np.arange(len(pm)) - np.searchsorted(pm, pm, side="left")  # 0 hearing, then coordination, evaluation
    meeting = np.where(pos == 0, 0, np.where(pos <= n_coord[pm], 1, 2))
    hearing_month = rng.integers(0, 6, size=P)
    month = np.minimum(hearing_month[pm] + pos * rng.integers(1, 3, size=len(pm)), 11)
    day = rng.integers(1, 28, size=len(pm))
    years = np.array([int(y) for y in YEARS])
    dates = pd.to_datetime({"year": years[y_idx[pm]], "month": month + 1, "day": day}).dt.strftime("%Y-%m-%d")
    comm_codes = ctx.comm["code"].to_numpy()
    project_id = np.char.add(np.char.add(comm_codes[c_idx].astype(str), "-"),
                             np.char.add(np.array(YEARS)[y_idx], np.char.add("-", np.char.zfill(k.astype(str), 2))))
    rating = np.where(meeting == 2, np.clip(np.round(rng.normal(80 + 5 * level[c_idx[pm]], 8), 1), 0, 100), np.nan)
    attendees = rng.poisson(np.select([meeting == 0, meeting == 1], [28, 15], 22)).astype(np.int32)
    return pd.DataFrame({
        "community": comm_codes[c_idx[pm]], "project_id": project_id[pm],
        "meeting": np.array(["hearing", "coordination", "evaluation"])[meeting], "date": dates.to_numpy(),
        "rating": rating, "attendees": attendees})


# ----------------------------------------------------------------------------------------------------------------

def generate_demo_data(size: str = "small", seed: int = DEFAULT_SEED,
                       progress: Callable[[str], None] | None = None, events: bool = True) -> dict:
    """Generate the synthetic demo data set: every raw table of ``docs/data.md`` plus the framework.

    Parameters
    ----------
    size : ``"small"`` (4 街镇, ≤25 communities each, populations ×0.1; seconds; for tests) or ``"full"``
        (36 街镇, 1,275 communities; ~1.2M survey rows, ~16M hotline tickets; under a minute).
    seed : the random seed; the same seed gives identical tables.
    progress : optional callback, called with the name of each stage before it runs (for progress displays).
    events : False: plant no events (a null data set for false-alarm rates; district-wide movements stay).

    Returns
    -------
    dict mapping table name (see :data:`TABLE_NAMES`) to a DataFrame, plus ``"framework"`` (the parsed YAML
    dict of the illustrative framework). ``hotline_tickets`` is one DataFrame for all years.

    Examples
    --------
    >>> t = generate_demo_data("small", seed=1)
    >>> sorted(t["units"]["kind"].unique())
    ['农场', '区', '居委', '开发区', '村委', '街道', '镇']
    >>> t["doorstep_catalogue"]["tier"].value_counts().to_dict()
    {'basic': 84, 'bottom_line': 38, 'quality': 25}
    """
    one_of(size, ("small", "full"), "size")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed: expected a non-negative integer, got {seed!r}")
    def stage(name: str) -> None:
        if progress is not None:
            progress(name)

    stage("units and latent governance levels")
    ctx = _Context(size, int(seed), events=bool(events))
    framework = default_framework()
    stage("population")
    population, structure, residents, comm_adults = _population(ctx)
    stage("admin observations and planted events")
    observations, gt_obs = _observations(ctx, population, framework)
    stage("survey responses")
    survey, survey_items, gt_survey = _survey(ctx, structure, comm_adults)
    stage("hotline tickets")
    hotline = _hotline(ctx, residents)
    stage("doorstep services")
    catalogue = _catalogue(ctx)
    stations = _stations(ctx)
    menus, adopt, end, gt_menu = _menus(ctx, catalogue)
    records, gt_records = _records(ctx, catalogue, adopt, end, residents)
    evaluations = _evaluations(ctx)
    gt = pd.concat([g for g in (gt_obs, gt_survey, gt_menu, gt_records, getattr(ctx, "hotline_events", None))
                    if g is not None and len(g)], ignore_index=True)
    gt.insert(0, "event_id", [f"E{k:03d}" for k in range(1, len(gt) + 1)])
    gt["magnitude"] = gt["magnitude"].astype(float).round(4)
    gt["magnitude_sd"] = gt["magnitude_sd"].astype(float).round(3)
    # 家门口 conformity (#18): checklist, inspections, projects, tidied meeting chains and their planted events.
    from .demo_conformity import conformity_demo
    conformity = conformity_demo(ctx.comm, 0.6 * ctx.comp[ctx.comm_jz, 4] + 0.5 * ctx.comm_effect, stations,
                                 evaluations, np.random.default_rng(np.random.SeedSequence([ctx.seed, 18])), YEARS)
    evaluations = conformity.pop("doorstep_evaluations")
    gt_conf = conformity.pop("ground_truth")
    gt_conf.insert(0, "event_id", [f"E{k:03d}" for k in range(len(gt) + 1, len(gt) + len(gt_conf) + 1)])
    gt = pd.concat([gt, gt_conf], ignore_index=True)
    return {
        "units": ctx.units, "population": population, "population_structure": structure,
        "observations": observations, "survey_responses": survey, "survey_items": survey_items,
        "hotline_tickets": hotline, "doorstep_catalogue": catalogue, "doorstep_stations": stations,
        "doorstep_menus": menus, "doorstep_records": records, "doorstep_evaluations": evaluations,
        "ground_truth": gt, "framework": framework,
        **conformity,
    }
