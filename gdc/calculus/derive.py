"""Symbolic model to derivation: ∂J/∂θ for each parameter by named rules, every step checked.

The order is the one a person would follow: the loss written out; linearity (the derivative
moves inside the mean); what every parameter shares (∂ℓ/∂y for the model y and each `let`,
derived once); then for each parameter ∂y/∂θ, the chain rule through the definitions, and
the named simplifications; last the update rules. Every step is compared with sympy.diff of
the same expression; a step that fails raises InternalError and nothing is printed. A step the
verifier can neither confirm nor refute (verify.Verdict.UNDECIDED) is kept, marked unverified,
with a note that says so: it is never shown as checked.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Sequence

import sympy
from sympy import Add, Derivative, S

from gdc.errors import GdcError, InternalError
from .indexed import depends_on
from .rules import DoesNotApply, Fresh, Rule, Step, rule_for
from .simplify import (clip_form, collect, evaluate_reductions, factor_constants,
                       per_sample_rewrites, recognise, reductions, tidy)
from .softmax import VectorModel, one_hot_data, one_hot_rows
from .stable import log_softmax, stable_steps
from .derivation import (DEFINITION, LINEARITY, LOSS, PARTIAL, SHARED, THETA, UNDECIDED, J, Derivation,
                         Update, select_params)
from .functions import PerSample, SampleReduction
from .symbolic import SymbolicModel
from .updates import update_rules
from .verify import Verdict, compare, derivative, rows_sum_to_one


def _shown(a, b, failure, domain=None) -> bool:
    """Whether a = b was shown (a step is then marked verified) where `domain` is defined; False
    when the verifier could not decide. A disagreement is a bug in gdc: InternalError, with the
    message failure()."""
    verdict = compare(a, b, domain=domain)
    if verdict is Verdict.UNEQUAL:
        raise InternalError(failure())
    return verdict is Verdict.EQUAL


def _unless(verified: bool, note: str = "") -> str:
    """A step's note: its own, or the undecided note in front of it when it was not verified."""
    return note if verified else UNDECIDED + (f"; {note}" if note else "")


# ---------------------------------------------------------------- the engine


class _Engine:
    """Chooses a rule for each expression, applies it and checks the result.

    The total engine differentiates the loss by a parameter: a mean moves the derivative
    inside, and a term that uses definitions goes through them. The local engine treats
    every definition as an independent symbol (∂ℓ/∂y, ∂y/∂m).
    """

    def __init__(self, ctx: "_Context", total: bool):
        self.ctx = ctx
        self.total = total

    def depends(self, expr, var) -> bool:
        if depends_on(expr, var):
            return True
        free = expr.free_symbols
        return self.total and any(var in self.ctx.params_of.get(s, ()) for s in free)

    def d(self, expr, var) -> Step:
        through = self.total and any(var in self.ctx.params_of.get(s, ()) for s in _outer_symbols(expr))
        return self.apply(rule_for(expr, var, self, through), expr, var)

    def apply(self, rule: Rule, expr, var) -> Step:
        step = rule.derive(expr, var, self)
        after = tidy(step.after, expr)
        function = self.ctx.full(expr) if self.total else expr
        oracle, claim = derivative(function, var), (self.ctx.full(after) if self.total else after)
        ok = _shown(oracle, claim, lambda: f"the {step.rule} gave d/d{var} of {expr} as {after}, "
                                           f"which does not match sympy.diff", domain=function)
        return replace(step, after=after, verified=ok, note=_unless(ok, step.note))

    def fresh(self) -> Fresh:
        return self.ctx.fresh()

    def through_definitions(self, expr, var):
        return self.ctx.through_definitions(expr, var)


@lru_cache(maxsize=4096)
def _outer_symbols(expr) -> frozenset:
    """The symbols of an expression outside its means and sums."""
    if isinstance(expr, SampleReduction):
        return frozenset()
    if expr.is_Symbol:
        return frozenset((expr,))
    return frozenset().union(*(_outer_symbols(a) for a in expr.args))


# ---------------------------------------------------------------- the model's definitions


class _Context:
    """What the derivation of one model shares: its definitions, fresh names, shared results."""

    def __init__(self, model: SymbolicModel, params: tuple[sympy.Symbol, ...]):
        self.model = model
        self.params = params
        # Definitions without data (`let w = exp(v)`) are substituted; per-sample ones stay
        # symbols, so that ∂ℓ/∂y is derived once.
        inline, bodies = {}, {}
        for sym, body in model.definitions:
            body = body.xreplace(inline)
            (bodies if isinstance(sym, PerSample) else inline)[sym] = body
        self.inline = inline
        self.bodies = bodies
        self.order = tuple(bodies)
        # log softmax(z)ₖ as zₖ − log Σₗ exp(zₗ) (shown in the loss section): its derivative is p − Y.
        self.loss = log_softmax(model.loss_compact.xreplace(inline))
        self.params_of: dict[sympy.Symbol, frozenset] = {}
        for sym, body in bodies.items():
            found = {p for p in params if depends_on(body, p)}
            for used in body.free_symbols & bodies.keys():
                found |= self.params_of[used]
            self.params_of[sym] = frozenset(found)
        terms = [r.args[0] for r in reductions(self.loss)]
        names = ["ell"] if len(terms) == 1 else [f"ell_{k}" for k in range(1, len(terms) + 1)]
        self.labels = {t: PerSample(n, real=True) for t, n in zip(terms, names)}
        self.taken = {s.name for s in model.params + model.data} | {s.name for s, _ in model.definitions}
        self.counter = 0
        self.local, self.total = _Engine(self, total=False), _Engine(self, total=True)
        self._adjoints: dict[sympy.Expr, dict[sympy.Symbol, Step]] = {}
        self._partials: dict[tuple, Step] = {}
        self._gradients: dict[sympy.Symbol, sympy.Expr] = {}
        self._full: dict[sympy.Expr, sympy.Expr] = {}
        self.vector_model = VectorModel.of(model)   # softmax: p[j] recognised, written out in full()
        # Data vectors read from class labels: one-hot rows, which every check may assume.
        self.one_hot = one_hot_data(model)
        self.written_out: dict[sympy.Symbol, sympy.Expr] = {}  # each body over parameters and data
        for sym in self.order:
            self.written_out[sym] = self.bodies[sym].xreplace(self.written_out)

    def fresh(self) -> Fresh:
        while True:
            self.counter += 1
            name = f"u_{self.counter}"
            if name not in self.taken:
                return Fresh(name, real=True)

    def full(self, expr):
        """Every definition substituted: an expression over parameters and data only."""
        if expr not in self._full:
            # One pass with each body already written out: sympy builds every node once
            # (building min and max is costly).
            full = expr.xreplace(self.written_out).xreplace(self.inline)
            self._full[expr] = self.vector_model.written_out(full) if self.vector_model else full
        return self._full[expr]

    def later(self, expr, sym):
        """The definitions after `sym` substituted (they may depend on it; earlier ones cannot)."""
        for other in reversed(self.order[self.order.index(sym) + 1:]):
            expr = expr.xreplace({other: self.bodies[other]})
        return expr

    def uses(self, expr) -> list[sympy.Symbol]:
        """The definitions an expression depends on, directly or through others, in source order."""
        found, todo = set(), [expr]
        while todo:
            for sym in todo.pop().free_symbols & self.bodies.keys():
                if sym not in found:
                    found.add(sym)
                    todo.append(self.bodies[sym])
        return [s for s in self.order if s in found]

    def gradient(self, param) -> sympy.Expr:
        """sympy.diff of the loss: the oracle every result is checked against (computed once)."""
        if param not in self._gradients:
            self._gradients[param] = derivative(self.model.loss, param)
        return self._gradients[param]

    def rewrite(self, before, after, name: str, args=()) -> Step:
        """A named rewrite as a verified step (definitions may be substituted to see it)."""
        # Over parameters and data first: it is equal there whenever it is equal at all.
        verdict = compare(self.full(before), self.full(after))
        if verdict is not Verdict.EQUAL and compare(before, after) is Verdict.EQUAL:
            verdict = Verdict.EQUAL
        if verdict is Verdict.UNEQUAL:
            raise InternalError(f"the rewrite '{name}' changed {before} into {after}, which is not equal")
        ok = verdict is Verdict.EQUAL
        # A name in the rule's name is the name as written: "substitute the model y", not yᵢ.
        args = tuple(sympy.Symbol(a.name, real=True) if isinstance(a, PerSample) else a for a in args)
        return Step(name, before, after, verified=ok, rule_args=args, note=_unless(ok))

    # ------------------------------------------------------------ shared partials

    def definition_partial(self, sym, var) -> Step:
        """∂d/∂v for a definition d: its body differentiated, its own names recognised."""
        key = (sym, var)
        if key not in self._partials:
            body = self.bodies[sym]
            tree = self.local.d(body, var)
            known = {s: self.bodies[s] for s in self.order[:self.order.index(sym) + 1]
                     if not self.bodies[s].is_Atom}
            try:
                new, name, args = recognise(tree.after, known)
            except DoesNotApply:
                step = replace(tree, quantity=Derivative(sym, var))
            else:
                rewrite = self.rewrite(tree.after, new, name, args)
                ok = _shown(self.full(derivative(body, var)), self.full(new),
                            lambda: f"∂{sym}/∂{var} = {new} does not match sympy.diff")
                step = Step(DEFINITION, Derivative(body, var), new, (tree, rewrite), ok, _unless(ok),
                            quantity=Derivative(sym, var))
            self._partials[key] = step
        return self._partials[key]

    def adjoints(self, term) -> dict[sympy.Symbol, Step]:
        """∂ℓ/∂d for every definition d the term ℓ uses: last definition first."""
        if term in self._adjoints:
            return self._adjoints[term]
        label = self.labels.get(term, sympy.Symbol("ell"))
        relevant = [d for d in self.uses(term) if self.params_of[d]]
        found: dict[sympy.Symbol, Step] = {}
        for sym in reversed(relevant):
            subs, values, middle = [], [], []
            if sym in term.free_symbols:
                direct = self.local.d(term, sym)
                subs.append(direct)
                values.append(direct.after)
                middle.append(Derivative(term, sym))
            for user in relevant[relevant.index(sym) + 1:]:
                if sym in self.bodies[user].free_symbols:
                    partial = self.definition_partial(user, sym)
                    subs.append(partial)
                    values.append(found[user].after * partial.after)
                    middle.append(Derivative(label, user) * Derivative(user, sym))
            found[sym] = self._adjoint_step(term, sym, label, subs, values, middle)
        self._adjoints[term] = found  # in the order derived: the last definition first
        return self._adjoints[term]

    def _adjoint_step(self, term, sym, label, subs, values, middle) -> Step:
        quantity = Derivative(label, sym)
        value = tidy(Add(*values))
        direct = len(subs) == 1 and middle[0] == Derivative(term, sym)
        rewrites = []
        for rewrite in (collect, self.textbook) if direct else (self.textbook,):
            try:
                new, name, args = rewrite(value)
            except DoesNotApply:
                continue
            rewrites, value = rewrites + [self.rewrite(value, new, name, args)], new
        if direct and not rewrites:
            return replace(subs[0], quantity=quantity)
        subs = [*subs, *rewrites]
        ok = _shown(derivative(self.later(term, sym), sym), self.later(value, sym),
                    lambda: f"∂{label}/∂{sym} = {value} does not match sympy.diff")
        return Step(SHARED, Derivative(term, sym), value, tuple(subs), ok, _unless(ok), quantity=quantity,
                    middle=None if direct else Add(*middle))

    def textbook(self, value):
        """The form a textbook prints (a clip for Huber's gradient) that the verifier shows equal."""
        return clip_form(value, lambda new: compare(self.full(value), self.full(new)) is Verdict.EQUAL)

    def through_definitions(self, term, var):
        """The pieces of dℓ/dθ = ∂ℓ/∂θ + Σ ∂ℓ/∂d·∂d/∂θ, for ThroughDefinitionsRule."""
        shared = self.adjoints(term)
        label = self.labels.get(term, sympy.Symbol("ell"))
        values, middle, subs, names = [], [], [], []
        if depends_on(term, var):
            direct = self.local.d(term, var)
            subs.append(direct)
            values.append(direct.after)
            middle.append(Derivative(term, var))
        for sym in self.order:
            if sym in shared and depends_on(self.bodies[sym], var):
                values.append(shared[sym].after * self.definition_partial(sym, var).after)
                middle.append(Derivative(label, sym) * Derivative(sym, var))
                names.append(sym)
        return values, middle, subs, names

    # ------------------------------------------------------------ sections

    def loss_section(self) -> Step:
        model = self.model
        subs, expr = [], model.loss_compact
        if model.definitions:
            used = [s for s, _ in model.definitions]
            name = ("substitute the model {0}" if len(used) == 1
                    else "substitute the definitions " + ", ".join("{%d}" % k for k in range(len(used))))
            subs.append(self.rewrite(expr, model.loss, name, used))
            expr = model.loss
        self.stable, self.stable_names = expr, ()
        for rewrite, before, after in stable_steps(expr):
            subs.append(self.rewrite(before, after, "stable form: {0} = {1}", rewrite.identity))
            self.stable, self.stable_names = after, self.stable_names + (rewrite.name,)
        return Step(LOSS, model.loss_compact, self.stable, tuple(subs), all(s.verified for s in subs), quantity=J)

    def linearity_section(self) -> Step | None:
        """∂J/∂θ = c·(1/N)Σᵢ ∂ℓᵢ/∂θ + …, shown once, when J is affine in its means and sums."""
        rho = {r: sympy.Dummy() for r in reductions(self.loss)}
        outer = self.loss.xreplace(rho)
        coeffs = {r: sympy.diff(outer, d) for r, d in rho.items()}
        if not rho or not all(c.is_number for c in coeffs.values()):
            return None
        penalty = outer.xreplace({d: S.Zero for d in rho.values()})  # J is affine in the reductions
        parts = [c * type(r)(Derivative(self.labels[r.args[0]], THETA), evaluate=False)
                 for r, c in coeffs.items()]
        if any(depends_on(penalty, p) for p in self.params):
            parts.append(Derivative(penalty, THETA))
        after = Add(*parts)
        ok = True
        for p in self.params:
            claim = Add(*(c * type(r)(derivative(self.full(r.args[0]), p)) for r, c in coeffs.items()),
                        derivative(penalty, p))
            ok &= _shown(claim, self.gradient(p), lambda: f"linearity: ∂J/∂{p} does not match sympy.diff")
        data = ", ".join(str(d) for d in self.model.data)
        note = (f"the derivative of a mean (or a sum) is the mean of the derivatives; "
                f"the data {data} do not depend on the parameters")
        return Step(LINEARITY, Derivative(self.loss, THETA), after, (), ok, _unless(ok, note),
                    quantity=Derivative(J, THETA),
                    where=tuple((self.labels[r.args[0]], r.args[0]) for r in coeffs))

    def shared_sections(self) -> tuple[Step, ...]:
        steps = []
        for term in self.labels:
            steps.extend(self.adjoints(term).values())
        return tuple(steps)

    def partial_section(self, param) -> tuple[Step, sympy.Expr]:
        """The steps to ∂J/∂θ, and ∂J/∂θ written with the definitions' names."""
        subs = [self.definition_partial(d, param) for d in self.order
                if self.params_of[d] and depends_on(self.bodies[d], param)]
        tree = replace(self.total.d(self.loss, param), quantity=Derivative(J, param))
        subs.append(tree)
        expr = tree.after
        for new, name, args in ([] if self.vector_model is None else self.vector_model.recognitions(expr)):
            subs.append(self.rewrite(expr, new, name, args))
            expr = new
        if self.one_hot:   # labels: Σᵣ Yᵢᵣ = 1, so p·ΣY − Y is p − Y
            try:
                new, name, args = one_hot_rows(expr, self.one_hot)
            except DoesNotApply:
                pass
            else:
                subs.append(self.rewrite(expr, new, name, args))
                expr = new
        for new, name, args in per_sample_rewrites(expr, self.bodies):
            subs.append(self.rewrite(expr, new, name, args))
            expr = new
        try:
            new, name, args = factor_constants(expr)
        except DoesNotApply:
            new = evaluate_reductions(expr)
        else:
            subs.append(self.rewrite(expr, new, name, args))
        compact = expr = new
        used = self.uses(expr)
        if self.vector_model is not None and depends_on(expr, self.model.prediction_symbol):
            used = [self.model.prediction_symbol.base.label] + used
        if used:
            model_only = used == [self.model.prediction_symbol] or len(used) == 1 and self.vector_model
            name = ("substitute the model {0}" if model_only
                    else "substitute the definitions " + ", ".join("{%d}" % k for k in range(len(used))))
            new = evaluate_reductions(self.full(expr))
            subs.append(self.rewrite(expr, new, name, used))
            expr = new
        ok = _shown(expr, self.gradient(param),
                    lambda: f"∂J/∂{param} = {expr} does not match sympy.diff of the loss")
        step = Step(PARTIAL, Derivative(self.loss, param), expr, tuple(subs), ok, quantity=Derivative(J, param),
                    note=self.checked_note() if ok else UNDECIDED)
        return step, compact

    def checked_note(self) -> str:
        rows = ", ".join(base.label.name for base in self.one_hot)
        return "checked: equal to sympy.diff of the loss" + (f" where each row of {rows} sums to 1" if rows else "")

    def update(self, param, gradient, compact) -> tuple[Update, sympy.Expr]:
        """The update rules, and the per-sample gradient over parameters and data (updates.py)."""
        return update_rules(param, gradient, compact, self.model, self.bodies, self.full, _shown)


# ---------------------------------------------------------------- the stage


def derive(model: SymbolicModel, wrt: Sequence[str] | None = None) -> Derivation:
    """Derive ∂J/∂θ step by step for each parameter (or those in `wrt`), every step checked."""
    params = select_params(model, wrt)
    try:
        return _derive(model, params)
    except ValueError as exc:  # sympy refuses min/max of values that are never real
        if "comparable" not in str(exc):
            raise
        raise GdcError(f"min or max compares values that are not real numbers ({exc})",
                       where=model.checked.program.where,
                       hint="check the arguments of sqrt, log, asin and acos") from None


def _derive(model: SymbolicModel, params: tuple[sympy.Symbol, ...]) -> Derivation:
    with rows_sum_to_one(one_hot_data(model)):   # class labels: every check knows Y's rows sum to 1
        return _derive_steps(model, params)


def _derive_steps(model: SymbolicModel, params: tuple[sympy.Symbol, ...]) -> Derivation:
    ctx = _Context(model, params)
    loss_step = ctx.loss_section()                 # J written out, definitions substituted
    linearity = ctx.linearity_section()            # ∂/∂θ moves inside the mean
    shared = ctx.shared_sections()                 # ∂ℓ/∂y, once for every parameter
    partial_steps, partials, sgd_partials, updates = [], {}, {}, []
    for param in params:                           # ∂y/∂θ, the chain rule, simplification
        step, compact = ctx.partial_section(param)
        partial_steps.append(step)
        partials[param] = step.after
        update, sgd_partials[param] = ctx.update(param, step.after, compact)
        updates.append(update)
    return Derivation(model, params, tuple(ctx.bodies.items()), tuple((l, t) for t, l in ctx.labels.items()),
                      loss_step, linearity, shared, tuple(partial_steps), partials, sgd_partials,
                      tuple(updates), ctx.stable, ctx.stable_names)
