"""Levenberg–Marquardt and damped Newton inside a box (bounds, fixed parameters): projected steps.

Each iteration splits the parameters into the binding ones (fixed, or at an end with the
gradient pushing outward) and the free ones, solves the damped system of second_order.py over
the free ones only, (M_FF + λ·diag(d_F²)) h_F = −g_F, and clips the trial point into the box
(Bertsekas's projected Newton, 1982, with Levenberg's damping in place of his line search). A
step is taken when the loss falls by a fair share of what the quadratic model predicts for the
clipped step; else λ grows. As λ grows the step turns into a short, diagonally scaled, projected
gradient step, which lowers the loss unless the projected gradient is zero: the search ends only
at a point where the box's optimality conditions hold, or when no step can be told apart. The
stopping tests are those of the unbounded runs, on the free parameters; gdc.fitting.verdict
then certifies the answer on them. The result is the constrained minimum scipy's
`least_squares(method="trf", bounds=...)` reaches by its reflective steps (tests/fitting/test_bounds.py).

Fixed parameters are the case where every bound is an equality: they never enter the system,
so a fit with `--fix b=0` is the fit of the model with b replaced by 0.
"""

from __future__ import annotations

import math

import numpy as np

from .bounds import Box
from .reasons import Stop
from .second_order import (FTOL, GTOL, MAX_ITERATIONS, TAU, Damping, Outcome, below_rounding, damped_step,
                           drive, negligible, ratio, ACCEPT)
from .trust_region import column_scales


def fit_in_box(engine, box: Box, params: np.ndarray, least_squares: bool, max_iter: int = MAX_ITERATIONS,
               progress=None, record: bool = False) -> Outcome:
    """Minimize from params (in place, already inside the box): `engine` is a
    least_squares.LeastSquaresKernels (least_squares) or a newton.HessianKernels."""
    surface = _Surface(engine, least_squares)
    value = engine.full(params)
    out = Outcome.start(surface.factor * value, params, record)
    if not math.isfinite(value):
        out.reason = Stop.DIVERGED
        return out
    return drive(_Projected(surface, box, params, value), out, max_iter, progress)


class _Surface:
    """What a projected run needs of either engine: the value it minimizes (Σr² or the loss), its
    matrix and vector (JᵀJ and Jᵀr, or the Hessian and gradient), and the loss per unit value."""

    def __init__(self, engine, least_squares: bool):
        self.engine, self.least_squares = engine, least_squares
        if least_squares:
            self.matrix, self.vector, self.value_at = engine.jtj, engine.jtr, engine.rss
            self.scale, self.factor = 2.0, engine.factor   # Σr² falls by −2(hᵀJᵀr + ½hᵀJᵀJh)
        else:
            self.matrix, self.vector, self.value_at = engine.hess, engine.grad, engine.loss
            self.scale, self.factor = 1.0, 1.0

    def scales(self) -> np.ndarray:
        d = np.sqrt(np.abs(np.diag(self.matrix))).copy()
        d[~(d > 0.0)] = 1.0
        return d


class _Projected:
    """One projected run's state: the parameters, the value, the scales d and λ (see drive)."""

    def __init__(self, surface: _Surface, box: Box, params: np.ndarray, value: float):
        self.s, self.box, self.params, self.value = surface, box, params, value
        self.d = column_scales(surface.matrix) if surface.least_squares else surface.scales()
        self.damping = (Damping(TAU, floor=1e-300) if surface.least_squares
                        else Damping(0.0, least=TAU, zero_below=1e-12))
        self.actual = self.predicted = math.nan

    @property
    def loss(self) -> float:
        return self.s.factor * self.value

    def free(self) -> np.ndarray:
        return ~self.box.binding(self.params, self.s.vector)

    def stationary(self, k: int, out: Outcome) -> bool:
        """The unbounded runs' gradient test on the free parameters (MINPACK's cosine for least
        squares, an exactly zero gradient for newton); every parameter binding passes it."""
        if k > 1:
            np.maximum(self.d, self.s.scales(), out=self.d)   # Moré's scales never decrease
        out.grad_norm = self.gradient_norm()
        free = self.free()
        g = self.s.vector[free]
        if not g.size:
            return True
        if self.s.least_squares:
            return self.value == 0.0 or float(np.max(np.abs(g) / (self.d[free] * math.sqrt(self.value)))) <= GTOL
        return not np.any(g)

    def gradient_norm(self) -> float:
        projected = self.box.projected_gradient(self.params, self.s.vector)
        return (2.0 * self.s.factor if self.s.least_squares else 1.0) * float(np.linalg.norm(projected))

    def settled(self) -> bool:
        scale = self.value if self.s.least_squares else max(abs(self.value), 1e-300)
        return abs(self.actual) <= FTOL * scale and self.predicted <= FTOL * scale

    def step(self) -> Stop | None:
        """Raise λ until a clipped damped step lowers the value enough; a reason when none can."""
        m, g, free = self.s.matrix, self.s.vector, self.free()
        sub = np.ascontiguousarray(m[np.ix_(free, free)])
        g_free, d_free = np.ascontiguousarray(g[free]), np.ascontiguousarray(self.d[free])
        p_free = np.ascontiguousarray(self.params[free])
        h_free, t_free = np.empty_like(p_free), np.empty_like(p_free)
        while True:
            dz, xnorm, _, _ = damped_step(sub, g_free, d_free, self.damping.lam, p_free, h_free, t_free)
            if dz >= 0.0:   # else not positive definite: more damping
                if negligible(dz, xnorm):
                    return Stop.XTOL
                trial = self.params.copy()
                trial[free] = t_free
                self.box.project(trial)
                s = trial - self.params
                predicted = -self.s.scale * float(s @ g + 0.5 * (s @ (m @ s)))
                new = self.s.value_at(trial)
                actual = self.value - new
                rho = ratio(actual, predicted)
                if (rho > ACCEPT and math.isfinite(new)) or below_rounding(actual, predicted, self.value,
                                                                           dz, xnorm):
                    self.actual, self.predicted = actual, predicted
                    self.params[:] = trial
                    self.value = self.s.engine.full(self.params)
                    self.damping.accept(rho)
                    return None
            if not self.damping.refuse():
                return Stop.STALLED
