"""Whether a fit can start where it is asked to: a finite loss and gradient, and no symmetry that
pins parameters (every method would stay where it is and call that a minimum)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .reasons import Stop
from .verdict import Curvature

PROBES = 8   # random directions tried among the pinned parameters


@dataclass(frozen=True)
class Start:
    """The loss at the start, and why no fit should run from there (None: it may)."""

    loss: float
    reason: Stop | None = None
    message: str = ""
    advice: str = ""


def examine_start(kernels, data, params: np.ndarray, seed: int = 0, fixed: np.ndarray | None = None) -> Start:
    """`fixed`: the elements a fit holds (--fix), which no symmetry needs to free."""
    gradient = Curvature(kernels, data).loss_grad
    loss, grad = gradient(params)
    if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
        return _undefined(gradient, kernels.param_names, params, loss, grad)
    pinned = [j for j in _pinned(gradient, params, grad) if fixed is None or not fixed[j]]
    if pinned and _lower_nearby(kernels, data, params, loss, pinned, seed):
        return _saddle(kernels, params, pinned, loss)
    return Start(loss)


def _finite_at(gradient, params: np.ndarray) -> bool:
    loss, grad = gradient(params)
    return math.isfinite(loss) and bool(np.all(np.isfinite(grad)))


def _nudged(value: float) -> float:
    """The value a saddle's pinned parameter is suggested to start from."""
    return 1.0 if value == 0.0 else value / 10.0


def _undefined(gradient, names, params, loss, grad) -> Start:
    """Name the partials that are not finite, and the parameters whose change alone fixes it."""
    culprits, fixes = [], {}
    for j in range(len(params)):
        for value in ((1.0,) if params[j] == 0.0 else (params[j] / 10.0, 1.0)):
            trial = params.copy()
            trial[j] = value
            if _finite_at(gradient, trial):
                culprits.append(j)
                fixes[j] = value
                break
    if not math.isfinite(loss):
        what = f"the loss is {loss:g} at the start"
    else:
        bad = [f"∂J/∂{names[j]}" for j in range(len(params)) if not math.isfinite(grad[j])]
        what = f"the gradient is not finite at the start ({', '.join(bad)}: {grad[~np.isfinite(grad)][0]:g})"
    if culprits:
        cause = "; ".join(f"{names[j]} = {params[j]:g} makes it so (with {names[j]} = {fixes[j]:g} "
                          f"it is finite)" for j in culprits)
        values = ", ".join(f"{names[j]} = {fixes[j]:g}" for j in culprits)
        init = ",".join(f"{names[j]}={fixes[j]:g}" for j in culprits)
        advice = f"start elsewhere: `param {values}` in the model, or --init {init}"
        return Start(loss, Stop.UNDEFINED, f"{what}: {cause}", advice)
    return Start(loss, Stop.UNDEFINED, f"{what}, and no single parameter's value is to blame",
                 "choose other starting values (--init), and check the data for extreme values")


def _pinned(gradient, params: np.ndarray, grad: np.ndarray) -> list[int]:
    """The parameters whose partials are exactly zero at the start and stay exactly zero when the
    others move: a symmetry holds them (A = w = 0 in A·sin(w·t + φ) zeroes ∂/∂A, ∂/∂w and ∂/∂φ
    whatever the offset does)."""
    zero = [j for j in range(len(params)) if grad[j] == 0.0]
    if not zero:
        return []
    moved = params.copy()
    others = [j for j in range(len(params)) if grad[j] != 0.0]
    for i, j in enumerate(others):
        moved[j] += (1e-3 if i % 2 == 0 else -1e-3) * max(abs(params[j]), 1.0)
    if others:
        value, after = gradient(moved)
        if not math.isfinite(value) or not np.all(np.isfinite(after)):
            return []
        zero = [j for j in zero if after[j] == 0.0]
    return zero


def _lower_nearby(kernels, data, params, loss, pinned: list[int], seed: int) -> bool:
    """Whether moving the pinned parameters a little lowers the loss (a saddle), or the start is
    a minimum in them (a parameter that only a penalty uses, say)."""
    rng = np.random.default_rng(seed)
    size = np.array([1e-2 * max(abs(params[j]), 1.0) for j in pinned])
    for _ in range(PROBES):
        trial = params.copy()
        trial[pinned] += size * rng.standard_normal(len(pinned))
        value = kernels.loss(trial, *data)
        if math.isfinite(value) and value < loss - 1e-12 * max(abs(loss), 1e-300):
            return True
    return False


def _saddle(kernels, params, pinned: list[int], loss: float) -> Start:
    names = kernels.param_names
    listed = ", ".join(names[j] for j in pinned)
    zeros = [j for j in pinned if params[j] == 0.0]
    at = (" = ".join(names[j] for j in zeros) + " = 0") if zeros else \
        ", ".join(f"{names[j]} = {params[j]:g}" for j in pinned)
    zeros = zeros or pinned
    values = ", ".join(f"{names[j]} = {_nudged(params[j]):g}" for j in zeros)
    init = ",".join(f"{names[j]}={_nudged(params[j]):g}" for j in zeros)
    if len(pinned) == len(params):
        every = "every partial is zero, yet the loss is lower nearby"
    else:
        every = (f"the partials of {listed} are zero and stay zero whatever the other parameters do "
                 "(a symmetry), yet the loss is lower nearby")
    return Start(loss, Stop.SADDLE,
                 f"saddle: the gradient is exactly zero at the start — with {at}, {every}; no "
                 f"gradient-based method can leave this point",
                 f"start elsewhere: `param {values}` in the model, or --init {init}")
