"""Derivation to text, LaTeX, Markdown or JSON: one printer per format, one outline for all.

`outline.outline(derivation)` lays a derivation out as blocks (headings, step lines, displayed
equations) whose pieces are words and sympy expressions; each printer (text, latex, markdown,
json) typesets the pieces in its own format. `layout.Layout` writes sums and products the way
a textbook does, shared by the text and LaTeX expression printers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .wrap import DEFAULT_WIDTH

if TYPE_CHECKING:
    from gdc.calculus.derivation import Derivation

FORMATS = ("text", "latex", "markdown", "json")   # each with golden files; html converts latex's math


def render(derivation: Derivation, fmt: str = "text", color: bool = False, *, order: str = "tree",
           width: int | None = DEFAULT_WIDTH) -> str:
    """The derivation in one format: text (optionally with bold rule names, lines broken at
    `width` columns), latex, markdown, json, html (a fragment whose math is MathML); `order` is "tree" (each result, then why) or
    "textbook" (the smallest steps first, each result last); JSON keeps the tree."""
    if fmt == "text":
        from .text import render as text
        return text(derivation, color, order, width)
    if fmt == "latex":
        from .latex import render as latex
        return latex(derivation, order)
    if fmt == "markdown":
        from .markdown import render as markdown
        return markdown(derivation, order)
    if fmt == "json":
        from .json import render as json
        return json(derivation)
    if fmt == "html":
        from .html import render as html
        return html(derivation, order)
    raise ValueError(f"unknown format {fmt!r}; the formats are {', '.join(FORMATS)}, html")
