"""The derivation as `gdc.derive` returns it: the same Derivation, shown as rendered math in a
notebook (MathML in HTML, Markdown with $…$, LaTeX of the results) and as text by print()."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gdc.calculus.derivation import Derivation
from . import render
from .outline import Math


@dataclass(frozen=True, repr=False)
class ShownDerivation(Derivation):
    """A Derivation that Jupyter and IPython display: the whole derivation, every step checked."""

    def __str__(self) -> str:
        return render(self, "text")

    def __repr__(self) -> str:
        partials = ", ".join(f"∂J/∂{p}" for p in self.params)
        return (f"<Derivation of {self.model.checked.program.where}: {partials}; "
                "print() it for the steps, or show it in a notebook>")

    def _repr_html_(self) -> str:
        return render(self, "html")

    def _repr_markdown_(self) -> str:
        return render(self, "markdown")

    def _repr_latex_(self) -> str:
        """The results alone (a LaTeX-only display cannot show the words between the steps)."""
        from .latex import math
        lines = [math(Math((step.quantity, step.after))) for step in self.partial_steps]
        return "$$\\begin{gathered}" + " \\\\ ".join(lines) + "\\end{gathered}$$"


def shown(derivation: Derivation) -> ShownDerivation:
    """The derivation, displayable."""
    fields = {f.name: getattr(derivation, f.name) for f in dataclasses.fields(Derivation)}
    return ShownDerivation(**fields)
