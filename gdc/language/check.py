"""Check a model Program: resolve every name, classify parameters and data, enforce the rules."""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Iterable

from . import ir
from .naming import DECLARED, NAMING_RULE, Origin, decide, no_parameters
from .walk import walk
from gdc.errors import GdcError, Span
from gdc.runtime.intervals import Interval
from .bounds import checked_bounds
from .unparse import expr_text
from .vocabulary import (ALIASES, ARITY, CALLABLE, COMPARISONS, CONSTANTS, FUNCTIONS, KEYWORDS, REDUCTIONS,
                         RESERVED)
from .limits import (MAX_ELEMENTS, MAX_PARAMETERS, check_constants, check_nesting,
                     constant_value, expressions)
from .shapes import Shape, ShapeChecker, check_sizes, shape_text


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter the fit adjusts, with its initial value and how gdc knew it is one.

    `init` fills every element; None (a vector or matrix declared without a value) asks for
    small seeded random values, so that the hidden units of a network can differ.
    """

    name: str
    init: float | None
    span: Span
    origin: Origin  # declared, or the rule that classified it
    shape: Shape = ()
    bounds: Interval | None = None   # `in (0, inf)`: every element stays inside


@dataclass(frozen=True, slots=True)
class Data:
    """A per-sample data column, or (shaped) a vector of columns."""

    name: str
    span: Span
    origin: Origin
    shape: Shape = ()
    labels: str | None = None   # `data Y[k] from labels`: the column of class labels (issue 14)


@dataclass(frozen=True, slots=True)
class CheckedModel:
    """A Program whose names all resolve, in the order the kernels will use them."""

    program: ir.Program
    params: tuple[Param, ...]
    data: tuple[Data, ...]
    definitions: tuple[ir.Let | ir.ModelDef, ...]  # the lets and the model, in source order
    model: ir.ModelDef
    loss: ir.LossDef

    @property
    def shaped(self) -> bool:
        """Whether any parameter or data value is a vector or matrix."""
        return any(v.shape for v in self.params + self.data)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def data_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.data)


class _Checker:
    """One pass over the statements; raises the first user error it finds."""

    def __init__(self, program: ir.Program, data_names: frozenset[str] | None, data_origin: str):
        self.program = program
        self.data_names = data_names
        self.data_origin = data_origin
        self.defined: dict[str, tuple[str, Span]] = {}  # name -> (kind, span of definition)
        self.param_items: list[ir.ParamItem] = []
        self.data_items: list[ir.DataItem] = []
        self.lets: list[ir.Let] = []
        self.model: ir.ModelDef | None = None
        self.loss: ir.LossDef | None = None
        self.free: dict[str, Span] = {}  # undeclared names, by first use
        self.sample_level: set[str] = set()  # definitions that depend on data
        self.sizes: dict[str, Span] = {}  # size names, bound by data vectors or `size`
        self.named_sizes: dict[str, ir.SizeDef] = {}  # `size h = 32`
        self.sample_reductions: set[int] = set()  # ids of the mean/sum calls over the samples
        self.shapes: dict[str, tuple] = {}  # of every name, once check_shapes has run

    def error(self, message: str, span: Span, hint: str | None = None) -> GdcError:
        return GdcError(message, where=self.program.where, span=span, source=self.program.source, hint=hint)

    # ------------------------------------------------------------ statements

    def run(self) -> CheckedModel:
        if not any(True for _ in self.program.statements):
            raise GdcError("the model file is empty", where=self.program.where,
                           hint="a model needs at least two lines, e.g. `model y = m*x + b` "
                                "and `loss mean((y - Y)^2)`")
        check_nesting(self.program)   # before anything walks an expression recursively
        for stmt in self.program.statements:
            self.declare(stmt)
        if self.model is None:
            raise GdcError("there is no `model` statement", where=self.program.where,
                           hint="add the per-sample prediction, e.g. `model y = m*x + b`")
        if self.loss is None:
            raise GdcError("there is no `loss` statement", where=self.program.where,
                           hint=f"add the objective, e.g. `loss mean(({self.model.name} - Y)^2)`")
        self.param_items = [self.sized(item) for item in self.param_items]
        self.data_items = [self.sized(item) for item in self.data_items]
        for item in self.param_items + self.data_items:
            self.not_too_large(item)
        for item in self.data_items:
            self.labels_shape(item)
        self.sizes = check_sizes(self.param_items, self.data_items, self.error)
        self.sizes.update({name: stmt.name_span for name, stmt in self.named_sizes.items()})
        self.resolve_all()
        for stmt in self.program.statements:
            for expr in expressions(stmt):
                check_constants(expr, self.program)
        params, data = self.classify()
        self.check_shapes(params, data)
        self.check_levels({d.name for d in data})
        definitions = tuple(s for s in self.program.statements if isinstance(s, (ir.Let, ir.ModelDef)))
        return CheckedModel(self.program, params, data, definitions, self.model, self.loss)

    def declare(self, stmt: ir.Stmt) -> None:
        if isinstance(stmt, ir.ParamDecl):
            for item in stmt.items:
                self.define(item.name, "parameter", item.name_span)
                self.param_items.append(item)
        elif isinstance(stmt, ir.DataDecl):
            for item in stmt.items:
                self.define(item.name, "data column", item.name_span)
                if item.bounds is not None:
                    raise self.error(f"`{item.name}` is data: only parameters take bounds", item.bounds.span,
                                     f"declare it with `param {item.name} in ...` if the fit should adjust it")
                self.data_items.append(item)
        elif isinstance(stmt, ir.SizeDef):
            self.define(stmt.name, "size", stmt.name_span)
            self.named_sizes[stmt.name] = stmt
        elif isinstance(stmt, ir.Let):
            self.define(stmt.name, "`let`", stmt.name_span)
            self.lets.append(stmt)
        elif isinstance(stmt, ir.ModelDef):
            if self.model is not None:
                raise self.error("a second `model` statement", stmt.span,
                                 f"the model is already defined on line {self.model.span.line}; "
                                 "use `let` for intermediate values")
            self.define(stmt.name, "model", stmt.name_span)
            self.model = stmt
        elif isinstance(stmt, ir.LossDef):
            if self.loss is not None:
                raise self.error("a second `loss` statement", stmt.span,
                                 f"the loss is already defined on line {self.loss.span.line}; "
                                 "add the terms into one `loss` expression")
            self.loss = stmt

    def sized(self, item):
        """The item with each size named by a `size` statement replaced by its number."""
        if not any(d.size in self.named_sizes for d in item.shape):
            return item
        if isinstance(item, ir.DataItem):
            dim = next(d for d in item.shape if d.size in self.named_sizes)
            raise self.error(f"the size `{dim.size}` of the data `{item.name}` is set by a `size` statement",
                             dim.span, "the data set the sizes of data vectors; use another name, or a "
                                       "number if the file must have exactly that many columns")
        shape = tuple(ir.Dim(self.named_sizes[d.size].value, d.span) if d.size in self.named_sizes else d
                      for d in item.shape)
        return dataclasses.replace(item, shape=shape)

    def not_too_large(self, item) -> None:
        """A vector or matrix of fixed sizes holds at most MAX_ELEMENTS values."""
        count = math.prod(d.size for d in item.shape if isinstance(d.size, int))
        if count > MAX_ELEMENTS:
            raise self.error(f"`{item.name}` would hold {count:,} values; a vector or matrix may hold at "
                             f"most {MAX_ELEMENTS:,}", item.shape[0].span.join(item.shape[-1].span))

    def labels_shape(self, item: ir.DataItem) -> None:
        """`data Y[k] from label` makes a one-hot vector: one axis, at least two classes."""
        if item.labels is None:
            return
        if len(item.shape) != 1:
            raise self.error(f"`{item.name}` reads class labels, so it is a vector with one element per "
                             "class", item.span, f"declare it as `data {item.name}[k] from {item.labels}`")
        if isinstance(item.shape[0].size, int) and item.shape[0].size < 2:
            raise self.error("class labels need at least two classes", item.shape[0].span)

    def define(self, name: str, kind: str, span: Span) -> None:
        if name in RESERVED:
            what = ("a keyword" if name in KEYWORDS else "a constant" if name in CONSTANTS
                    else "a function")
            raise self.error(f"`{name}` is {what} of the gd language and cannot be used as a name",
                             span, "choose another name")
        if name in self.defined:
            first_kind, first = self.defined[name]
            raise self.error(f"`{name}` is defined twice", span,
                             f"it is already defined on line {first.line} (as a {first_kind}); "
                             "choose another name")
        self.defined[name] = (kind, span)

    # ------------------------------------------------------------ names

    def resolve_all(self) -> None:
        visible = {item.name for item in self.param_items} | {item.name for item in self.data_items}
        for item in self.param_items:
            if item.init is not None:
                self.init_value(item)
        for stmt in self.program.statements:
            if isinstance(stmt, (ir.Let, ir.ModelDef)):
                self.resolve(stmt.expr, visible)
                visible.add(stmt.name)
            elif isinstance(stmt, ir.LossDef):
                self.resolve(stmt.expr, visible)

    def resolve(self, expr: ir.Expr, visible: set[str]):
        for node in walk(expr):
            if isinstance(node, ir.Var):
                self.resolve_name(node, visible)
            elif isinstance(node, ir.Element):
                self.resolve_element(node, visible)
            elif isinstance(node, ir.Call):
                self.check_call(node)

    def resolve_element(self, expr: ir.Element, visible: set[str]) -> None:
        if expr.name not in visible:
            self.resolve_name(ir.Var(expr.name, expr.name_span), visible)
            raise self.error(f"`{expr.name}` is not a declared vector or matrix", expr.name_span,
                             f"declare it with its shape, e.g. `param {expr.name}[3]`")

    def resolve_name(self, var: ir.Var, visible: set[str]) -> None:
        name = var.name
        if name in visible or name in CONSTANTS:
            return
        if name in self.sizes:
            raise self.error(f"`{name}` is a size, not a value", var.span,
                             "sizes give shapes in `param` and `data`; they cannot be used in formulas")
        if name in FUNCTIONS or name in REDUCTIONS:
            raise self.error(f"`{name}` is a function", var.span, f"call it with an argument: `{name}(...)`")
        if name in KEYWORDS:
            raise self.error(f"`{name}` is a keyword and cannot be used in an expression", var.span,
                             "a statement starts on a new line or after `;`")
        if name in self.defined:
            _, span = self.defined[name]
            raise self.error(f"`{name}` is used before it is defined (on line {span.line})", var.span,
                             "move the definition above its first use")
        self.free.setdefault(name, var.span)

    def check_call(self, call: ir.Call) -> None:
        """A known function with the right number of arguments (where it may appear: shapes.py)."""
        name = call.func
        if name not in ARITY:
            known = self.defined.get(name)
            if known is not None or name in self.free:
                raise self.error(f"`{name}` is not a function", call.name_span,
                                 f"write `{name}*(...)` for a product")
            guess = [ALIASES[name]] if name in ALIASES else \
                difflib.get_close_matches(name, CALLABLE, n=1)
            hint = (f"did you mean `{guess[0]}`?" if guess else
                    f"for a product write `{name}*(...)`; the functions are " + ", ".join(FUNCTIONS))
            raise self.error(f"unknown function `{name}`", call.name_span, hint)
        self.arity(call, ARITY[name])
        self.conditions(call)

    def conditions(self, call: ir.Call) -> None:
        """A comparison is where's condition and nothing else; where's condition is a comparison."""
        for k, arg in enumerate(call.args):
            if isinstance(arg, ir.Compare) and not (call.func == "where" and k == 0):
                raise self.error(f"a comparison (`{arg.op}`) can only be the condition of `where`", arg.span,
                                 f"write where({expr_text(arg)}, value if true, value if false)")
        if call.func == "where" and not isinstance(call.args[0], ir.Compare):
            raise self.error("the first argument of `where` must be a comparison", call.args[0].span,
                             f"for example where({expr_text(call.args[0])} > 0, a, b); "
                             "the comparisons are " + ", ".join(COMPARISONS))

    def arity(self, call: ir.Call, expected: int) -> None:
        if len(call.args) != expected:
            plural = "argument" if expected == 1 else "arguments"
            usage = FUNCTIONS[call.func].usage if call.func in FUNCTIONS else ""
            raise self.error(f"`{call.func}` takes {expected} {plural}, got {len(call.args)}", call.span,
                             usage or None)

    def init_value(self, item: ir.ParamItem) -> None:
        for node in walk(item.init):
            if isinstance(node, ir.Var) and node.name not in CONSTANTS:
                raise self.error(f"the initial value of `{item.name}` must be a number, not `{node.name}`",
                                 node.span)
            if isinstance(node, ir.Call) and node.func not in FUNCTIONS:
                raise self.error(f"`{node.func}` cannot be used in an initial value", node.name_span)

    # ------------------------------------------------------------ parameters and data

    def classify(self) -> tuple[tuple[Param, ...], tuple[Data, ...]]:
        params = []
        for it in self.param_items:
            init = self.evaluate_init(it)
            params.append(Param(it.name, init, it.name_span, DECLARED, _sizes(it.shape),
                                checked_bounds(it, init, self.error)))
        data = [Data(it.name, it.name_span, DECLARED, _sizes(it.shape), it.labels) for it in self.data_items]
        if self.param_items and self.data_items and self.free:
            raise self.undefined(*next(iter(self.free.items())))
        for name, span, is_data, origin in decide(self.free, bool(self.param_items), bool(self.data_items),
                                                  self.data_names, self.data_origin, self.error):
            if is_data:
                data.append(Data(name, span, origin))
            else:
                params.append(Param(name, 0.0, span, origin))
        if not params:
            in_loss = {node.name for node in walk(self.loss.expr) if isinstance(node, ir.Var)}
            raise no_parameters([d.name for d in data if d.origin == NAMING_RULE], in_loss,
                                self.program.where, GdcError)
        if len(params) > MAX_PARAMETERS:
            raise self.error(f"the model has {len(params)} parameters; gdc derives at most {MAX_PARAMETERS}",
                             params[MAX_PARAMETERS].span,
                             "gather them into a vector, e.g. `param a[1000]` with dot(a, x) or sum(a * x)")
        return tuple(params), tuple(data)

    def undefined(self, name: str, span: Span) -> GdcError:
        known = list(self.defined)
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean `{guess[0]}`?" if guess else "declare it with `param` or `data`, or define it with `let`"
        return self.error(f"`{name}` is not defined", span, hint)

    def evaluate_init(self, item: ir.ParamItem) -> float | None:
        if item.init is None:
            return None if item.shape else 0.0
        try:
            value = constant_value(item.init)
        except (ArithmeticError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise self.error(f"the initial value of `{item.name}` is not a finite number", item.init.span)
        return value

    # ------------------------------------------------------------ shapes

    def check_shapes(self, params, data) -> None:
        """Every expression has a shape; the model and the loss are scalars."""
        checker = ShapeChecker({v.name: v.shape for v in params + data}, self.error)
        for stmt in self.lets + [self.model]:
            checker.names[stmt.name] = checker.shape(stmt.expr, in_loss=False)
        shape = checker.names[self.model.name]
        if len(shape) > 1:   # a scalar or a vector per sample (softmax's probabilities)
            raise self.error(f"the model `{self.model.name}` is {shape_text(shape)}; a model gives one "
                             "value or one vector per sample", self.model.expr.span,
                             "reduce it, e.g. with W @ x (a vector) or dot(w, x) (a scalar)")
        if checker.shape(self.loss.expr, in_loss=True):
            raise self.error("the loss is not a scalar", self.loss.expr.span,
                             "reduce it with sum(...) or mean(...)")
        self.sample_reductions = checker.sample_reductions
        self.shapes = checker.names

    # ------------------------------------------------------------ sample level

    def check_levels(self, data: set[str]) -> None:
        """Data may be used only inside a reduction in the loss, and the loss must reduce over it."""
        per_sample = set(data)
        for stmt in self.lets + [self.model]:
            if any(_mentions(n, per_sample) for n in walk(stmt.expr)):
                per_sample.add(stmt.name)
        reductions = [n for n in walk(self.loss.expr) if id(n) in self.sample_reductions]
        inside = {id(n) for r in reductions for n in walk(r)}
        for node in walk(self.loss.expr):
            if _mentions(node, per_sample) and id(node) not in inside:
                vector = bool(self.shapes.get(node.name)) and isinstance(node, ir.Var)
                hint = (f"wrap it in mean(...) or sum(...), e.g. `mean({node.name}^2)`" if not vector else
                        f"reduce it over the samples too, e.g. `mean(sum({node.name}^2))`: sum(...) of "
                        "a vector only sums its elements")
                raise self.error(f"`{node.name}` has a value per sample, so the loss must reduce it",
                                 node.span, hint)
        if not any(_mentions(n, per_sample) for r in reductions for n in walk(r)):
            raise self.error("the loss never reduces over the data", self.loss.expr.span,
                             "average the per-sample error over the samples, "
                             f"e.g. `loss mean(({self.model.name} - Y)^2)`")
        if self.model.name not in _uses(self.loss.expr, self.lets):
            raise self.error(f"the loss does not use the model `{self.model.name}`", self.loss.expr.span,
                             f"compare the prediction with the data, e.g. `mean(({self.model.name} - Y)^2)`")


def _mentions(node: ir.Expr, names: set[str]) -> bool:
    return isinstance(node, (ir.Var, ir.Element)) and node.name in names


def _sizes(dims: tuple[ir.Dim, ...]) -> Shape:
    return tuple(d.size for d in dims)


def _uses(expr: ir.Expr, lets: Iterable[ir.Let]) -> set[str]:
    """Names an expression depends on, through definitions too."""
    bodies = {let.name: let.expr for let in lets}
    seen: set[str] = set()
    todo = [expr]
    while todo:
        for node in walk(todo.pop()):
            if isinstance(node, ir.Var) and node.name not in seen:
                seen.add(node.name)
                if node.name in bodies:
                    todo.append(bodies[node.name])
    return seen


def check(program: ir.Program, data_names: Iterable[str] | None = None,
          data_origin: str = "--data") -> CheckedModel:
    """Check a program. `data_names` (from --data or a CSV header) settles undeclared names."""
    names = frozenset(data_names) if data_names is not None else None
    return _Checker(program, names, data_origin).run()
