"""Whether the loss keeps falling beyond a fit's answer, along the direction the fit travelled:
then it has no minimum there (unbounded below, or its infimum at infinity: separable classes)."""

from __future__ import annotations

import math

import numpy as np

from .problem import Problem
from .reasons import Stop

RAY_DOUBLINGS = 10      # probes at 1, 2, 4, … 512 times the parameters' norm along the fit's direction


def norm(vector: np.ndarray) -> float:
    """The 2-norm, without overflow where the entries are finite but their squares are not."""
    top = float(np.max(np.abs(vector))) if len(vector) else 0.0
    if top == 0.0 or not math.isfinite(top):
        return top
    scaled = vector / top
    return top * math.sqrt(float(scaled @ scaled))


def along_the_fit(problem: Problem, params: np.ndarray, start: np.ndarray, loss: float, loss_at=None):
    """Probe the loss at params + 2ᵏ·R·u (u the direction the fit travelled, R the parameters'
    norm): (reason, message, advice) when it keeps falling (unbounded, or at infinity)."""
    travel = params - start
    distance = norm(travel)
    if not distance > 0.0 or not math.isfinite(distance):
        return None
    direction = travel / distance
    reach = max(norm(params), distance)
    k, previous, falls, settled, last = problem.kernels, loss, [], False, params
    for doubling in range(RAY_DOUBLINGS):
        probe = params + (2.0 ** doubling) * reach * direction
        point = probe if problem.box is None else problem.box.project(probe)
        value = k.loss(point, *problem.data) if loss_at is None else loss_at(point)
        if value == -math.inf:
            break
        slack = 1e-14 * max(abs(previous), 1e-300)
        if settled or (falls and previous - slack <= value <= previous + slack):
            # it fell, then stopped where rounding (exp(-k·t) underflowing to 0) leaves it: at
            # infinity if it never rises again, out to the last probe (the probes still moving)
            settled = math.isfinite(value) and value <= previous + slack and not np.array_equal(point, last)
            if not settled:
                break
        elif not math.isfinite(value) or not value < previous - slack:
            value = None
            break
        else:
            falls.append(previous - value)
            previous = value
        last = point
    if settled:
        falls.append(0.0)   # an asymptote reached: the fall went to nothing
    if value == -math.inf or (len(falls) == RAY_DOUBLINGS and falls[-1] >= 0.9 * falls[-2]):
        way = _direction_text(problem, direction)
        return (Stop.UNBOUNDED, f"unbounded: the loss goes to −∞ along the direction the fit took ({way}): "
                "it has no minimum",
                "check the loss's sign (a loss to minimize, e.g. mean((y - Y)^2), not its negative)")
    if settled or (len(falls) >= 3 and falls[-1] < 0.5 * falls[-2]):
        way = _direction_text(problem, direction)
        return (Stop.AT_INFINITY, f"not converged: the minimum is at infinity — the loss keeps falling "
                f"(towards {previous:.3g}) as the parameters grow without bound ({way}), e.g. classes "
                "that a line separates",
                f"add a penalty that keeps the parameters finite, e.g. + 0.01*({_squares(problem)}) in the loss")
    return None


def _direction_text(problem: Problem, direction: np.ndarray) -> str:
    names = problem.kernels.param_names
    order = np.argsort(-np.abs(direction))[:3]
    return ", ".join(f"{names[j]} {'↑' if direction[j] > 0 else '↓'}" for j in order if abs(direction[j]) > 0.1)


def _squares(problem: Problem) -> str:
    names = problem.kernels.param_names
    shown = " + ".join(f"{name}^2" for name in names[:4])
    return shown + (" + …" if len(names) > 4 else "")
