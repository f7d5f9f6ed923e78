"""Derivation to an HTML fragment whose math is MathML, which every current browser renders
without scripts or fonts from the network: the LaTeX printer's math, converted by latex2mathml."""

from __future__ import annotations

from html import escape

from gdc.calculus.derivation import Derivation
from .outline import Display, Heading, Line, Math, Paragraph, outline
from .latex import math as latex_math

STYLE = """<style>
.gdc-derivation { line-height: 1.5; }
.gdc-derivation .step { margin: .15em 0; }
.gdc-derivation .rule { font-weight: 600; }
.gdc-derivation .checked { color: #1a7f37; }
.gdc-derivation .note { color: #555; }
.gdc-derivation .display { margin: .6em 0 .6em 1.5em; overflow-x: auto; }
.gdc-derivation .remark { color: #555; margin-left: 1em; }
.gdc-derivation math { font-size: 1.05em; }
</style>"""


def mathml(m: Math, display: bool = False) -> str:
    """One piece of math as a <math> element (block or inline)."""
    from latex2mathml.converter import convert   # pure Python; loaded only when HTML is asked for
    return convert(latex_math(m), display="block" if display else "inline")


def parts(items) -> str:
    return "".join(mathml(p) if isinstance(p, Math) else escape(p) for p in items)


def render(d: Derivation, order: str = "tree", style: bool = True) -> str:
    """A <div> to put in a page: headings, one line per step (✓: checked by sympy), the results
    set apart; `style` adds a small <style> element for it."""
    lines = [STYLE] if style else []
    lines.append('<div class="gdc-derivation">')
    for block in outline(d, order):
        if isinstance(block, Heading):
            level = min(6, block.level + 2)   # below the page's own h1 and h2
            lines.append(f"<h{level}>{parts(block.parts)}</h{level}>")
        elif isinstance(block, Paragraph):
            lines.append(f"<p>{parts(block.parts)}</p>")
        elif isinstance(block, Line):
            mark = (' <span class="checked" title="checked against sympy.diff">✓</span>'
                    if block.verified else "")
            note = f' <span class="note">— {escape(block.note)}</span>' if block.note else ""
            lines.append(f'<div class="step" style="margin-left: {1.5 * block.depth:g}em">'
                         f'<span class="rule">{parts(block.label)}</span>: {parts(block.body)}{mark}{note}</div>')
        elif isinstance(block, Display):
            remark = f'<div class="remark">{parts(block.remark).strip()}</div>' if block.remark else ""
            lines.append(f'<div class="display">{mathml(block.math, display=True)}{remark}</div>')
    lines.append("</div>")
    return "\n".join(lines) + "\n"
