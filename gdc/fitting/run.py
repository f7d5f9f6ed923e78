"""Problem + Options → FitResult: the starting point, the method (`auto`), its runner, the shapes back.

`gdc.api.fit(model, data, ...)` is the whole job; `gdc.api.prepare` (model + data → Problem) and
`run` here (Problem + Options → FitResult) are its two halves, used separately by the CLI,
which prints what `prepare` decided before `run` starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import time
from typing import Callable, Mapping

import numpy as np

from gdc.errors import GdcError
from gdc.runtime.kernels import Kernels
from gdc.runtime.layout import Layout
from .bounds import Box, assignments, by_name, enter, make_box
from .device import refuse_per_sample
from .method import choose_method
from .optimizers import remembering
from .options import MAX_STATISTICS, Options
from .out_of_core import check_partitioned
from .problem import FitResult, Problem
from .reasons import Stop
from .run_first_order import run_first_order
from .run_lbfgs import run_lbfgs
from .run_second_order import run_second_order
from .start import Start, examine_start
from .verdict import judge
from .weights import fit_kernels, least_squares_holds, without_least_squares

# Each kind of method in the registry (gdc.fitting.options.METHODS) and the runner that fits it.
RUNNERS = {"second_order": run_second_order, "bundle": run_second_order, "first_order": run_first_order,
           "lbfgs": run_lbfgs}


# --- the starting point ------------------------------------------------------------------------

def initial_params(kernels: Kernels, init: Mapping[str, float] | None, layout: Layout | None = None,
                   seed: int = 0) -> np.ndarray:
    """The model's flat initial vector (see gdc.layout: random draws from `seed` where the model
    gives no value), with `init` overriding some; a number fills a whole shaped parameter;
    unknown names are an error."""
    by_name("init", init, "{'m': 1.0}")
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
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise GdcError(f"the initial value of {name!r} must be a number, not {value!r}", where="--init",
                           hint="e.g. init={'m': 1.0}") from None
        if not math.isfinite(value):
            raise GdcError(f"the initial value of {name!r} must be finite, not {value}", where="--init")
        layout.fill(params, name, value)
    return params


def parse_init(texts: list[str]) -> dict[str, float]:
    """Parse `--init m=1,b=0 --init c=2`; for a vector or matrix parameter, `w=0` sets every element."""
    values: dict[str, float] = {}
    for name, value in assignments(texts, "--init", "NAME=NUMBER", "e.g. --init m=1,b=0").items():
        try:
            values[name] = float(value)
        except ValueError:
            raise GdcError(f"{name + '=' + value!r} is not of the form NAME=NUMBER", where="--init",
                           hint="e.g. --init m=1,b=0") from None
    return values


def run(problem: Problem, options: Options = Options(), *, init: Mapping[str, float] | None = None,
        progress: Callable | None = None, bounds: Mapping[str, object] | None = None,
        fixed: Mapping[str, float] | None = None) -> FitResult:
    """Fit, and judge the answer (gdc.fitting.verdict). A failed fit (reason.failed: diverged,
    unbounded, or a start that is undefined or a saddle) is returned too; gdc.fit raises instead.
    `bounds` narrow the model's (gdc.fitting.bounds), `fixed` holds parameters at values."""
    options.validate()
    layout = problem.params_layout
    kernels = fit_kernels(problem)
    params = initial_params(problem.kernels, init, layout, options.seed)
    partitioned = hasattr(kernels.module, "least_squares_holds")   # checked part by part (gdc.scale)
    if (kernels.residuals_jacobian is not None or partitioned) and layout.size <= MAX_STATISTICS \
            and not least_squares_holds(kernels, problem.data, params):
        kernels = without_least_squares(kernels)   # a negative weight W in sum(W*(y - Y)^2)
    box = make_box(problem.kernels, layout, bounds, fixed)
    if box is not None:
        enter(box, params, _drawn(layout, init), kernels.param_names)
    method, why = choose_method(kernels, options)
    if method != options.method:
        options = dataclasses.replace(options, method=method)
    _box_allowed(box, options.method, why)
    refuse_per_sample(problem, options.method, options.stochastic)
    check_partitioned(problem.backend, options)
    if problem.sigma is not None and (options.stochastic or options.spec.kind == "bundle"):
        raise GdcError(f"--sigma weighs the full-batch fit; --method {options.method} updates from "
                       "samples or cutting planes", where="--sigma", hint="use --method lm (or auto)")
    flat = dataclasses.replace(problem, kernels=remembering(kernels, problem.data), box=box)
    kernels = flat.kernels
    examining = time.perf_counter()
    start = examine_start(kernels, flat.data, params, options.seed, None if box is None else box.fixed)
    if start.reason is not None:
        return _regroup(_refused(flat, options, params, why, start), problem, params)
    examined = time.perf_counter() - examining   # numba loads its first kernel here
    origin = params.copy()
    try:
        result = RUNNERS[options.spec.kind](flat, options, params, why, progress)
        result = judge(flat, options, result, params, origin)
    except np.linalg.LinAlgError as error:   # a step's linear algebra failed: say so, no traceback
        result = _failed_step(flat, options, params, why, start, error)
    if box is not None:
        result = dataclasses.replace(result, held=box.held(params), box=box)
    return _regroup(result, problem, params, examined)


def _drawn(layout: Layout, init: Mapping[str, float] | None) -> np.ndarray:
    """Which elements start at random draws (a vector or matrix without a value or --init)."""
    drawn = np.zeros(layout.size, dtype=bool)
    for name, spec in zip(layout.names, layout.initial_spec):
        if spec is None and name not in (init or {}):
            drawn[layout.span(name)] = True
    return drawn


def _box_allowed(box: Box | None, method: str, why: str | None) -> None:
    """The bundle method keeps no box: say so rather than fit outside it."""
    if box is not None and method == "bundle":
        chosen = " (--method auto chose it: the loss has kinks)" if why else ""
        raise GdcError(f"the bundle method{chosen} does not take bounds or fixed parameters yet",
                       where="--method", hint="remove the bounds (and --fix), or use --method gd, which "
                                              "projects onto them (its answer at a kink is not certified)")


def _failed_step(problem: Problem, options: Options, params: np.ndarray, why: str | None,
                 start: Start, error: Exception) -> FitResult:
    """The result of a fit whose linear algebra failed (NumPy's LinAlgError) part way."""
    loss = problem.kernels.loss(params, *problem.data)
    return _unfitted(problem, options, params, why, [start.loss, loss], Stop.STALLED,
                     f"not converged: a linear-algebra step failed ({error}), so the fit stopped where it was",
                     "try other starting values (--init), or another --method")


def _refused(problem: Problem, options: Options, params: np.ndarray, why: str | None,
             start: Start) -> FitResult:
    """The result of a fit that did not run: its start is undefined or a saddle."""
    return _unfitted(problem, options, params, why, [start.loss], start.reason, start.message, start.advice)


def _unfitted(problem: Problem, options: Options, params: np.ndarray, why: str | None, history: list,
              reason: Stop, message: str, advice: str) -> FitResult:
    return FitResult(params=dict(zip(problem.kernels.param_names, params.tolist())), loss=history[-1],
                     iterations=0, converged=False, reason=reason, seconds=0.0, method=options.method,
                     lr=options.lr, history=np.array(history), message=message,
                     model_hash=problem.model_hash, n_rows=problem.n_rows, method_note=why, advice=advice)


def _regroup(result: FitResult, problem: Problem, params: np.ndarray, loading: float = 0.0) -> FitResult:
    """The result with each parameter under its own name (an array for a shaped one), and
    `loading` more seconds of kernel loading (the start's examination loads the first)."""
    layout, notes = problem.params_layout, ()
    seconds = result.load_seconds + loading
    if layout.size > MAX_STATISTICS and problem.kernels.jtj_jtr is not None:
        notes = (f"standard errors and the condition number are not computed for more than "
                 f"{MAX_STATISTICS} parameters (this fit has {layout.size})",)
    if not layout.shaped and not notes:
        return dataclasses.replace(result, layout=layout, load_seconds=seconds)
    return dataclasses.replace(result, params=layout.unflatten(params), layout=layout, notes=notes,
                               stats=None if notes else result.stats, load_seconds=seconds)
