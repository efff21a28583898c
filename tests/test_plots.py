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


def test_functions_draw_on_a_given_axes():
    fig, ax = plt.subplots()
    d = pd.DataFrame({"label": ["甲"], "rank": [1]})
    assert plots.rank_dot_plot(d, ax=ax) is ax
    plt.close(fig)


def test_palette_is_okabe_ito_and_colour_blind_safe():
    assert plots.PALETTE[:7] == ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]
    assert plots.SEQUENTIAL_CMAP == "cividis"


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
