"""What a derivation is: its steps, the partials they arrive at, and the update rules (the printers' input)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy
from sympy import S

from gdc.errors import GdcError
from .functions import PerSample
from .indexed import element_name
from .rules import Step
from .symbolic import SymbolicModel

J = sympy.Symbol("J")
THETA = sympy.Symbol("theta")
ALPHA = sympy.Symbol("alpha")
ERROR = PerSample("Error", real=True)

# The note on a step the verifier could not decide (no ✓ is printed beside it).
UNDECIDED = "not verified: the verifier could neither confirm nor refute that this equals sympy.diff"


# The rules of the top-level steps (the sections a printer lays out).
LOSS = "the loss"
LINEARITY = "linearity"
SHARED = "chain rule through the definitions"
DEFINITION = "derivative of a definition"
PARTIAL = "partial derivative"


@dataclass(frozen=True)
class Update:
    """Gradient descent for one parameter θ with learning rate α.

    `gradient` is ∂J/∂θ (batch); `sample_gradient` the gradient of the loss at one sample
    (SGD), written with the definitions' names; `folded` the same with the constant
    `factor` folded into α and the residual `error` (e.g. y − Y) named Error, or None.
    """

    param: sympy.Symbol
    gradient: sympy.Expr
    sample_gradient: sympy.Expr
    factor: sympy.Expr = S.One
    error: sympy.Expr | None = None
    folded: sympy.Expr | None = None
    verified: bool = True       # the per-sample gradient shown equal to sympy.diff

    @property
    def batch(self) -> sympy.Expr:
        return self.param - ALPHA * self.gradient

    @property
    def sgd(self) -> sympy.Expr:
        return self.param - ALPHA * self.sample_gradient

    @property
    def classic(self) -> sympy.Expr | None:
        return None if self.folded is None else self.param - ALPHA * self.folded


@dataclass(frozen=True)
class Derivation:
    """What `gdc derive` shows: the steps, and the partials they arrive at.

    `partials[θ]` is ∂J/∂θ over the parameter and data symbols, reductions as symbolic.mean
    and symbolic.Sum, equal to sympy.diff of the loss; `sgd_partials[θ]` is the gradient of
    the per-sample objective (each reduction replaced by its term).
    """

    model: SymbolicModel
    params: tuple[sympy.Symbol, ...]
    definitions: tuple[tuple[sympy.Symbol, sympy.Expr], ...]
    terms: tuple[tuple[sympy.Symbol, sympy.Expr], ...]  # ℓ: the term of each reduction
    loss_step: Step
    linearity_step: Step | None
    shared_steps: tuple[Step, ...]
    partial_steps: tuple[Step, ...]
    partials: dict[sympy.Symbol, sympy.Expr]
    sgd_partials: dict[sympy.Symbol, sympy.Expr]
    updates: tuple[Update, ...]
    stable_loss: sympy.Expr
    stable_rewrites: tuple[str, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every top-level step in reading order; each is the root of its tree."""
        lead = (self.loss_step,) + ((self.linearity_step,) if self.linearity_step else ())
        return lead + self.shared_steps + self.partial_steps

    @property
    def verified(self) -> bool:
        """Whether every step and every per-sample gradient was shown equal to sympy.diff."""
        return all(s.verified for root in self.steps for s in root.walk()) and \
            all(u.verified for u in self.updates)


def select_params(model: SymbolicModel, wrt: Sequence[str] | None) -> tuple[sympy.Symbol, ...]:
    """The parameters to derive: all of them, or those named (a user error for others)."""
    if wrt is None:
        return model.elements
    by_name = {element_name(p): p for p in model.elements}
    chosen = []
    for name in wrt:
        if name not in by_name:
            known = ", ".join(by_name)
            what = "a data column" if name in {d.name for d in model.data} else "not a parameter"
            raise GdcError(f"`{name}` is {what} of this model", hint=f"the parameters are {known}")
        chosen.append(by_name[name])
    return tuple(chosen)
