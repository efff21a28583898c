"""Charts: every function returns its Axes, Chinese renders with the packaged static Noto Sans SC (no missing-glyph
warning, no Thin fallback), the palette is Okabe-Ito, and the tile map is a faithful 36-街镇 grid."""
from __future__ import annotations

import logging
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager

from govlib.reports import plots
from govlib.reports.fonts import setup_fonts, static_font_paths, strict_glyphs
from govlib.data.units import jiezhen_table

NAMES = jiezhen_table()


def test_static_font_instances_have_regular_and_bold_weights():
    paths = static_font_paths()
    weights = {style: TTFont(str(p))["OS/2"].usWeightClass for style, p in paths.items()}
    assert weights == {"Regular": 400, "Bold": 700}
    for style, p in paths.items():
        font = TTFont(str(p))
        assert "fvar" not in font, "a static instance must not be variable"
        assert font["name"].getDebugName(1) == "Noto Sans SC"
        assert font.getBestCmap().get(ord("镇")), "the CJK glyphs are in the instance"


def test_matplotlib_finds_regular_and_bold_without_weight_fallback(caplog):
    setup_fonts()
    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
        regular = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
        bold = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"], weight="bold"))
    if not any(f.name == "Noto Sans CJK SC" for f in font_manager.fontManager.ttflist):
        assert regular.endswith(".ttf") and "NotoSansSC-Regular" in regular
        assert "NotoSansSC-Bold" in bold
    assert "Failed to find font weight" not in caplog.text
    assert matplotlib.rcParams["font.sans-serif"][:3] == ["Noto Sans CJK SC", "Noto Sans SC", "DejaVu Sans"]
    assert all("simhei" not in f.lower() for f in matplotlib.rcParams["font.sans-serif"])


def test_missing_glyph_is_an_error_in_strict_mode():
    setup_fonts()
    fig, ax = plt.subplots()
    ax.set_title("\U0001F600")  # an emoji no configured font has
    with pytest.raises(UserWarning, match="missing from font"):
        with strict_glyphs():
            fig.canvas.draw()
    plt.close(fig)


def test_every_chart_draws_chinese_without_warnings():
    rng = np.random.default_rng(0)
    names = NAMES["name_zh"].tolist()
    league = pd.DataFrame({"label": names, "rank": np.arange(1, 37), "rank_low": np.arange(1, 37) - 1,
                           "rank_high": np.arange(1, 37) + 2})
    dims = pd.DataFrame({"label": ["党建引领", "民生保障", "平安法治"], "score": [60.0, 70.0, 65.0],
                         "district_median": [62.0, 68.0, 64.0]})
    series = pd.DataFrame({"panel": np.repeat(["社会治理指数", "平安法治"], 8),
                           "period": [str(y) for y in range(2018, 2026)] * 2, "score": rng.normal(60, 5, 16)})
    matrix = pd.DataFrame(rng.uniform(40, 90, (5, 3)), index=names[:5], columns=["党建", "民生", "平安"])
    ci = pd.DataFrame({"label": ["生活便利性", "社会治安"], "estimate": [80.0, 85.0], "ci_low": [78.0, 83.5],
                       "ci_high": [82.0, 86.5], "flag": ["", "suppressed"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (glyphs included) fails the test
        with strict_glyphs():
            axes = [plots.rank_dot_plot(league, highlight=["陆家嘴街道"]),
                    plots.profile_bars(dims, references={"district_median": "全区中位数"}),
                    plots.heatmap(matrix), plots.ci_bars(ci, reference=81.0),
                    plots.tile_map(dict(zip(NAMES["code"], rng.uniform(40, 90, 36))),
                                   labels=dict(zip(NAMES["code"], NAMES["name_zh"])), highlight=["310115005000"])]
            multiples = plots.trend_small_multiples(series, notes={"平安法治": "↑ +1.20/年"},
                                                    change_points={"平安法治": "2021"})
            for ax in axes + [multiples[0]]:
                assert isinstance(ax, matplotlib.axes.Axes)
                assert plots.figure_png(ax.figure)[:8] == b"\x89PNG\r\n\x1a\n"
    assert [t.get_text() for t in axes[0].get_yticklabels()][:2] == names[:2]
    assert len(axes[4].patches) == 36
    cp_lines = [ln for ln in multiples[1].lines if ln.get_linestyle() == "--"]
    assert len(cp_lines) == 1 and cp_lines[0].get_xdata()[0] == 3  # 2021 is the 4th period
    assert multiples[0].get_title() == "社会治理指数"
    plt.close("all")


def _tiny_inputs():
    d = pd.DataFrame({"label": ["甲", "乙"], "rank": [1, 2], "rank_low": [1, 1], "rank_high": [2, 3],
                      "score": [60.0, 70.0], "district_median": [62.0, 66.0], "estimate": [80.0, 82.0],
                      "ci_low": [78.0, 80.0], "ci_high": [82.0, 84.0], "rank_median": [1.0, 2.0],
                      "peer_group": ["城区", "远郊"]})
    steps = pd.DataFrame({"label": ["2024", "党建", "2025"], "kind": ["start", "dimension", "end"],
                          "contribution": [50.0, 1.5, 51.5]})
    return {
        "rank_dot_plot": (plots.rank_dot_plot, (d,), {}),
        "profile_bars": (plots.profile_bars, (d,), {"references": {"district_median": "全区中位数"}}),
        "heatmap": (plots.heatmap, (pd.DataFrame([[1.0, 2.0]], index=["甲"], columns=["a", "b"]),), {}),
        "ci_bars": (plots.ci_bars, (d,), {}),
        "tile_map": (plots.tile_map, ({"310115005000": 70.0},), {}),
        "waterfall": (plots.waterfall, (steps,), {}),
        "rank_comparison": (plots.rank_comparison, (d,), {}),
        "group_strip": (plots.group_strip, (d,), {}),
    }


#: every public drawing function of govlib.reports.plots (trend_small_multiples takes an array of axes, below)
DRAWING = sorted(_tiny_inputs())


def test_every_drawing_function_is_covered():
    import inspect

    public = {n for n, f in inspect.getmembers(plots, inspect.isfunction)
              if f.__module__ == plots.__name__ and not n.startswith("_")
              and ("ax" in inspect.signature(f).parameters)}
    assert public == set(DRAWING)


@pytest.mark.parametrize("name", DRAWING)
def test_functions_draw_on_a_given_axes(name):
    func, args, kwargs = _tiny_inputs()[name]
    fig, (ax, other) = plt.subplots(1, 2)
    assert func(*args, ax=ax, **kwargs) is ax
    assert ax.has_data() or ax.patches or ax.collections or ax.images
    assert not other.has_data() and not other.patches and not other.collections  # nothing drawn elsewhere
    assert len(plt.get_fignums()) == 1  # no new figure was made
    plt.close("all")


def test_small_multiples_draw_on_given_axes():
    fig, axes = plt.subplots(1, 3)
    d = pd.DataFrame({"panel": ["A", "A", "B", "B"], "period": ["2024", "2025"] * 2, "score": [1, 2, 3, 4]})
    out = plots.trend_small_multiples(d, axes=axes)
    assert list(out) == list(axes) and [a.get_title() for a in axes[:2]] == ["A", "B"]
    assert not axes[2].get_visible() and len(plt.get_fignums()) == 1
    plt.close("all")


# Colour-vision-deficiency simulation (Machado, Oliveira & Fernandes 2009, severity 1, linear RGB) and CIE76
# distances in CIELAB: every pair of palette colours must stay distinguishable for protan, deutan and tritan
# viewers. matplotlib's default tab10 fails this (a pair falls to about 5 under protanopia).
_CVD = {"protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
        "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
        "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]}


def _lab(linear_rgb):
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(
        linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _min_distance(colours, matrix=None):
    import itertools

    rgb = [np.array(matplotlib.colors.to_rgb(c)) for c in colours]
    lin = [np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) for c in rgb]
    labs = [_lab(np.array(matrix) @ c if matrix is not None else c) for c in lin]
    return min(np.linalg.norm(a - b) for a, b in itertools.combinations(labs, 2))


def test_palette_is_colour_blind_safe():
    for name, matrix in _CVD.items():
        assert _min_distance(plots.PALETTE[:7], matrix) > 12, name
        assert _min_distance(list(plots.LEVEL_COLOURS.values()), matrix) > 12, name
    # the check can fail: matplotlib's default cycle is not safe for protanopes
    assert _min_distance(["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"],
                         _CVD["protan"]) < 12
    # the palette is the colour cycle the report style installs
    plots.style()
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == plots.PALETTE


def test_sequential_map_gets_lighter_monotonically():
    """A sequential map must read in grey scale too: lightness rises steadily from low to high."""
    cmap = matplotlib.colormaps[plots.SEQUENTIAL_CMAP]
    lightness = [_lab(np.where(np.array(c[:3]) <= 0.04045, np.array(c[:3]) / 12.92,
                               ((np.array(c[:3]) + 0.055) / 1.055) ** 2.4))[0] for c in cmap(np.linspace(0, 1, 32))]
    assert np.all(np.diff(lightness) > 0)
    assert not np.all(np.diff([_lab(np.array(c[:3]))[0] for c in matplotlib.colormaps["jet"](
        np.linspace(0, 1, 32))]) > 0)  # a rainbow map fails


def test_tile_grid_covers_the_36_jiezhen_once_and_keeps_geography():
    grid = plots.TILE_GRID
    assert set(grid) == set(NAMES["code"])
    assert len(set(grid.values())) == 36  # no two tiles on one square
    row = {NAMES.set_index("code").loc[c, "name_zh"]: rc[0] for c, rc in grid.items()}
    north = ["高桥镇", "高东镇", "高行镇", "曹路镇"]
    south = ["惠南镇", "书院镇", "老港镇", "南汇新城镇", "泥城镇", "大团镇", "万祥镇"]
    centre = ["陆家嘴街道", "潍坊新村街道", "塘桥街道", "洋泾街道", "花木街道"]
    assert max(row[n] for n in north) < min(row[n] for n in centre)
    assert max(row[n] for n in centre) < min(row[n] for n in south)
    col = {NAMES.set_index("code").loc[c, "name_zh"]: rc[1] for c, rc in grid.items()}
    assert col["陆家嘴街道"] < col["张江镇"] < col["川沙新镇"]  # west (the river) to east (the coast)


@pytest.mark.parametrize("name, short", [("陆家嘴街道", "陆家嘴"), ("川沙新镇", "川沙"), ("唐镇", "唐镇"),
                                         ("南汇新城镇", "南汇新城")])
def test_short_names(name, short):
    assert plots.short_name(name) == short
