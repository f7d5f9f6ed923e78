"""What a differentiation rule is: the Step it builds, the Rule it is, and what it may ask the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Iterator, Protocol

import sympy
from sympy import Derivative

from gdc.errors import InternalError


@dataclass(frozen=True)
class Step:
    """One step of a derivation: `rule` applied to `before` gives `after`.

    `before` is the derivative being taken (an unevaluated sympy.Derivative) for a
    differentiation rule, or the previous expression for a rewrite (a simplification, a
    substitution). `rule` is the rule's name, possibly with `{0}`-style slots filled by
    `rule_args` (so each printer can typeset them). `quantity` names what is computed
    (∂J/∂m, ∂y/∂m); `middle` is the rule written out between before and after
    (∂ℓ/∂y·∂y/∂m); `where` lists the fresh names the rule introduced (u₁ = …).
    """

    rule: str
    before: sympy.Expr
    after: sympy.Expr
    substeps: tuple["Step", ...] = ()
    verified: bool = False
    note: str = ""
    quantity: sympy.Expr | None = None
    middle: sympy.Expr | None = None
    where: tuple[tuple[sympy.Symbol, sympy.Expr], ...] = ()
    rule_args: tuple[sympy.Expr, ...] = ()

    @property
    def is_rewrite(self) -> bool:
        """A rewrite restates an expression; a rule step evaluates a derivative."""
        return not isinstance(self.before, Derivative)

    def title(self, show: Callable[[sympy.Expr], str] = str) -> str:
        """The rule's name with its slots filled, each expression shown by `show`."""
        return self.rule.format(*(show(a) for a in self.rule_args))

    def walk(self) -> Iterator["Step"]:
        """This step and every step below it, parents first."""
        yield self
        for sub in self.substeps:
            yield from sub.walk()


class DoesNotApply(InternalError):
    """A rule or rewrite was asked about an expression it does not cover."""


class Fresh(sympy.Symbol):
    """A name the chain rule introduces for an inner function: u₁, u₂, … never reused."""


class Engine(Protocol):
    """What a rule may ask of the engine that drives it (derive.py)."""

    def d(self, expr: sympy.Expr, var: sympy.Symbol) -> Step: ...
    def apply(self, rule: "Rule", expr: sympy.Expr, var: sympy.Symbol) -> Step: ...
    def depends(self, expr: sympy.Expr, var: sympy.Symbol) -> bool: ...
    def fresh(self) -> Fresh: ...
    def through_definitions(self, expr: sympy.Expr, var: sympy.Symbol) -> tuple: ...


class Rule:
    """A differentiation rule; `derive(expr, var, engine)` gives the Step for d expr/d var."""

    name: ClassVar[str] = ""
    note: ClassVar[str] = ""  # said wherever the rule is used, e.g. its convention at a kink

    def derive(self, expr: sympy.Expr, var: sympy.Symbol, engine: Engine) -> Step:
        raise NotImplementedError

    def step(self, expr, var, after, substeps=(), **extra) -> Step:
        extra.setdefault("note", self.note)
        return Step(self.name, Derivative(expr, var), after, tuple(substeps), **extra)

    def refuse(self, expr, var) -> DoesNotApply:
        return DoesNotApply(f"the {self.name} does not apply to d/d{var} of {expr}")
