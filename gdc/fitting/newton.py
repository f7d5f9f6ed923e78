"""Damped Newton over a compiled Hessian (see second_order.py for the damped step and λ's rule)."""

from __future__ import annotations

import math

import numpy as np

from .reasons import Stop
from .second_order import FTOL, MAX_ITERATIONS, TAU, Damping, Outcome, drive, search


class HessianKernels:
    """The loss, gradient and Hessian of a model on its data, by one fused kernel call."""

    def __init__(self, kernels, data: tuple[np.ndarray, ...], reads: bool = False):
        """`reads`: every pass reads the data, so a trial's loss comes from the Hessian pass, which
        a taken step then reuses (as gdc.fitting.least_squares.LeastSquaresKernels does)."""
        self.kernels, self.data, self.reads = kernels, data, reads
        size = len(kernels.param_names)
        self.grad = np.zeros(size)
        self.hess = np.zeros((size, size))

    def full(self, params: np.ndarray) -> float:
        return self.kernels.loss_grad_hess(params, *self.data, self.grad, self.hess)

    def loss(self, params: np.ndarray) -> float:
        if self.reads:
            return self.kernels.loss_grad_hess(params, *self.data, np.zeros_like(self.grad), np.zeros_like(self.hess))
        return self.kernels.loss(params, *self.data)


def newton(obj: HessianKernels, params: np.ndarray, max_iter: int = MAX_ITERATIONS,
           progress=None, record: bool = False) -> Outcome:
    """Minimize the loss from params (in place) by Newton's method, damped where it must be.

    The raw Newton step (λ = 0) is tried first; where the Hessian is not positive definite,
    or the step does not lower the loss by a fair share of the quadratic model's promise,
    λ·diag(d²) is added (a Levenberg-style safeguard), so a non-convex start never steps uphill.
    """
    f = obj.full(params)
    out = Outcome.start(f, params, record)
    if not math.isfinite(f):
        out.reason = Stop.DIVERGED
        return out
    return drive(_Newton(obj, params, f), out, max_iter, progress)


class _Newton:
    """One damped Newton run's state: the parameters, loss, gradient, Hessian, scales and λ."""

    def __init__(self, obj: HessianKernels, params: np.ndarray, f: float):
        self.obj, self.params, self.f = obj, params, f
        self.d = np.sqrt(np.abs(np.diag(obj.hess))).copy()
        self.d[~(self.d > 0.0)] = 1.0
        self.damping = Damping(0.0, least=TAU, zero_below=1e-12)
        self.trial, self.h = np.empty_like(params), np.empty_like(params)
        self.actual = self.predicted = math.nan

    @property
    def loss(self) -> float:
        return self.f

    def stationary(self, k: int, out: Outcome) -> bool:
        """The gradient is exactly zero (newton has no scale-free test of its own: see verdict)."""
        out.grad_norm = self.gradient_norm()
        return out.grad_norm == 0.0

    def gradient_norm(self) -> float:
        return float(np.linalg.norm(self.obj.grad))

    def settled(self) -> bool:
        scale = max(abs(self.f), 1e-300)
        return abs(self.actual) <= FTOL * scale and self.predicted <= FTOL * scale

    def step(self) -> Stop | None:
        """Take one step (raising λ until one lowers the loss); a reason when none can be taken."""
        obj = self.obj
        found = search(obj.hess, obj.grad, self.d, self.damping, self.params, self.h, self.trial,
                       obj.loss, self.f, 1.0)
        if found.stop is not None:
            return found.stop
        self.actual, self.predicted = found.actual, found.predicted
        self.params[:] = self.trial
        self.f = obj.full(self.params)
        np.maximum(self.d, np.sqrt(np.abs(np.diag(obj.hess))), out=self.d)
        self.damping.accept(found.rho)
        return None


def raw_newton_step(obj: HessianKernels, params: np.ndarray) -> np.ndarray:
    """−H⁻¹g with no safeguard (for comparison: what undamped Newton would do)."""
    obj.full(params)
    return -np.linalg.solve(obj.hess, obj.grad)
