"""Fit a compiled model to data: match columns to data names, choose the step, run the loop, stop.

`fit(model, data, ...)` is the whole job; `prepare` (model + data -> Problem) and `run`
(Problem + Options -> FitResult) are its two halves, used separately by the CLI, which
prints what `prepare` decided before `run` starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from gdc.errors import GdcError
from gdc.runtime.kernels import Kernels
from gdc.runtime.layout import Layout
from .optimizers import (Adam, BarzilaiBorwein, Batches, FullBatch, Momentum, Objective, Plain,
                         SampleKernel, first_step, probe_adam, trial_sgd_step)
from .options import SECOND_ORDER, Options, Schedule
from gdc.language.parse import looks_like_path  # parse.py imports lark only to parse

# Stop when the loss exceeds its initial value by this factor (of its size): it is not coming back.
DIVERGENCE_FACTOR = 1e8
# Levenberg–Marquardt, standard errors and the condition number for at most this many
# parameters: each step solves a p×p system (JᵀJ costs n·p² a pass). Scalar models have
# second-order kernels only up to gdc.hessian.MAX_SECOND_ORDER (50) parameters; shaped models
# always have jtj_jtr, so this limit decides for them.
MAX_STATISTICS = 200
STOP_REASONS = ("gtol", "tol", "xtol", "ftol", "max_epochs", "stalled", "diverged", "interrupted")
CONVERGED = ("gtol", "tol", "xtol", "ftol")


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    """A compiled model and the data columns its kernels take, in their order."""

    kernels: Kernels
    data: tuple[np.ndarray, ...]
    columns: tuple[str, ...]       # where each data name came from (a column name, or the key)
    source: str                    # the data file, or "<arrays>"
    n_rows: int
    dropped: int = 0
    unused: tuple[str, ...] = ()   # columns of the file that the model does not use
    model_source: str | None = None  # the model file, when the model was given as a path
    model_hash: str = ""           # the model's identity: its text and names (model_identity)
    classified_by: tuple[tuple[str, ...], str] = ((), "")  # the names and origin given to the checker
    layout: Layout | None = None   # the parameters' shapes and places, sizes bound by this data

    def column(self, name: str) -> np.ndarray:
        return self.data[self.kernels.data_names.index(name)]

    @property
    def params_layout(self) -> Layout:
        return self.layout if self.layout is not None else self.kernels.layout(self.data, self.source)

    @property
    def flat_kernels(self) -> Kernels:
        """The kernels as a model of one scalar parameter per element (the kernels for a scalar model)."""
        return self.kernels.flat(self.params_layout)


@dataclass(frozen=True, slots=True, eq=False)
class FitResult:
    """What a fit found and how it stopped. `history[k]` is the full-batch loss after k epochs."""

    params: dict[str, float | np.ndarray]   # a shaped parameter's value is an array of its shape
    loss: float
    iterations: int                  # epochs completed (for gd: steps taken)
    converged: bool
    reason: str                      # one of STOP_REASONS
    seconds: float
    method: str
    lr: float | None                 # the learning rate of the first epoch
    history: np.ndarray = field(repr=False)
    message: str = ""                # the reason, in words
    grad_norm: float = math.nan
    lr_note: str | None = None       # how the rate was chosen, when gdc chose it
    schedule: str = "constant"
    updates: int = 0                 # parameter updates made
    path: np.ndarray | None = field(default=None, repr=False)  # params per epoch (≤ 2 params)
    model_hash: str = ""
    n_rows: int = 0
    load_seconds: float = 0.0        # numba compiling or loading the kernels, before the fit
    method_note: str | None = None   # why --method auto chose this method
    stats: object | None = None      # second_order.LeastSquaresStats, for a least-squares loss
    layout: Layout | None = None     # the parameters' shapes; stats and path are per element
    notes: tuple[str, ...] = ()      # what the report leaves out, and why

    def __str__(self) -> str:
        from .report import result_text
        return result_text(self)


class FitDiverged(GdcError):
    """The loss grew without bound or stopped being a number; `result` holds the history."""

    def __init__(self, result: FitResult):
        super().__init__(result.message, where="gdc fit", hint=divergence_hint(result))
        self.result = result


def divergence_hint(result: FitResult) -> str:
    if result.lr is None or result.lr_note is not None:
        return "the data may hold extreme values, or the model may have no minimum"
    return (f"use a smaller learning rate, e.g. --lr {result.lr / 10:.3g} (10× smaller), "
            "or leave --lr out to let gdc choose one")


# --- the data ----------------------------------------------------------------------------------

def prepare(model: str | os.PathLike | Kernels, data, *, mapping: Mapping[str, str] | None = None,
            drop_nonfinite: bool = False) -> Problem:
    """Read the data, settle which model names are data (those among its columns), compile."""
    from gdc.io.data import bound_columns, gather, read_table

    mapping = dict(mapping or {})
    if isinstance(data, (str, os.PathLike)):
        table = read_table(data, drop_nonfinite=drop_nonfinite)
        source, names, columns, dropped = table.path, table.names, table.columns, table.dropped
        origin = "the CSV header" if source.lower().endswith(".csv") else "the data file's columns"
    else:
        source, dropped = "<arrays>", 0
        columns, dropped = _arrays(data, drop_nonfinite)
        names = tuple(columns)
        origin = "the data's keys"
        table = None
    known = tuple(names) + tuple(name for name in mapping if name not in names)
    origin += " or --map" if mapping else ""
    if not mapping and not isinstance(model, Kernels):
        _some_column_is_named(model, names, source)
    kernels, text = _kernels(model, known, origin)
    shapes = dict(zip(kernels.data_names, kernels.data_shapes))
    if table is not None:
        bound = bound_columns(table, kernels.data_names, mapping, shapes)
        chosen = gather(table, bound, shapes)
        used = [":".join(bound[name]) for name in kernels.data_names]
        taken = {column for columns in bound.values() for column in columns}
    else:
        chosen = _select(columns, kernels.data_names, mapping)
        used = [mapping.get(name, name) for name in kernels.data_names]
        taken = set(used)
    unused = tuple(n for n in names if n not in taken)
    model_source = os.fspath(model) if isinstance(model, os.PathLike) or (
        isinstance(model, str) and looks_like_path(model)) else None
    data_tuple = tuple(np.ascontiguousarray(chosen[name], dtype=np.float64) for name in kernels.data_names)
    layout = kernels.layout(data_tuple, source if table is not None else "gdc.fit")
    return Problem(kernels, data_tuple, tuple(used), source, len(data_tuple[0]) if data_tuple else 0,
                   dropped, unused, model_source, model_identity(text, kernels), (known, origin), layout)


def _some_column_is_named(model, names: tuple[str, ...], source: str) -> None:
    """Fail early, with the --map to write, when no column shares a name with the model text."""
    from gdc.language.vocabulary import RESERVED, looks_like_data
    from gdc.runtime.cache import read_model
    where, text = read_model(model)
    found = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"#[^\n]*", "", text))
    words = list(dict.fromkeys(word for word in found if word not in RESERVED))
    stems = {re.sub(r"_?[0-9]+$", "", name) for name in names}   # x1, x2, … feed a data vector x
    if set(words) & (set(names) | stems):
        return
    guesses = [word for word in words if looks_like_data(word)] or ["NAME"]
    raise GdcError(f"none of the data's columns ({', '.join(names)}) is named like a name in {where}",
                   where=source, hint="map the model's data names to columns: --map "
                   + ",".join(f"{guess}=COLUMN" for guess in guesses))


def _kernels(model, data_names: tuple[str, ...], origin: str) -> tuple[Kernels, str | None]:
    """The kernels and the model text (None when the caller passed kernels)."""
    if isinstance(model, Kernels):
        return model, None
    from gdc.runtime.cache import load_kernels, read_model
    kernels = load_kernels(model, data_names=data_names, data_origin=origin)
    return kernels, read_model(model)[1]


def model_identity(text: str | None, kernels: Kernels) -> str:
    """What a saved parameter file is checked against: a hash of the model text (blanks and
    comments aside) and of which names are parameters and data. Unlike the kernels' cache key,
    it survives a new gdc or numba version, which does not change what the parameters mean."""
    if text is None:
        return kernels.model_hash
    from gdc.runtime.cache import normalize
    key = json.dumps([normalize(text), kernels.param_names, kernels.data_names])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _arrays(data: Mapping, drop_nonfinite: bool) -> tuple[dict[str, np.ndarray], int]:
    """A mapping of names to numeric arrays, one row per sample (1-D, or 2-D (N, d) for a
    data vector), as float64 arrays of one length."""
    if not isinstance(data, Mapping) or not data:
        raise GdcError("data must be a file path or a non-empty mapping of names to arrays "
                       "(1-D, or 2-D with one row per sample for a data vector)", where="gdc.fit")
    columns: dict[str, np.ndarray] = {}
    for name, values in data.items():
        array = np.asarray(values)
        if array.dtype.kind not in "biuf" or array.ndim not in (1, 2):
            raise GdcError(f"data[{name!r}] must be a 1-D array of numbers (2-D, one row per "
                           f"sample, for a data vector), not {array.dtype} of shape {array.shape}",
                           where="gdc.fit")
        columns[str(name)] = np.ascontiguousarray(array, dtype=np.float64)
    lengths = {name: len(a) for name, a in columns.items()}
    if len(set(lengths.values())) != 1:
        raise GdcError(f"the data columns differ in length: {lengths}", where="gdc.fit")
    if not next(iter(lengths.values())):
        raise GdcError("the data has no rows", where="gdc.fit")
    finite = np.logical_and.reduce([np.isfinite(a).reshape(len(a), -1).all(axis=1)
                                    for a in columns.values()])
    if finite.all():
        return columns, 0
    if not drop_nonfinite:
        row = int(np.argmin(finite))
        bad = next(n for n, a in columns.items() if not np.isfinite(a[row]).all())
        raise GdcError(f"data[{bad!r}][{row}] is {columns[bad][row]}", where="gdc.fit",
                       hint="pass drop_nonfinite=True to skip such rows")
    return {n: a[finite] for n, a in columns.items()}, int((~finite).sum())


def _select(columns: dict[str, np.ndarray], names, mapping: Mapping[str, str]) -> dict[str, np.ndarray]:
    chosen = {}
    for name in names:
        key = mapping.get(name, name)
        if key not in columns:
            raise GdcError(f"the model's data {name!r} is not among the data's keys "
                           f"({', '.join(columns)})", where="gdc.fit",
                           hint=f"pass mapping={{{name!r}: KEY}} to choose one")
        chosen[name] = columns[key]
    return chosen


def initial_params(kernels: Kernels, init: Mapping[str, float] | None, layout: Layout | None = None,
                   seed: int = 0) -> np.ndarray:
    """The model's flat initial vector (see gdc.layout: random draws from `seed` where the model
    gives no value), with `init` overriding some; a number fills a whole shaped parameter;
    unknown names are an error."""
    layout = layout if layout is not None else kernels.layout()
    params = layout.initial(seed)
    for name, value in (init or {}).items():
        if name not in kernels.param_names:
            if name in kernels.data_names:
                raise GdcError(f"{name!r} is data, not a parameter", where="--init",
                               hint=f"the parameters are {', '.join(kernels.param_names)}")
            guess = difflib.get_close_matches(name, kernels.param_names, n=1)
            raise GdcError(f"the model has no parameter {name!r}", where="--init",
                           hint=f"did you mean {guess[0]!r}?" if guess
                           else f"the parameters are {', '.join(kernels.param_names)}")
        value = float(value)
        if not math.isfinite(value):
            raise GdcError(f"the initial value of {name!r} must be finite, not {value}", where="--init")
        layout.fill(params, name, value)
    return params


def parse_init(text: str) -> dict[str, float]:
    """Parse `--init m=1,b=0`; for a vector or matrix parameter, `w=0` sets every element."""
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, value = (s.strip() for s in item.partition("="))
        try:
            if not equals or not name:
                raise ValueError
            values[name] = float(value)
        except ValueError:
            raise GdcError(f"{item!r} is not of the form NAME=NUMBER", where="--init",
                           hint="e.g. --init m=1,b=0") from None
    return values


# --- the loop ----------------------------------------------------------------------------------

def choose_method(kernels: Kernels, options: Options) -> tuple[str, str | None]:
    """The method to run, and why when --method auto chose it (from the loss's structure).

    `kernels` counts one parameter per element: pass `problem.flat_kernels`."""
    if options.method != "auto":
        return options.method, None
    size = len(kernels.param_names)   # kernels.flat(...): one name per element
    some = f"{size} parameter{'s' if size != 1 else ''}"
    if options.lr is not None or options.schedule.kind != "constant" or options.tolerances_given:
        return "gd", "a learning rate, schedule or tolerance was given, so gradient descent"
    if size > MAX_STATISTICS:
        return "gd", (f"{some}: too many for second-order steps (at most {MAX_STATISTICS}), so gradient "
                      "descent with automatic steps")
    if kernels.jtj_jtr is not None:
        return "lm", f"the loss is a sum of squared residuals; {some}"
    if kernels.loss_grad_hess is not None:
        return "newton", f"the loss is not a sum of squares; {some}, so its Hessian is cheap"
    return "gd", f"{some} and no second-derivative kernels, so gradient descent with automatic steps"


def run(problem: Problem, options: Options = Options(), *, init: Mapping[str, float] | None = None,
        progress: Callable | None = None) -> FitResult:
    """Fit; a diverged fit is returned with reason "diverged" (fit() raises instead)."""
    options.validate()
    layout = problem.params_layout
    kernels = problem.kernels.flat(layout)
    params = initial_params(problem.kernels, init, layout, options.seed)
    method, why = choose_method(kernels, options)
    if method != options.method:
        options = dataclasses.replace(options, method=method)
    flat = dataclasses.replace(problem, kernels=kernels)
    if method in SECOND_ORDER:
        from .run_second_order import run_second_order
        result = run_second_order(flat, options, params, why, progress)
        return _regroup(result, problem, params)
    loading = time.perf_counter()
    objective = Objective(kernels, problem.data)
    _warm_up(objective, params, options)
    started = time.perf_counter()
    driver, lr, note = _driver(objective, params, options)
    rates = options.schedule.rates(lr, options.max_epochs)
    loop = _Loop(objective, driver, params, rates, options, progress, record=len(params) <= 2)
    loop.run()
    seconds = time.perf_counter() - started
    k = loop.epoch
    updates = k * _updates_per_epoch(problem.n_rows, options)
    reason = loop.reason
    result = FitResult(
        params=dict(zip(kernels.param_names, params.tolist())), loss=loop.loss, iterations=k,
        converged=reason in CONVERGED, reason=reason, seconds=seconds,
        method=_method_name(options), lr=lr, history=loop.history[:k + 1].copy(),
        message=loop.message(lr), grad_norm=loop.gnorm, lr_note=_lr_note(note, driver),
        schedule=options.schedule.describe(), updates=updates,
        path=None if loop.recorder is None else loop.recorder[:k + 1].copy(),
        model_hash=problem.model_hash, n_rows=problem.n_rows, load_seconds=started - loading,
        method_note=why, stats=least_squares_report(flat, params, reason))
    return _regroup(result, problem, params)


def least_squares_report(problem: Problem, params: np.ndarray, reason: str):
    """The statistics of a least-squares fit; `problem` must hold the flat kernels."""
    if len(params) > MAX_STATISTICS:
        return None
    from .run_second_order import least_squares_report as report
    return report(problem, params, reason)


def _regroup(result: FitResult, problem: Problem, params: np.ndarray) -> FitResult:
    """The result with each parameter under its own name (an array for a shaped one)."""
    layout, notes = problem.params_layout, ()
    if layout.size > MAX_STATISTICS and problem.kernels.jtj_jtr is not None:
        notes = (f"standard errors and the condition number are not computed for more than "
                 f"{MAX_STATISTICS} parameters (this fit has {layout.size})",)
    if not layout.shaped and not notes:
        return dataclasses.replace(result, layout=layout)
    return dataclasses.replace(result, params=layout.unflatten(params), layout=layout, notes=notes,
                               stats=None if notes else result.stats)


def _warm_up(objective: Objective, params: np.ndarray, options: Options) -> None:
    k = objective.kernels
    if options.method == "sgd":
        objective.warm_up(params, k.sgd_epoch)
    elif options.method == "minibatch":
        objective.warm_up(params, k.minibatch_epoch, options.batch_size or 32)
    else:
        objective.warm_up(params)


def _method_name(options: Options) -> str:
    if options.method == "momentum" and options.nesterov:
        return "momentum (nesterov)"
    return options.method


def _updates_per_epoch(n: int, options: Options) -> int:
    if options.method == "sgd":
        return n
    if options.stochastic:
        size = options.batch_size or 32
        return -(-n // size)
    return 1


def _lr_note(note: str | None, driver) -> str | None:
    if isinstance(driver, BarzilaiBorwein):
        return (f"automatic: Barzilai–Borwein steps from {driver.smallest:.3g} to {driver.largest:.3g} "
                f"under a backtracking line search; the first step is {note}")
    return None if note is None else f"automatic: {note}"


def _driver(objective: Objective, params: np.ndarray, o: Options):
    """The epoch driver for the method, its first learning rate, and how that rate was chosen."""
    size = len(params)
    note = None
    lr = o.lr
    if o.method in ("gd", "momentum", "minibatch", "sgd") and lr is None:
        lr, note = first_step(objective, params)
    if o.method == "gd":
        if o.lr is None:
            return BarzilaiBorwein(objective, lr, objective(params)), lr, note
        return FullBatch(objective, Plain(size)), lr, None
    if o.method in ("sgd", "minibatch"):
        batch = None if o.method == "sgd" else (o.batch_size or 32)
        driver = SampleKernel(objective, o.seed, o.shuffle, batch)
        if o.lr is None:
            start = lr
            lr = trial_sgd_step(objective, driver, params, start, o.seed)
            note = (f"{note}; then halved until one pass over {min(objective.n, 2000)} rows "
                    "lowered the loss" if lr != start else
                    f"{note}; one pass over {min(objective.n, 2000)} rows at it lowered the loss")
        return driver, lr, note
    rule = (Momentum(size, o.momentum, o.nesterov) if o.method == "momentum"
            else Adam(size, o.beta1, o.beta2, o.eps))
    if lr is None:  # adam
        lr = probe_adam(objective, params, o.beta1, o.beta2, o.eps, min(30, o.max_epochs))
        note = (f"of 1, 0.3, 0.1, …, 0.001, the rate whose first {min(30, o.max_epochs)} "
                "full-batch steps reached the lowest loss")
    if o.batch_size is not None:
        return Batches(objective, rule, o.seed, o.shuffle, o.batch_size), lr, note
    return FullBatch(objective, rule), lr, note


class _Loop:
    """The epochs, the checks after each one, and why they stopped."""

    def __init__(self, objective, driver, params, rates, options: Options, progress, record: bool):
        self.objective, self.driver, self.params, self.rates = objective, driver, params, rates
        self.options, self.progress = options, progress
        capacity = min(options.max_epochs, 1 << 16) + 1   # grown by doubling if need be
        self.history = np.empty(capacity)
        self.recorder = np.empty((capacity, len(params))) if record else None
        self.epoch = 0
        self.reason = "max_epochs"
        self.loss = self.gnorm = math.nan
        self.loss0 = math.nan

    def run(self) -> None:
        try:
            self._run()
        except KeyboardInterrupt:
            self.reason = "interrupted"

    def _run(self) -> None:
        objective, params, history, recorder = self.objective, self.params, self.history, self.recorder
        grad = objective.grad
        o = self.options
        tol, gtol, progress = o.tol, o.gtol, self.progress
        patience = 10 if isinstance(self.driver, BarzilaiBorwein) else o.patience
        step = self.driver.epoch
        sqrt, dot = math.sqrt, np.dot

        loss = self.loss = self.loss0 = objective(params)
        history[0] = loss
        if recorder is not None:
            recorder[0] = params
        scale = abs(loss) if loss != 0.0 else 1.0
        limit = loss + DIVERGENCE_FACTOR * scale if math.isfinite(loss) else -math.inf
        if not loss < limit:
            self.reason = "diverged"
            return
        gnorm = self.gnorm = sqrt(dot(grad, grad))
        if gnorm <= gtol:
            self.reason = "gtol"
            return
        # Deterministic methods stop when the loss stops changing; stochastic ones, whose loss
        # jitters, when it stops reaching new lows (scikit-learn's n_iter_no_change rule).
        noisy = o.stochastic
        best, last, stalled = loss, loss, 0
        for k, lr in enumerate(self.rates, 1):
            loss = step(params, lr)
            if k == len(history):
                history, recorder = self.grow()
            history[k] = loss
            self.epoch, self.loss = k, loss
            if recorder is not None:
                recorder[k] = params
            if not loss < limit:   # also catches NaN and inf
                self.reason = "diverged"
                return
            gnorm = self.gnorm = sqrt(dot(grad, grad))
            if gnorm <= gtol:
                self.reason = "gtol"
                return
            if tol == 0.0 or (best - loss if noisy else abs(last - loss)) > tol * abs(best if noisy else last):
                stalled = 0
            else:
                stalled += 1
                if stalled == 1:
                    anchor = params.copy()
                if stalled >= patience:
                    # A loss that stopped changing because the steps stopped moving the
                    # parameters is a stall, not convergence (e.g. a step size far too small).
                    moved = float(np.linalg.norm(params - anchor))
                    self.reason = "stalled" if moved <= 1e-14 * float(np.linalg.norm(params)) else "tol"
                    return
            if loss < best:
                best = loss
            last = loss
            if progress is not None:
                progress(k, loss, gnorm, lr)

    def grow(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Twice the room for the history (and the parameter path)."""
        self.history = np.concatenate([self.history, np.empty(len(self.history))])
        if self.recorder is not None:
            self.recorder = np.concatenate([self.recorder, np.empty_like(self.recorder)])
        return self.history, self.recorder

    def message(self, lr: float) -> str:
        o, k = self.options, self.epoch
        if self.reason == "gtol":
            return f"converged: the gradient norm {self.gnorm:.3g} is at most --gtol {o.gtol:g}"
        if self.reason == "tol":
            patience = 10 if isinstance(self.driver, BarzilaiBorwein) else o.patience
            if o.stochastic:
                return (f"converged: for {patience} epochs the loss has not gone below its lowest "
                        f"by more than --tol {o.tol:g} (relative)")
            return (f"converged: the loss changed by less than --tol {o.tol:g} (relative) "
                    f"for {patience} epochs in a row")
        if self.reason == "stalled":
            return (f"not converged: stalled, the steps no longer change the parameters; the "
                    f"gradient norm is still {self.gnorm:.3g}")
        if self.reason == "max_epochs":
            return (f"not converged: stopped at the epoch limit ({k}); the gradient norm is "
                    f"still {self.gnorm:.3g} (--gtol {o.gtol:g})")
        if self.reason == "interrupted":
            return f"interrupted after {k} epochs"
        if k == 0:
            return f"the loss at the initial parameters is {self.loss:g}, not a finite number"
        what = ("became NaN" if math.isnan(self.loss) else "became infinite" if math.isinf(self.loss)
                else f"grew from {self.loss0:.4g} to {self.loss:.4g}")
        rate = f" with learning rate {lr:.3g}" if lr is not None else ""
        return f"the fit diverged at epoch {k}{rate}: the loss {what}"


def fit(model, data, method: str = "auto", lr: float | None = None, *, epochs: int | None = None,
        tol: float | None = None, gtol: float | None = None, batch_size: int | None = None,
        schedule: str = "constant", power_t: float = 0.25, step_every: int = 100,
        step_factor: float = 0.5, momentum: float = 0.9, nesterov: bool = False,
        beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, seed: int = 0,
        shuffle: bool = True, init: Mapping[str, float] | None = None,
        mapping: Mapping[str, str] | None = None, drop_nonfinite: bool = False) -> FitResult:
    """Fit `model` (a .gd path, model text, or Kernels) to `data` (a file path or a mapping of
    arrays: 1-D for each scalar data name, 2-D (N, d) for a data vector `x[d]`). Raises
    FitDiverged when the loss blows up, GdcError for bad input. `result.params` maps each
    parameter to a float, or to an array of its shape for a vector or matrix parameter;
    `init` gives numbers by name (a number fills a whole vector or matrix)."""
    options = Options(method=method, lr=lr, schedule=Schedule(schedule, power_t, step_every, step_factor),
                      epochs=epochs, batch_size=batch_size, momentum=momentum, nesterov=nesterov,
                      beta1=beta1, beta2=beta2, eps=eps, seed=seed, shuffle=shuffle)
    options = options.with_tolerances(tol, gtol).validate()
    problem = prepare(model, data, mapping=mapping, drop_nonfinite=drop_nonfinite)
    result = run(problem, options, init=init)
    if result.reason == "diverged":
        raise FitDiverged(result)
    return result
