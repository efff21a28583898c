"""The CJK font for charts: an open-licensed Noto Sans SC, made usable by matplotlib.

The dependency ``justmytype-intl-cjk`` ships Noto Sans SC (SIL Open Font License) as a single *variable* TrueType
file whose default instance is weight 100 (Thin); matplotlib cannot pick weights inside a variable font, so it
draws everything Thin and warns "Failed to find font weight normal". At first use we cut two static instances
(Regular, wght=400, and Bold, wght=700) with fontTools' instancer, cache them under the user's cache folder
(written atomically, so parallel report workers never see half a file) and register them with matplotlib. A
system "Noto Sans CJK SC" (Debian's fonts-noto-cjk) is preferred when installed. SimHei is never used.

Missing glyphs are errors in reports and tests: :func:`strict_glyphs` turns matplotlib's "Glyph ... missing from
font" warning into an exception, because a chart with boxes instead of Chinese names must not be published.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Iterator

__all__ = ["FONT_FAMILIES", "setup_fonts", "font_cache_dir", "static_font_paths", "strict_glyphs",
           "install_strict_glyphs", "MISSING_GLYPH_PATTERN"]

# The order matplotlib searches per glyph: a system Noto Sans CJK SC first, our static Noto Sans SC next, and
# DejaVu Sans for the few symbols the CJK font lacks.
FONT_FAMILIES = ["Noto Sans CJK SC", "Noto Sans SC", "DejaVu Sans"]
MISSING_GLYPH_PATTERN = r"(?s).*Glyph .* missing from"
_FAMILY = "Noto Sans SC"
_WEIGHTS = {"Regular": 400, "Bold": 700}
_done = False


def font_cache_dir() -> Path:
    """Where the static font instances are cached: ``$GOVLIB_CACHE_DIR/fonts``, else ``~/.cache/govlib/fonts``.

    Examples
    --------
    >>> font_cache_dir().name
    'fonts'
    """
    base = os.environ.get("GOVLIB_CACHE_DIR")
    if base:
        return Path(base) / "fonts"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "govlib" / "fonts"


def _variable_font() -> Path:
    import justmytype_intl_cjk

    path = Path(justmytype_intl_cjk.__file__).parent / "fonts" / "ofl" / "notosanssc" / "NotoSansSC[wght].ttf"
    if not path.exists():  # pragma: no cover - a broken installation
        raise FileNotFoundError(f"Noto Sans SC not found at {path}; reinstall the 'justmytype-intl-cjk' package")
    return path


def _instantiate(source: Path, style: str, weight: int, target: Path) -> None:
    """Cut one static instance of the variable font and name it ``Noto Sans SC <style>``."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib.instancer import instantiateVariableFont

    from ..data.store import atomic_path

    font = TTFont(str(source))
    static = instantiateVariableFont(font, {"wght": weight}, inplace=False)
    name = static["name"]
    # Plain names so matplotlib sees one family with two weights (instancer keeps the variable font's names).
    for record_id in (16, 17, 21, 22, 25):
        name.removeNames(nameID=record_id)
    postscript = f"NotoSansSC-{style}"
    for record_id, value in ((1, _FAMILY), (2, style), (4, f"{_FAMILY} {style}"), (6, postscript),
                             (3, f"govlib;{postscript}")):
        name.setName(value, record_id, 3, 1, 0x409)
        name.setName(value, record_id, 1, 0, 0)
    static["OS/2"].usWeightClass = weight
    static["OS/2"].fsSelection = (static["OS/2"].fsSelection & ~0b1100001) | (0b100000 if style == "Bold" else 0b1000000)
    static["head"].macStyle = 1 if style == "Bold" else 0
    with atomic_path(target, suffix=".ttf") as tmp:
        static.save(str(tmp))


def static_font_paths() -> dict[str, Path]:
    """Paths of the cached static Regular and Bold instances, made on first call.

    Examples
    --------
    >>> sorted(static_font_paths())
    ['Bold', 'Regular']
    """
    cache = font_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    source = _variable_font()
    stamp = f"{source.stat().st_size}"
    paths = {style: cache / f"NotoSansSC-{style}-{stamp}.ttf" for style in _WEIGHTS}
    missing = [s for s, p in paths.items() if not p.exists()]
    if missing:
        from filelock import FileLock

        # Several report workers may start at once: one cuts the fonts, the others wait for it.
        with FileLock(str(cache / ".fonts.lock"), timeout=600):
            for style in missing:
                if not paths[style].exists():
                    _instantiate(source, style, _WEIGHTS[style], paths[style])
    return paths


def setup_fonts() -> list[str]:
    """Register the CJK fonts with matplotlib and make them the default sans-serif; return the family list.

    Idempotent and cheap after the first call in a process.

    Examples
    --------
    >>> setup_fonts()[:2]
    ['Noto Sans CJK SC', 'Noto Sans SC']
    """
    global _done
    import matplotlib as mpl
    from matplotlib import font_manager

    if not _done:
        have_system = any(f.name == "Noto Sans CJK SC" for f in font_manager.fontManager.ttflist)
        if not have_system:
            known = {Path(f.fname).resolve() for f in font_manager.fontManager.ttflist}
            for path in static_font_paths().values():
                if path.resolve() not in known:
                    font_manager.fontManager.addfont(str(path))
        _done = True
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = FONT_FAMILIES + [f for f in mpl.rcParams["font.sans-serif"]
                                                       if f not in FONT_FAMILIES]
    mpl.rcParams["axes.unicode_minus"] = False  # the ASCII hyphen-minus is in every font
    return list(FONT_FAMILIES)


@contextlib.contextmanager
def strict_glyphs() -> Iterator[None]:
    """Within the block, a glyph missing from every font raises ``UserWarning`` as an exception.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> _ = setup_fonts()
    >>> with strict_glyphs():
    ...     fig, ax = plt.subplots()
    ...     _ = ax.set_title("陆家嘴街道")
    ...     fig.canvas.draw()
    >>> plt.close(fig)
    """
    with warnings.catch_warnings():
        install_strict_glyphs()
        yield


def install_strict_glyphs() -> None:
    """Make the missing-glyph warning an error for the rest of the process (for notebooks and report kernels)."""
    warnings.filterwarnings("error", message=MISSING_GLYPH_PATTERN, category=UserWarning)
