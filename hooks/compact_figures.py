"""Store notebook figures as palette PNGs: the same picture at about a third of the bytes.

matplotlib writes full-colour RGBA PNGs, and the notebook pages embed them in the HTML, so
every figure byte is downloaded with the page. A chart uses a few dozen colours plus their
anti-aliasing shades, which a 256-colour palette holds without a visible change (alpha
included, so transparent backgrounds stay transparent in the dark theme). Each embedded PNG is
re-encoded that way when that makes it smaller; the stored notebooks keep the originals.
"""

from __future__ import annotations

import base64
import binascii
import io
import re

from page_cache import memo

PNG = re.compile(r"data:image/png;base64,(?P<body>[A-Za-z0-9+/=]+)")
COLOURS = 256


def compact_png(raw: bytes) -> bytes:
    """``raw`` as a palette PNG, or ``raw`` itself when that is not smaller."""
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as image:
        image.load()
        if image.mode not in {"RGB", "RGBA"}:
            return raw
        palette = image.quantize(
            colors=COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
    out = io.BytesIO()
    palette.save(out, "PNG", optimize=True)
    return out.getvalue() if out.tell() < len(raw) else raw


def _replace(match: re.Match[str]) -> str:
    try:
        raw = base64.b64decode(match["body"], validate=True)
        smaller = compact_png(raw)
    except (binascii.Error, OSError, ValueError):
        return match.group(0)  # not a PNG Pillow can read: leave it as it is
    return "data:image/png;base64," + base64.b64encode(smaller).decode("ascii")


def compact_figures(html: str) -> str:
    return PNG.sub(_replace, html)


def on_page_content(html: str, page, config, files) -> str:
    if "data:image/png;base64," not in html:
        return html
    return memo("figures", __file__, compact_figures, html)
