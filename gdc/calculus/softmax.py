"""A vector model (issue 14: softmax): its element p[k] recognised in a partial and written out again."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .functions import SampleReduction
from .rules import DoesNotApply
from .simplify import tidy


@dataclass(frozen=True)
class VectorModel:
    """The model's element p[k] (`base[index]`) and its body at that index."""

    base: sympy.IndexedBase
    index: sympy.Symbol
    body: sympy.Expr

    @classmethod
    def of(cls, model) -> "VectorModel | None":
        """The vector model of a SymbolicModel, or None for a scalar one."""
        if not isinstance(model.prediction_symbol, sympy.Indexed):
            return None
        (index,) = model.prediction_symbol.indices
        return cls(model.prediction_symbol.base, index, model.prediction)

    def written_out(self, expr: sympy.Expr) -> sympy.Expr:
        """Each element p[j] replaced by the body at index j."""
        return expr.replace(lambda n: isinstance(n, sympy.Indexed) and n.base == self.base,
                            lambda n: self.body.xreplace({self.index: n.indices[0]}))

    def recognitions(self, expr: sympy.Expr) -> list:
        """[(new expr, rule name, args)]: p recognised, or nothing where no softmax appears."""
        try:
            return [recognise_softmax(expr, self.base, self.index, self.body)]
        except DoesNotApply:
            return []


def one_hot_data(model) -> tuple[sympy.IndexedBase, ...]:
    """The data vectors a model reads from class labels (`data Y[K] from species`)."""
    labelled = {d.name for d in model.checked.data if getattr(d, "labels", None)}
    return tuple(d for d in model.data if isinstance(d, sympy.IndexedBase) and d.label.name in labelled)


def one_hot_rows(expr: sympy.Expr, bases):
    """Σᵣ Yᵢᵣ = 1 for a data vector Y read from class labels (one-hot): the rewrite that turns
    Yⱼ − pⱼ·Σᵣ Yᵣ into Yⱼ − pⱼ, the textbook's p − Y."""
    whole = {base: base.shape[0] - 1 for base in bases}

    def is_row_sum(node):
        if not (isinstance(node, sympy.Sum) and len(node.limits) == 1):
            return False
        (k, lo, hi), body = node.limits[0], node.function
        return isinstance(body, sympy.Indexed) and body.base in whole and body.indices == (k,) \
            and lo == 0 and hi == whole[body.base]

    if not any(is_row_sum(n) for n in sympy.preorder_traversal(expr)):
        raise DoesNotApply("no row sum of a one-hot vector")
    names = tuple(base.label for base in bases)
    slots = ", ".join("{%d}" % k for k in range(len(names)))
    return _prediction_first(tidy(expr.replace(is_row_sum, lambda n: sympy.S.One))), \
        f"each row of {slots} sums to 1 (one-hot, read from class labels)", names


def _prediction_first(expr: sympy.Expr) -> sympy.Expr:
    """−c·mean(Y·x − p·x) as c·mean((p − Y)·x): the minus sign taken inside, the prediction first,
    as textbooks write the gradient of the cross-entropy."""
    def flip(term):
        coeff, rest = term.as_coeff_Mul()
        if coeff.is_negative and isinstance(rest, SampleReduction):
            return -coeff * type(rest)(sympy.factor_terms(-rest.args[0]))
        return term
    return sympy.Add(*(flip(t) for t in sympy.Add.make_args(expr)))


def recognise_softmax(expr: sympy.Expr, base, index, body: sympy.Expr):
    """exp(zⱼ)/Σₙ exp(zₙ) is the model's pⱼ; the factors of a Σᵣ that do not depend on r move
    out of it, so that Σᵣ (−pⱼ·Yᵣ·xₖ) reads −pⱼ·xₖ·Σᵣ Yᵣ."""
    pulled = expr.replace(lambda n: isinstance(n, sympy.Sum) and len(n.limits) == 1, _pull_out)
    numerators = [f for f in sympy.Mul.make_args(body) if isinstance(f, sympy.exp)]
    denominators = [f for f in sympy.Mul.make_args(body) if f.is_Pow and f.exp == -1 and isinstance(f.base, sympy.Sum)]
    if len(numerators) != 1 or len(denominators) != 1 or len(body.args) != 2:
        raise DoesNotApply("the model is not a softmax")
    (numerator,), (denominator,) = numerators, denominators
    total = _bound_free(denominator.base)
    j = sympy.Wild("j")
    pattern = numerator.xreplace({index: j})

    def is_total(f):
        return f.is_Pow and f.exp == -1 and isinstance(f.base, sympy.Sum) and _bound_free(f.base) == total

    def element(node):
        if not node.is_Mul or not any(is_total(f) for f in node.args):
            return None
        for f in node.args:
            match = f.match(pattern) if isinstance(f, sympy.exp) else None
            if match and j in match:
                rest = [g for g in node.args if g is not f and not is_total(g)]
                return sympy.Mul(base[match[j]], *rest)
        return None

    new = pulled.replace(lambda n: element(n) is not None, element)
    if not new.has(base):
        raise DoesNotApply("no softmax to recognise")
    return tidy(new), "recognise the model {0} = softmax(z)", (base.label,)


_BOUND = sympy.Dummy("bound")


def _bound_free(total: sympy.Sum):
    """A sum over one index, its index renamed: sums that differ only in that name compare equal."""
    (k, lo, hi), = total.limits
    return total.function.xreplace({k: _BOUND}), lo, hi


def _pull_out(node: sympy.Sum) -> sympy.Expr:
    (k, lo, hi), = node.limits
    const, rest = node.function.as_independent(k, as_Add=False)
    return const * sympy.Sum(rest, (k, lo, hi)) if const != 1 else node
