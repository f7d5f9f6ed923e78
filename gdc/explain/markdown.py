"""Derivation to Markdown for GitHub: headings, nested lists of steps, $…$ and $$…$$ math."""

from __future__ import annotations

from gdc.calculus.derivation import Derivation
from .outline import Display, Heading, Line, Math, Paragraph, outline
from .latex import math


def parts(items) -> str:
    out = []
    for p in items:
        if isinstance(p, Math):
            out.append(f"${math(p)}$")
        else:
            out.append(p.replace("*", r"\*").replace("_", r"\_").replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def render(d: Derivation, order: str = "tree") -> str:
    """Markdown whose math GitHub renders: inline $…$ in the steps, $$…$$ for results."""
    lines: list[str] = []
    for block in outline(d, order):
        if isinstance(block, Heading):
            lines += ["", "#" * block.level + " " + parts(block.parts), ""]
        elif isinstance(block, Paragraph):
            lines += ["", parts(block.parts), ""]
        elif isinstance(block, Line):
            mark = (" ✓" if block.verified else "") + (f" — {parts((block.note,))}" if block.note else "")
            lines.append("  " * block.depth + f"- **{parts(block.label)}**: {parts(block.body)}{mark}")
        elif isinstance(block, Display):
            if lines and lines[-1].lstrip().startswith("- "):
                lines.append("")
            lines += ["$$", math(block.math), "$$"]
            if block.remark:
                lines.append(parts(block.remark).strip())
            lines.append("")
    text = "\n".join(lines).strip("\n") + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
