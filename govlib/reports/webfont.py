"""Chinese text that renders the same everywhere: a WOFF2 subset of the bundled Noto Sans SC in every page.

A report or the portal opened on a machine without a CJK font (a fresh Debian, many locked-down office PCs) would
show every Chinese character as a box. :func:`embed_font` cuts the bundled OFL Noto Sans SC (the static Regular and
Bold instances of :mod:`govlib.reports.fonts`) down to the characters the page uses — a few hundred glyphs, tens of
kilobytes — compresses it as WOFF2 (fontTools with brotli) and puts it into the page as a data-URI ``@font-face``,
first in the font stack. Nothing is loaded from the network.
"""
from __future__ import annotations

import base64
import functools
import io
import re

__all__ = ["FAMILY", "WEBFONT_MARK", "subset_woff2", "font_face_css", "embed_font", "page_characters"]

#: the embedded family's name (distinct from any installed font so the subset is what is used)
FAMILY = "govlib Noto Sans SC"
_FALLBACK = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
WEBFONT_MARK = "<!-- govlib-webfont -->"


def page_characters(page: str) -> str:
    """The characters a page can show: its text without tags, plus printable ASCII (numbers typed by scripts).

    Examples
    --------
    >>> "陆" in page_characters("<p>陆家嘴</p>") and "7" in page_characters("")
    True
    """
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    text = re.sub(r"data:[^\"')\s]+", " ", text)
    chars = set(text) | {chr(c) for c in range(0x20, 0x7F)} | set("–—·…“”‘’（）《》，。：；！？、％−×→↑↓▲▼　")
    return "".join(sorted(c for c in chars if c.isprintable() or c == "\u3000"))


@functools.lru_cache(maxsize=8)
def _font_bytes(style: str) -> bytes:
    from .fonts import static_font_paths

    return static_font_paths()[style].read_bytes()


def subset_woff2(characters: str, style: str = "Regular") -> bytes:
    """A WOFF2 font with only the glyphs of ``characters`` (``style``: Regular or Bold).

    Examples
    --------
    >>> data = subset_woff2("陆家嘴 71.2")
    >>> data[:4], len(data) < 20_000
    (b'wOF2', True)
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(_font_bytes(style)), lazy=True, recalcTimestamp=False)  # same bytes every run
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["kern", "liga", "locl", "palt", "vert"]
    options.name_IDs = [1, 2]  # the family and style names only
    options.hinting = False
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff2"
    font.save(out)
    return out.getvalue()


def font_face_css(characters: str, weights: tuple[str, ...] = ("Regular", "Bold")) -> str:
    """``@font-face`` rules (data URIs) for the subset, and a rule that puts the family first everywhere."""
    rules = []
    for style in weights:
        data = base64.b64encode(subset_woff2(characters, style)).decode("ascii")
        weight = 700 if style == "Bold" else 400
        rules.append(f'@font-face{{font-family:"{FAMILY}";font-style:normal;font-weight:{weight};'
                     f'src:url(data:font/woff2;base64,{data}) format("woff2");}}')
    stack = f'"{FAMILY}", {_FALLBACK}'
    rules.append(f":root{{--jp-content-font-family:{stack};--jp-ui-font-family:{stack};}}"
                 f"body, body *:not(code):not(pre):not(kbd):not(samp){{font-family:{stack} !important;}}")
    return "\n".join(rules)


def embed_font(page: str) -> str:
    """The page with the font subset of its own characters embedded in its ``<head>`` (idempotent).

    Examples
    --------
    >>> page = embed_font("<html><head></head><body><p>陆家嘴</p></body></html>")
    >>> page.count("@font-face"), "font/woff2;base64" in page, embed_font(page) == page
    (2, True, True)
    """
    if WEBFONT_MARK in page:
        return page
    css = f'{WEBFONT_MARK}<style id="govlib-webfont">{font_face_css(page_characters(page))}</style>'
    head = re.search(r"</head\s*>", page, flags=re.I)
    if head:
        return page[:head.start()] + css + page[head.start():]
    return css + page
