"""Charts for the reports: one colour-blind-safe palette, Chinese labels, ``ax=None`` in and the Axes out.

Computation lives in the engines; these functions only draw tidy tables they are given (seaborn's split). Every
function takes ``ax=None`` (a new figure when omitted) and returns the Axes it drew on (small multiples take and
return an array of Axes). The palette is Okabe & Ito's (2008) eight colours, distinguishable with the common
colour-vision deficiencies; continuous values use ``cividis`` (perceptually uniform and colour-blind safe).

Call :func:`govlib.reports.fonts.setup_fonts` once (done on import here) so Chinese names render; reports also call
:func:`govlib.reports.fonts.install_strict_glyphs` so a missing glyph fails the report instead of drawing boxes.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .fonts import setup_fonts

__all__ = ["PALETTE", "SEQUENTIAL_CMAP", "LEVEL_COLOURS", "TILE_GRID", "short_name", "rank_dot_plot",
           "profile_bars", "trend_small_multiples", "heatmap", "ci_bars", "tile_map", "style", "figure_png", "show"]

#: Okabe-Ito colour-blind-safe palette (blue, orange, green, vermillion, purple, sky blue, yellow, black).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SEQUENTIAL_CMAP = "cividis"
#: Alert levels: vermillion, orange, sky blue (distinct also in grey scale by lightness).
LEVEL_COLOURS = {"red": "#D55E00", "amber": "#E69F00", "info": "#56B4E9"}
_GREY = "#BBBBBB"
#: flag values (codes and their zh/en display words) drawn grey: too uncertain to publish
SUPPRESSED_FLAGS = ("suppressed", "suppress", "不发布", "not published")

#: A hand-made tile grid of the 36 街镇, ``code -> (row, col)``, north at the top and the Huangpu on the left:
#: the northern towns (高桥 高东 高行 曹路), the inner-city 街道 along the river (沪东新村 ... 东明路), the central
#: towns (金桥 张江 北蔡 唐镇 川沙 康桥), the east coast (合庆 祝桥) and the southern towns (惠南 书院 老港 南汇新城镇
#: 泥城 大团 万祥). Rough geography, no boundary files.
TILE_GRID: dict[str, tuple[int, int]] = {
    "310115104000": (0, 1), "310115123000": (0, 2),                                   # 高桥 高东
    "310115011000": (1, 0), "310115121000": (1, 1), "310115117000": (1, 2),          # 沪东新村 高行 曹路
    "310115014000": (2, 0), "310115012000": (2, 1), "310115120000": (2, 2),          # 浦兴路 金杨新村 金桥
    "310115114000": (2, 3), "310115110000": (2, 4),                                   # 唐镇 合庆
    "310115005000": (3, 0), "310115013000": (3, 1), "310115016000": (3, 2),          # 陆家嘴 洋泾 花木
    "310115125000": (3, 3), "310115103000": (3, 4),                                   # 张江 川沙新镇
    "310115004000": (4, 0), "310115008000": (4, 1), "310115105000": (4, 2),          # 潍坊新村 塘桥 北蔡
    "310115136000": (4, 3), "310115139000": (4, 4),                                   # 康桥 祝桥
    "310115010000": (5, 0), "310115007000": (5, 1), "310115009000": (5, 2),          # 南码头路 周家渡 上钢新村
    "310115132000": (5, 3),                                                           # 周浦
    "310115015000": (6, 0), "310115130000": (6, 1), "310115137000": (6, 2),          # 东明路 三林 航头
    "310115133000": (6, 3), "310115141000": (6, 4),                                   # 新场 宣桥
    "310115134000": (7, 2), "310115131000": (7, 3), "310115144000": (7, 4),          # 大团 惠南 老港
    "310115143000": (8, 2), "310115140000": (8, 3), "310115142000": (8, 4),          # 万祥 泥城 书院
    "310115145000": (9, 4),                                                           # 南汇新城镇
}


def style() -> None:
    """Apply the report style: CJK fonts, the palette as the colour cycle, light grid, no top/right spines.

    Examples
    --------
    >>> style()
    >>> mpl.rcParams["axes.prop_cycle"].by_key()["color"][0]
    '#0072B2'
    """
    setup_fonts()
    mpl.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "axes.spines.top": False, "axes.spines.right": False,
        "axes.grid": True, "grid.color": "#E5E5E5", "grid.linewidth": 0.6,
        "figure.dpi": 100, "savefig.dpi": 110, "figure.autolayout": False,
        "axes.titlesize": 11, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
        "legend.fontsize": 8, "legend.frameon": False,
    })


style()


def _axes(ax, figsize=(6.4, 4.0)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def short_name(name: str) -> str:
    """A 街镇 name without its suffix, for tiles and crowded axes (陆家嘴街道 -> 陆家嘴, 川沙新镇 -> 川沙).

    Examples
    --------
    >>> [short_name(n) for n in ["陆家嘴街道", "川沙新镇", "唐镇", "南汇新城镇", "高桥镇"]]
    ['陆家嘴', '川沙', '唐镇', '南汇新城', '高桥']
    """
    name = str(name)
    for suffix in ("街道", "新镇", "镇"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def rank_dot_plot(df: pd.DataFrame, ax=None, label: str = "label", rank: str = "rank", low: str = "rank_low",
                  high: str = "rank_high", highlight: Iterable[str] = (), xlabel: str = "排名 rank"):
    """Dot plot of ranks with their uncertainty intervals (best rank at the top).

    Parameters
    ----------
    df : one row per unit with ``label``, ``rank`` and optionally ``rank_low``/``rank_high`` (e.g. the 5-95%
        Monte Carlo interval).
    highlight : labels drawn in the accent colour (e.g. the report's own 街镇).

    Examples
    --------
    >>> d = pd.DataFrame({"label": ["甲", "乙"], "rank": [1, 2], "rank_low": [1, 1], "rank_high": [2, 3]})
    >>> ax = rank_dot_plot(d); [t.get_text() for t in ax.get_yticklabels()]
    ['甲', '乙']
    >>> plt.close("all")
    """
    ax = _axes(ax, figsize=(6.4, max(2.5, 0.22 * len(df) + 1)))
    d = df.sort_values(rank).reset_index(drop=True)
    y = np.arange(len(d))
    marked = d[label].isin(set(highlight)).to_numpy()
    colours = np.where(marked, PALETTE[3], PALETTE[0])
    if low in d.columns and high in d.columns:
        lo = d[low].to_numpy(float)
        hi = d[high].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.hlines(y[ok], lo[ok], hi[ok], colors=colours[ok], linewidth=2.2, alpha=0.45)
    ax.scatter(d[rank].to_numpy(float), y, c=colours, s=22, zorder=3)
    ax.set_yticks(y, d[label].astype(str).tolist())
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.grid(axis="y", visible=False)
    return ax


def profile_bars(df: pd.DataFrame, ax=None, label: str = "label", value: str = "score",
                 references: Mapping[str, str] | None = None, xlabel: str = "得分 score (0-100)"):
    """Horizontal bars of one unit's dimension scores with reference markers (district and peer medians).

    Parameters
    ----------
    df : one row per dimension with ``label`` and ``value`` and the reference columns.
    references : ``{column: legend label}`` drawn as markers, e.g. ``{"district_median": "全区中位数"}``.

    Examples
    --------
    >>> d = pd.DataFrame({"label": ["党建", "民生"], "score": [60.0, 70.0], "district_median": [55.0, 72.0]})
    >>> ax = profile_bars(d, references={"district_median": "全区中位数"})
    >>> len(ax.patches)
    2
    >>> plt.close("all")
    """
    ax = _axes(ax, figsize=(6.4, max(2.5, 0.45 * len(df) + 1)))
    y = np.arange(len(df))
    ax.barh(y, df[value].to_numpy(float), color=PALETTE[0], alpha=0.85, height=0.6, label=None)
    markers = ["D", "o", "s", "^"]
    for i, (col, text) in enumerate((references or {}).items()):
        if col in df.columns:
            ax.scatter(df[col].to_numpy(float), y, marker=markers[i % 4], color=PALETTE[1 + i], s=30, zorder=3,
                       label=text)
    ax.set_yticks(y, df[label].astype(str).tolist())
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    if references:
        ax.legend(loc="lower right", scatterpoints=1)
    return ax


def trend_small_multiples(df: pd.DataFrame, axes=None, panel: str = "panel", x: str = "period", y: str = "score",
                          notes: Mapping[str, str] | None = None, change_points: Mapping[str, str] | None = None,
                          ncols: int = 3, ylabel: str = "得分"):
    """One small line chart per panel (e.g. per dimension) with a text note and a change-point line.

    Parameters
    ----------
    df : tidy rows ``panel, x, y``; ``x`` are period strings (plotted in order).
    notes : per panel, a short annotation such as ``"↑ 1.2/年 p=0.01"`` (Mann-Kendall/Sen result).
    change_points : per panel, the period at which a change point was found (drawn as a dashed line).
    axes : an array of Axes with at least one per panel; made when omitted.

    Returns
    -------
    numpy array of Axes (unused ones hidden).

    Examples
    --------
    >>> d = pd.DataFrame({"panel": ["A"] * 3 + ["B"] * 3, "period": ["2023", "2024", "2025"] * 2,
    ...                   "score": [1, 2, 3, 3, 2, 1]})
    >>> axs = trend_small_multiples(d, notes={"A": "↑"}, change_points={"B": "2024"})
    >>> [a.get_title() for a in axs[:2]]
    ['A', 'B']
    >>> plt.close("all")
    """
    panels = list(dict.fromkeys(df[panel].tolist()))
    if axes is None:
        nrows = max(1, int(np.ceil(len(panels) / ncols)))
        _, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 1.9 * nrows + 0.3), sharex=True,
                               layout="constrained", squeeze=False)
    axes = np.asarray(axes).ravel()
    xs = sorted(df[x].astype(str).unique())
    pos = {p: i for i, p in enumerate(xs)}
    for ax, name in zip(axes, panels):
        part = df[df[panel] == name]
        ax.plot(part[x].astype(str).map(pos), part[y].to_numpy(float), marker="o", markersize=3,
                color=PALETTE[0], linewidth=1.4)
        ax.set_title(str(name), fontsize=9)
        if notes and notes.get(name):
            ax.text(0.02, 0.95, notes[name], transform=ax.transAxes, fontsize=7.5, va="top", color=PALETTE[7])
        cp = (change_points or {}).get(name)
        if cp is not None and str(cp) in pos:
            ax.axvline(pos[str(cp)], color=PALETTE[3], linestyle="--", linewidth=1)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    step = max(1, len(xs) // 4)
    for ax in axes[: len(panels)]:
        ax.set_xticks(range(0, len(xs), step), xs[::step])
    axes[0].set_ylabel(ylabel)
    return axes


def heatmap(matrix: pd.DataFrame, ax=None, fmt: str = "{:.0f}", cmap: str = SEQUENTIAL_CMAP,
            vmin: float | None = None, vmax: float | None = None, colorbar_label: str = "得分"):
    """Heat map of a table (rows x columns, e.g. 街镇 x dimension) with values written in the cells.

    Examples
    --------
    >>> m = pd.DataFrame([[50.0, 60.0], [70.0, np.nan]], index=["甲", "乙"], columns=["D1", "D2"])
    >>> ax = heatmap(m); [t.get_text() for t in ax.get_xticklabels()]
    ['D1', 'D2']
    >>> plt.close("all")
    """
    ax = _axes(ax, figsize=(0.9 * matrix.shape[1] + 2.5, 0.24 * matrix.shape[0] + 1.2))
    values = matrix.to_numpy(float)
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns], rotation=30, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index])
    ax.grid(False)
    norm = image.norm
    if matrix.size <= 600:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                dark = norm(v) < 0.55
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.figure.colorbar(image, ax=ax, shrink=0.6, label=colorbar_label)
    return ax


def ci_bars(df: pd.DataFrame, ax=None, label: str = "label", estimate: str = "estimate", low: str = "ci_low",
            high: str = "ci_high", reference: float | None = None, flag: str | None = "flag",
            xlabel: str = "估计值与95%置信区间"):
    """Point estimates with confidence intervals, one row per label; flagged rows (e.g. suppressed) in grey.

    Examples
    --------
    >>> d = pd.DataFrame({"label": ["便利", "治安"], "estimate": [80.0, 85.0], "ci_low": [78.0, 83.0],
    ...                   "ci_high": [82.0, 87.0], "flag": ["", "suppressed"]})
    >>> ax = ci_bars(d, reference=82.0); len(ax.get_yticklabels())
    2
    >>> plt.close("all")
    """
    ax = _axes(ax, figsize=(6.4, max(2.2, 0.35 * len(df) + 1)))
    y = np.arange(len(df))
    est = df[estimate].to_numpy(float)
    lo = df[low].to_numpy(float)
    hi = df[high].to_numpy(float)
    grey = df[flag].fillna("").astype(str).isin(SUPPRESSED_FLAGS).to_numpy() if flag and flag in df.columns else \
        np.zeros(len(df), bool)
    colours = np.where(grey, _GREY, PALETTE[0])
    ax.hlines(y, lo, hi, colors=colours, linewidth=2)
    ax.scatter(est, y, c=colours, s=24, zorder=3)
    if reference is not None and np.isfinite(reference):
        ax.axvline(reference, color=PALETTE[1], linestyle="--", linewidth=1)
    ax.set_yticks(y, df[label].astype(str).tolist())
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    return ax


def tile_map(values: Mapping[str, float] | pd.Series, ax=None, labels: Mapping[str, str] | None = None,
             grid: Mapping[str, tuple[int, int]] = TILE_GRID, cmap: str = SEQUENTIAL_CMAP,
             vmin: float | None = None, vmax: float | None = None, highlight: Sequence[str] = (),
             colorbar_label: str = "得分", fmt: str = "{:.0f}"):
    """A tile map of the 36 街镇: one square per code at its (row, col), coloured by value.

    Units without a value are light grey; ``labels`` gives each tile's name (short Chinese names by default when
    given full names); highlighted codes get a thick outline.

    Examples
    --------
    >>> ax = tile_map({"310115005000": 70.0, "310115004000": 60.0}, labels={"310115005000": "陆家嘴街道"})
    >>> len(ax.patches)
    36
    >>> plt.close("all")
    """
    from matplotlib.patches import Rectangle

    values = pd.Series(values, dtype=float) if not isinstance(values, pd.Series) else values.astype(float)
    ax = _axes(ax, figsize=(4.6, 6.4))
    finite = values[np.isfinite(values)]
    lo = vmin if vmin is not None else (float(finite.min()) if len(finite) else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if len(finite) else 1.0)
    norm = mpl.colors.Normalize(lo, hi if hi > lo else lo + 1)
    colormap = mpl.colormaps[cmap]
    marked = set(highlight)
    if labels is None or not set(grid) <= set(labels):  # every tile gets its name, even without data
        from ..data.units import jiezhen_table

        known = jiezhen_table()
        labels = {**dict(zip(known["code"], known["name_zh"])), **dict(labels or {})}
    for code, (row, col) in grid.items():
        v = values.get(code, np.nan)
        face = colormap(norm(v)) if np.isfinite(v) else _GREY
        ax.add_patch(Rectangle((col, -row), 0.94, -0.94, facecolor=face,
                               edgecolor=PALETTE[3] if code in marked else "white",
                               linewidth=2.5 if code in marked else 1))
        text = short_name((labels or {}).get(code, code[6:9]))
        dark = np.isfinite(v) and norm(v) < 0.55
        colour = "white" if dark else "black"
        ax.text(col + 0.47, -row - 0.36, text, ha="center", va="center", fontsize=7, color=colour)
        if np.isfinite(v):
            ax.text(col + 0.47, -row - 0.66, fmt.format(v), ha="center", va="center", fontsize=7, color=colour)
    rows = max(r for r, _ in grid.values()) + 1
    cols = max(c for _, c in grid.values()) + 1
    ax.set_xlim(-0.1, cols + 0.1)
    ax.set_ylim(-rows - 0.1, 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    mappable = mpl.cm.ScalarMappable(norm=norm, cmap=colormap)
    ax.figure.colorbar(mappable, ax=ax, shrink=0.5, label=colorbar_label)
    return ax


def figure_png(fig, dpi: int = 110) -> bytes:
    """A figure as PNG bytes (backend-independent; used to embed charts in reports and the portal).

    Examples
    --------
    >>> fig, ax = plt.subplots(); figure_png(fig)[:4]
    b'\\x89PNG'
    >>> plt.close(fig)
    """
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def show(fig, dpi: int = 110) -> None:
    """Display a figure in a notebook as an embedded PNG and close it.

    Works whatever the matplotlib backend (papermill kernels may run with ``MPLBACKEND=Agg``, where ``plt.show``
    displays nothing); drawing happens here, so a missing glyph raises in the cell that drew the chart.
    """
    from IPython.display import Image, display

    try:
        display(Image(data=figure_png(fig, dpi=dpi)))
    finally:
        plt.close(fig)


def waterfall(df: pd.DataFrame, ax=None, label: str = "label", value: str = "contribution", kind: str = "kind",
              ylabel: str = "得分"):
    """Waterfall of a score change: a start bar, one floating bar per contribution (up blue, down vermillion),
    an end bar. ``df`` as from :func:`govlib.reports.views.change_table` (kind ``start``/``end`` are totals).

    Examples
    --------
    >>> d = pd.DataFrame({"label": ["2024", "甲", "乙", "2025"], "kind": ["start", "dimension", "dimension", "end"],
    ...                   "contribution": [50.0, 2.0, -1.0, 51.0]})
    >>> ax = waterfall(d); [round(float(p.get_height()), 1) for p in ax.patches]
    [50.0, 2.0, -1.0, 51.0]
    >>> plt.close("all")
    """
    ax = _axes(ax, figsize=(7.5, 3.6))
    level = 0.0
    bottoms, heights, colours = [], [], []
    for k, v in zip(df[kind], df[value].astype(float)):
        if k in ("start", "end"):
            bottoms.append(0.0), heights.append(v), colours.append(_GREY)
            level = v
        else:
            bottoms.append(level), heights.append(v), colours.append(PALETTE[0] if v >= 0 else PALETTE[3])
            level += v
    x = np.arange(len(df))
    ax.bar(x, heights, bottom=bottoms, color=colours, width=0.6)
    # zoom onto the changes: the totals are tall, the contributions small
    pts = [p for b, h, k in zip(bottoms, heights, df[kind]) for p in ((h,) if k in ("start", "end") else (b, b + h))]
    if pts:
        lo, hi = min(pts), max(pts)
        span = max(hi - lo, 0.5)
        ax.set_ylim(max(0.0, lo - 0.5 * span), hi + 0.3 * span)
    for xi, b, h, k in zip(x, bottoms, heights, df[kind]):
        text = f"{h:.1f}" if k in ("start", "end") else f"{h:+.2f}"
        ax.text(xi, b + h if h >= 0 else b, text, ha="center", va="bottom", fontsize=7.5)
    ax.set_xticks(x, [short_name(str(v)) for v in df[label]], rotation=25, ha="right")
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", visible=False)
    return ax


def rank_comparison(df: pd.DataFrame, ax=None, x: str = "rank", y: str = "rank_median",
                    xlabel: str = "点估计排名", ylabel: str = "蒙特卡洛中位排名"):
    """Scatter of two rankings of the same units against the diagonal (e.g. point-estimate vs Monte Carlo median).

    Examples
    --------
    >>> ax = rank_comparison(pd.DataFrame({"rank": [1, 2, 3], "rank_median": [1, 3, 2]})); len(ax.lines)
    1
    >>> plt.close("all")
    """
    ax = _axes(ax, figsize=(5, 5))
    ax.scatter(df[x].astype(float), df[y].astype(float), color=PALETTE[0])
    n = max(len(df), 1)
    ax.plot([1, n], [1, n], color=PALETTE[7], linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def group_strip(df: pd.DataFrame, ax=None, group: str = "peer_group", value: str = "score",
                xlabel: str = "得分（竖线为中位数）"):
    """One row of dots per group with its median as a bar (e.g. scores by peer group).

    Examples
    --------
    >>> ax = group_strip(pd.DataFrame({"peer_group": ["城区", "城区", "远郊"], "score": [60.0, 70.0, 50.0]}))
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['城区', '远郊']
    >>> plt.close("all")
    """
    ax = _axes(ax, figsize=(7, 2.8))
    groups = sorted(df[group].dropna().astype(str).unique())
    for i, g in enumerate(groups):
        part = df[df[group].astype(str) == g][value].astype(float)
        ax.scatter(part, [i] * len(part), color=PALETTE[i % 8], alpha=0.8)
        ax.scatter([part.median()], [i], marker="|", s=400, color="black")
    ax.set_yticks(range(len(groups)), groups)
    ax.set_xlabel(xlabel)
    return ax
