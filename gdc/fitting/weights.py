"""Measurement errors (`--sigma dY`): the kernels of a least-squares loss with each residual divided
by its row's σ, so that c·Σr² becomes c·Σ(r/σ)² (χ² when c = 1) for every method and check.

The derived and verified kernels are reused as they are: r/σ and its Jacobian J/σ are the
residuals_jacobian kernel's r and J with row i divided by σᵢ, exact in floating point up to
that one division, so every guarantee of the derivation carries over. The weighted kernels
write r and J out (N×p memory), as scipy's curve_fit does.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np

from gdc.errors import GdcError, InternalError
from gdc.runtime.kernels import Kernels, module_constants


def fit_kernels(problem) -> Kernels:
    """The kernels a fit runs on a Problem: one scalar parameter per element, residuals divided
    by σ where the problem has measurement errors (--sigma)."""
    kernels = problem.kernels.flat(problem.params_layout)
    if problem.sigma is not None:   # the measurement errors weigh every method and every check
        kernels = weighted(kernels, problem.sigma, problem.sigma_column)
    return kernels


def checked_sigma(values: np.ndarray, column: str, where: str) -> np.ndarray:
    """The σ column as float64, refused (with the first bad row) unless every value is finite and > 0."""
    sigma = np.ascontiguousarray(values, dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(sigma) & (sigma > 0.0)))
    if len(bad):
        row = int(bad[0])
        raise GdcError(f"the measurement errors in column {column!r} must be finite and > 0; row "
                       f"{row + 1} holds {float(sigma[row])!r} ({len(bad)} such row{'s' if len(bad) != 1 else ''})",
                       where=where, hint="drop those rows, or give no --sigma")
    return sigma


def weighted(kernels: Kernels, sigma: np.ndarray, column: str) -> Kernels:
    """The kernels of the loss with residuals r/σ (a least-squares loss only)."""
    if kernels.jtj_jtr is None or kernels.residuals_jacobian is None:
        raise GdcError(f"--sigma {column} divides the residuals of a least-squares loss, "
                       "c·sum(r^2) or c·mean(r^2); this model's loss is not one", where="--sigma",
                       hint="write the loss as mean((y - Y)^2), or weigh it in the model text")
    return dataclasses.replace(kernels, module=_Weighted(kernels, sigma).module())


class _Weighted:
    """The weighted kernel functions, with the calling convention of the generated ones."""

    def __init__(self, kernels: Kernels, sigma: np.ndarray):
        self.kernels, self.w = kernels, 1.0 / sigma
        self.rows, self.size = len(sigma), len(kernels.param_names)
        self.factor = kernels.lsq_scale / (self.rows if kernels.lsq_mean else 1)
        self.r, self.j = np.empty(self.rows), np.empty((self.rows, self.size))

    def module(self) -> SimpleNamespace:
        source = self.kernels.module
        return SimpleNamespace(**module_constants(source), predict=source.predict, loss=self.loss,
                               loss_grad=self.loss_grad, loss_grad_parallel=self.loss_grad,
                               jtj_jtr=self.jtj_jtr, residuals_jacobian=self.residuals_jacobian)

    def residuals_jacobian(self, params, *args):
        *data, r_out, jac_out = args
        rows = len(data[0])
        if rows > self.rows:
            raise InternalError(f"the weighted kernels take at most the {self.rows} rows of their σ "
                                f"column, not {rows}")   # only gdc's own callers pass rows
        w = self.w if rows == self.rows else self.w[:rows]   # the one-row warm-up: the first rows
        self.kernels.residuals_jacobian(params, *data, r_out, jac_out)
        r_out *= w
        jac_out *= w[:, None]
        return rows

    def _fill(self, params, data) -> tuple[float, np.ndarray, np.ndarray]:
        """Σ(r/σ)², r/σ and J/σ (in self.r and self.j for the whole data)."""
        rows = len(data[0])
        r, j = (self.r, self.j) if rows == self.rows else (np.empty(rows), np.empty((rows, self.size)))
        self.residuals_jacobian(params, *data, r, j)
        return float(r @ r), r, j

    def loss(self, params, *data) -> float:
        return self.factor * self._fill(params, data)[0]

    def loss_grad(self, params, *args) -> float:
        *data, grad_out = args
        rss, r, j = self._fill(params, data)
        grad_out[:] = (2.0 * self.factor) * (j.T @ r)
        return self.factor * rss

    def jtj_jtr(self, params, *args) -> float:
        *data, jtj_out, jtr_out = args
        rss, r, j = self._fill(params, data)
        jtj_out[:] = j.T @ j
        jtr_out[:] = j.T @ r
        return rss


def least_squares_holds(kernels: Kernels, data: tuple[np.ndarray, ...], params: np.ndarray,
                        chunk: int = 1 << 20) -> bool:
    """Whether the residuals of the least-squares form are real on this data: a weight W of
    Σ W·(y − Y)² enters r as √W, NaN for a negative W while the loss is finite (the fused JᵀJ
    never takes the root, so the residuals are checked, `chunk` values of J at a time)."""
    own = getattr(kernels.module, "least_squares_holds", None)
    if own is not None:   # partitioned data (gdc.scale): checked partition by partition
        return own(params)
    with np.errstate(all="ignore"):
        if not math.isfinite(kernels.loss(params, *data)):
            return True   # the start's own problem, which examine_start reports
        rows, size = len(data[0]), len(params)
        step = max(1, chunk // max(size, 1))
        r, j = np.empty(min(step, rows)), np.empty((min(step, rows), size))
        for start in range(0, rows, step):
            part = tuple(column[start:start + step] for column in data)
            n = len(part[0])
            kernels.residuals_jacobian(params, *part, r[:n], j[:n])
            if not (np.all(np.isfinite(r[:n])) and np.all(np.isfinite(j[:n]))):
                return False
    return True


def without_least_squares(kernels: Kernels) -> Kernels:
    """The kernels with their least-squares form taken away (lm and its statistics not offered)."""
    kept = {name: value for name, value in vars(kernels.module).items()
            if name not in ("jtj_jtr", "residuals_jacobian", "LSQ_SCALE", "LSQ_MEAN")}
    return dataclasses.replace(kernels, module=SimpleNamespace(**kept))
