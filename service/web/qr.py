"""QR codes drawn into the page as inline SVG, for every page that shows one (an authenticator
app's secret, an enrollment code, a verification code).

Drawn on the server and inline: no third party sees what the code holds, and the page needs no
script to show it.
"""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(data: str, title: str) -> Markup:
    """The QR code of `data` as an inline <svg> named by `title` (its accessible name), sized by the page."""
    # make_qr: always a regular QR code. segno.make picks a Micro QR for a short text (a twelve-digit
    # code), and most phone scanners cannot read one.
    # omitsize: a viewBox and no width or height, so the page's style sheet sets the size
    # (`.qr svg { width: ...; height: auto }`) and the drawing scales with it; with a fixed width
    # and height the drawing would keep its own pixel size inside the box the style sheet sets.
    # The scale is then only the viewBox's unit: one module, one unit.
    code = segno.make_qr(data, error="m")
    return Markup(code.svg_inline(scale=1, dark="#000", light="#fff", omitsize=True, title=title))
