"""L-BFGS on the fused loss+gradient kernel: the two-loop recursion (Nocedal 1980) and a line search
that satisfies the strong Wolfe conditions (Nocedal & Wright 2006, algorithms 3.5 and 3.6).

Runtime only (numpy). Each iteration costs one fused loss+gradient pass when the step of length 1
along the quasi-Newton direction is accepted, which is nearly always once the memory holds a few
pairs; the memory costs 2·MEMORY vectors of p values, so L-BFGS fits models far too large for
Newton's p×p Hessian.

The fit stops when max |∂J/∂θⱼ| ≤ gtol (scipy's and scikit-learn's test on the projected
gradient), or when an iteration lowers the loss by less than tol (relative); gdc.fitting.verdict
then checks the answer as it checks every method's. Bounds (L-BFGS-B) enter in two places, each
marked below: the gradient test takes the projected gradient, and the direction and the line
search stay inside the box (Byrd, Lu, Nocedal & Zhu 1995: the generalized Cauchy point).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from .reasons import Stop
from .second_order import Outcome

MEMORY = 10            # (s, y) pairs kept: scipy's and scikit-learn's default m
C1, C2 = 1e-4, 0.9     # sufficient decrease and curvature constants (Nocedal & Wright's for quasi-Newton)
LINE_SEARCH_CALLS = 30  # loss+gradient passes one line search may take
EXTRAPOLATE = 4.0      # the bracketing phase grows the step at most this much per trial
# Near the minimum the loss's own rounding (a few ulps of |J|) hides the decrease C1·α·φ'(0); there
# the decrease is judged by the slope instead (Hager & Zhang's approximate Wolfe condition, 2005):
# J(θ + αd) ≤ J(θ) + ROUNDING·|J(θ)| and φ'(α) ≤ (2·DELTA − 1)·φ'(0), exact for a quadratic.
ROUNDING = 1e-14
DELTA = 0.1
# A line search that fails where the step promises a decrease −gᵀd below FLAT·|J| has met the
# loss's rounding, not a wall: the fit stops as on --tol, and gdc.fitting.verdict judges it.
FLAT = 1e-12
MESSAGES = {
    Stop.GTOL: "converged: the largest partial derivative |∂J/∂θ| fell to {gtol:g}",
    Stop.TOL: "converged: an iteration lowered the loss by less than {tol:g} (relative)",
    "flat": "converged: the loss stopped changing — the last step promised a decrease below "
            f"{FLAT:g} of the loss, its rounding, and no step found one",
    Stop.MAX_EPOCHS: "not converged: stopped at the iteration limit ({k})",
    Stop.STALLED: "not converged: the line search found no step that lowers the loss enough, "
                  "although the gradient is not zero",
    Stop.DIVERGED: "the loss at the initial parameters is not a finite number",
    Stop.INTERRUPTED: "interrupted after {k} iterations",
}


def gradient_test(params: np.ndarray, grad: np.ndarray) -> float:
    """max |gⱼ|: the number the gtol test compares (in a box, of the projected gradient)."""
    return float(np.max(np.abs(grad))) if len(grad) else 0.0


class Memory:
    """The last MEMORY pairs s = θₖ₊₁ − θₖ, y = gₖ₊₁ − gₖ: the inverse Hessian, implicitly."""

    def __init__(self, size: int = MEMORY):
        self.pairs: deque = deque(maxlen=size)

    def add(self, s: np.ndarray, y: np.ndarray) -> None:
        """Keep the pair only where the curvature sᵀy is positive (the update stays positive definite)."""
        sy = float(s @ y)
        if sy > 1e-10 * float(y @ y) and math.isfinite(sy):
            self.pairs.append((s, y, 1.0 / sy))

    def direction(self, grad: np.ndarray) -> np.ndarray:
        """−H·g by the two-loop recursion, H₀ = γI with γ = sᵀy/yᵀy of the newest pair."""
        q = grad.copy()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s @ q)
            q -= a * y
            alphas.append(a)
        if self.pairs:
            s, y, rho = self.pairs[-1]
            q *= 1.0 / (rho * float(y @ y))
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            b = rho * float(y @ q)
            q += (a - b) * s
        return -q


class _Line:
    """φ(α) = J(θ + α·d) and φ'(α) = ∇J(θ + α·d)·d, one fused kernel call each α."""

    def __init__(self, objective, params: np.ndarray, direction: np.ndarray, trial: np.ndarray):
        self.objective, self.params, self.d, self.trial = objective, params, direction, trial
        self.calls = 0

    def __call__(self, alpha: float) -> tuple[float, float]:
        self.calls += 1
        np.add(self.params, alpha * self.d, out=self.trial)
        with np.errstate(all="ignore"):
            value = self.objective(self.trial)
            slope = float(self.objective.grad @ self.d)
        if not (math.isfinite(value) and math.isfinite(slope)):
            return math.inf, math.nan   # too far: the search shrinks the step
        return value, slope


def _cubic_minimizer(a: float, fa: float, da: float, b: float, fb: float, db: float) -> float:
    """The minimizer of the cubic through (a, fa, da) and (b, fb, db) (Nocedal & Wright (3.59));
    NaN when the cubic has none."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    root = d1 * d1 - da * db
    if not root >= 0.0:
        return math.nan
    d2 = math.copysign(math.sqrt(root), b - a)
    denominator = db - da + 2.0 * d2
    return b - (b - a) * (db + d2 - d1) / denominator if denominator != 0.0 else math.nan


def wolfe_search(line: _Line, f0: float, d0: float, alpha: float) -> tuple[float, float] | None:
    """A step α satisfying the strong Wolfe conditions, f(α) ≤ f0 + C1·α·d0 and |φ'(α)| ≤ C2·|d0|,
    with its loss; the objective's gradient is then that of θ + α·d (the point evaluated last).
    None when LINE_SEARCH_CALLS passes find none (L-BFGS-B: α at most the step to the box)."""
    prev, f_prev, d_prev = 0.0, f0, d0
    while line.calls < LINE_SEARCH_CALLS:
        f, d = line(alpha)
        if not _decrease(f0, d0, alpha, f, d) or (line.calls > 1 and f > f_prev):
            return _zoom(line, f0, d0, (prev, f_prev, d_prev), (alpha, f, d))
        if abs(d) <= -C2 * d0:
            return alpha, f
        if d >= 0.0:
            return _zoom(line, f0, d0, (alpha, f, d), (prev, f_prev, d_prev))
        guess = _cubic_minimizer(prev, f_prev, d_prev, alpha, f, d)
        low, high = alpha * 1.1, alpha * EXTRAPOLATE
        prev, f_prev, d_prev = alpha, f, d
        alpha = min(max(guess, low), high) if math.isfinite(guess) else high
    return None


def _decrease(f0: float, d0: float, alpha: float, f: float, d: float) -> bool:
    """The sufficient decrease condition, or its approximate form where rounding hides it."""
    return f <= f0 + C1 * alpha * d0 or (f <= f0 + ROUNDING * abs(f0) and d <= (2.0 * DELTA - 1.0) * d0)


def _zoom(line: _Line, f0: float, d0: float, lo: tuple, hi: tuple) -> tuple[float, float] | None:
    """Shrink [lo, hi] (lo: the lower loss, satisfying the decrease condition) onto a Wolfe step."""
    while line.calls < LINE_SEARCH_CALLS:
        (a_lo, f_lo, d_lo), (a_hi, f_hi, d_hi) = lo, hi
        width = a_hi - a_lo
        if abs(width) <= 1e-16 * max(abs(a_lo), abs(a_hi)):
            break
        guess = (_cubic_minimizer(a_lo, f_lo, d_lo, a_hi, f_hi, d_hi) if math.isfinite(f_hi)
                 and math.isfinite(d_hi) else math.nan)
        inner = (a_lo + 0.1 * width, a_hi - 0.1 * width)   # keep the guess off the ends
        if not (math.isfinite(guess) and min(inner) <= guess <= max(inner)):
            guess = a_lo + 0.5 * width
        f, d = line(guess)
        if not _decrease(f0, d0, guess, f, d) or f > f_lo:
            hi = (guess, f, d)
            continue
        if abs(d) <= -C2 * d0:
            return guess, f
        if d * width >= 0.0:
            hi = lo
        lo = (guess, f, d)
    return None


class LBFGS:
    """One L-BFGS run's state: the parameters (updated in place), the gradient, the memory."""

    def __init__(self, objective, params: np.ndarray, gtol: float, tol: float):
        self.objective, self.params, self.gtol, self.tol = objective, params, gtol, tol
        self.memory = Memory()
        self.loss = objective(params)
        self.grad = objective.grad.copy()
        self.trial = np.empty_like(params)
        self.passes = 1
        self.flat = False   # stopped where no step can lower the loss beyond its rounding
        self.moved = False  # the last iteration took a step

    def projected(self) -> np.ndarray:
        """The gradient that must vanish at the minimum (lbfgs_box: the projected one)."""
        return self.grad

    def measure(self) -> float:
        """The number the gtol test compares (lbfgs_box: over the free elements)."""
        return gradient_test(self.params, self.grad)

    def stationary(self) -> bool:
        return self.measure() <= self.gtol

    def step(self) -> Stop | None:
        """One iteration; a reason when the fit must stop (TOL, STALLED), else None."""
        direction = self.memory.direction(self.grad)   # L-BFGS-B: the generalized Cauchy point here
        slope = float(self.grad @ direction)
        if not slope < 0.0:   # not a descent direction (rounding): start the memory afresh
            self.memory = Memory()
            direction, slope = -self.grad, -float(self.grad @ self.grad)
        # without pairs, a step of unit length (scipy's L-BFGS-B: 1/‖d‖), wherever ‖g‖ is
        first = 1.0 if self.memory.pairs else 1.0 / math.sqrt(-slope)
        found = self._search(direction, slope, first)
        if found is None and self.memory.pairs:   # the quasi-Newton direction failed: steepest descent
            self.memory = Memory()
            direction, slope = -self.grad, -float(self.grad @ self.grad)
            found = self._search(direction, slope, 1.0 / math.sqrt(-slope))
        self.moved = found is not None
        if found is None:
            self.flat = -slope <= FLAT * abs(self.loss)
            return Stop.TOL if self.flat else Stop.STALLED
        alpha, loss = found
        s = alpha * direction
        y = self.objective.grad - self.grad
        self.params += s
        previous, self.loss = self.loss, loss
        self.grad = self.objective.grad.copy()
        self.memory.add(s, y)
        if self.tol > 0.0 and previous - loss <= self.tol * max(abs(previous), abs(loss), 1e-300):
            return Stop.TOL
        return None

    def _search(self, direction: np.ndarray, slope: float, alpha: float):
        line = _Line(self.objective, self.params, direction, self.trial)
        found = wolfe_search(line, self.loss, slope, alpha)
        self.passes += line.calls
        if found is not None and not np.array_equal(self.trial, self.params + found[0] * direction):
            line(found[0])   # the gradient must be the accepted point's (the search ends on it anyway)
            self.passes += 1
        return found


def lbfgs(objective, params: np.ndarray, max_iter: int, gtol: float, tol: float, progress=None,
          record: bool = False, make=None) -> tuple[Outcome, str]:
    """Minimize the objective (gdc.fitting.optimizers.Objective) from params, in place; the
    outcome and the reason in words. `make(objective, params, gtol, tol)` builds the run's state
    (LBFGS, or gdc.fitting.lbfgs_box.BoxedLBFGS for a box)."""
    with np.errstate(all="ignore"):
        run = (make or LBFGS)(objective, params, gtol, tol)
    out = Outcome.start(run.loss, params, record)
    if not (math.isfinite(run.loss) and np.all(np.isfinite(run.grad))):
        out.reason = Stop.DIVERGED
        return out, MESSAGES[out.reason]
    try:
        for k in range(1, max_iter + 1):
            if run.stationary():
                out.reason = Stop.GTOL
                break
            stop = run.step()
            if run.moved:
                out.step(k, run.loss, params, run.measure(), progress)
            if stop is not None:
                out.reason = stop
                break
        else:
            out.reason = Stop.GTOL if run.stationary() else Stop.MAX_EPOCHS
    except KeyboardInterrupt:
        out.reason = Stop.INTERRUPTED
    out.grad_norm = float(np.linalg.norm(run.projected()))
    key = "flat" if out.reason is Stop.TOL and run.flat else out.reason
    return out, MESSAGES[key].format(gtol=gtol, tol=tol, k=out.iterations)
