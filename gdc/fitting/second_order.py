"""What the second-order methods share: the damped step, how λ moves, and the outcome they report.

Runtime only (numpy; no sympy, no lark). Levenberg–Marquardt (least_squares.py), damped Newton
(newton.py) and the bundle method (bundle.py) solve a damped system

    (M + λ·diag(d²)) h = −g

with M = JᵀJ, g = Jᵀr (lm) or M = ∇²J, g = ∇J (newton), the scales d from the diagonal of
M, never decreasing (Moré 1978), so parameters that differ by orders of magnitude are treated
alike. A step is taken when the loss falls by a fair share of what the quadratic model
predicts (ratio ρ > ACCEPT), or when the loss's rounding hides both and the step is tiny
(`below_rounding`: the last step of a fit, which the ftol test then ends); λ follows Nielsen's rule (1999): ×max(1/3, 1 − (2ρ − 1)³) after a
taken step, ×ν (ν doubling) after a refused one (`Damping`). With λ = 0 and M positive definite
a newton step is the raw Newton step: damping only enters when the raw step would go uphill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gdc.runtime.jit import cached_njit
from .options import FTOL, SECOND_ORDER_ITERATIONS, XTOL  # noqa: F401 (the stopping tolerances)
from .reasons import Stop

GTOL = 1e-15       # lm: every column of J is this close to orthogonal to r (cosine, MINPACK's gtol)
MAX_ITERATIONS = SECOND_ORDER_ITERATIONS
TAU = 1e-3         # lm's first λ, relative to the scaled diagonal; newton's first nonzero λ
LAMBDA_LIMIT = 1e32  # λ beyond this: no step can lower the loss any more
ACCEPT = 1e-4      # a step is taken when the loss falls by this share of the predicted fall
SMALL_STEP = 1e-8  # … or, below the loss's rounding, when it is this small beside the parameters (√ε)


@dataclass
class Outcome:
    """How a second-order fit went; the parameters were updated in place."""

    loss: float
    iterations: int
    reason: Stop
    grad_norm: float
    history: list = field(default_factory=list)
    path: list | None = None
    stats: object | None = None   # statistics.LeastSquaresStats, when computed at the final parameters

    @classmethod
    def start(cls, loss: float, params: np.ndarray, record: bool) -> "Outcome":
        return cls(loss, 0, Stop.MAX_EPOCHS, math.nan, [loss], [params.copy()] if record else None)

    @property
    def converged(self) -> bool:
        return self.reason.converged

    def step(self, k: int, loss: float, params: np.ndarray, grad_norm: float, progress) -> None:
        """Record iteration k, taken to `params` with this loss."""
        self.iterations, self.loss = k, loss
        self.history.append(loss)
        if self.path is not None:
            self.path.append(params.copy())
        if progress is not None:
            progress(k, loss, grad_norm, math.nan)

    def message(self) -> str:
        return MESSAGES[self.reason].format(xtol=XTOL, ftol=FTOL, k=self.iterations)


MESSAGES = {
    Stop.XTOL: "converged: the last step changed the parameters by less than {xtol:g} (relative)",
    Stop.FTOL: "converged: the loss fell by less than {ftol:g} (relative), as predicted",
    Stop.GTOL: "converged: the gradient is zero to working precision",
    Stop.MAX_EPOCHS: "not converged: stopped at the iteration limit ({k})",
    Stop.STALLED: "not converged: no step lowers the loss any more, although the gradient is not zero",
    Stop.DIVERGED: "the loss at the initial parameters is not a finite number",
    Stop.INTERRUPTED: "interrupted after {k} iterations",
}


class Damping:
    """λ and how it moves: ×ν (ν doubling) after a refused step, Nielsen's rule after a taken one.

    `least`: the smallest λ a refusal sets (newton starts at λ = 0, so ×ν alone would stay
    there); `floor`: λ never falls below it after a taken step; `zero_below`: a λ this small
    is dropped to 0 after a taken step (newton: back to raw Newton steps)."""

    def __init__(self, lam: float, least: float = 0.0, floor: float = 0.0, zero_below: float = -1.0):
        self.lam, self.nu = lam, 2.0
        self.least, self.floor, self.zero_below = least, floor, zero_below

    def refuse(self) -> bool:
        """Raise λ after a refused step; False when λ is past LAMBDA_LIMIT (no step will do)."""
        self.lam = max(self.lam * self.nu, self.least)
        self.nu *= 2.0
        return self.lam <= LAMBDA_LIMIT

    def accept(self, rho: float) -> None:
        """Lower λ after a step whose actual/predicted reduction was rho."""
        if self.lam <= self.zero_below:
            self.lam = 0.0
        else:
            self.lam = max(self.lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), self.floor)
        self.nu = 2.0


def ratio(actual: float, predicted: float) -> float:
    """ρ = actual/predicted reduction; −1 when the model predicts no reduction."""
    return actual / predicted if predicted > 0.0 else -1.0


def solve_positive_definite(m: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """m⁻¹b when m is positive definite (Cholesky succeeds), else None."""
    try:
        low = np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        return None
    y = np.linalg.solve(low, b)
    h = np.linalg.solve(low.T, y)
    return h if np.all(np.isfinite(h)) else None


@cached_njit(nogil=True)
def damped_step(a, g, d, lam, params, h_out, trial_out):  # pragma: no cover (compiled)
    """Solve (D⁻¹MD⁻¹ + λI) z = −D⁻¹g by Cholesky, h = D⁻¹z, trial = params + h; in one call,
    since the fit's time on small problems is the Python overhead of these few steps.
    Returns (‖z‖, ‖D·params‖, hᵀg, hᵀMh); ‖z‖ = −1 when the matrix is not positive definite."""
    p = g.shape[0]
    low = np.zeros((p, p))
    for i in range(p):
        for j in range(i + 1):
            s = a[i, j] / (d[i] * d[j]) + (lam if i == j else 0.0)
            for k in range(j):
                s -= low[i, k] * low[j, k]
            if i == j:
                if not s > 0.0:
                    return -1.0, 0.0, 0.0, 0.0
                low[i, i] = math.sqrt(s)
            else:
                low[i, j] = s / low[j, j]
    y = np.empty(p)
    for i in range(p):
        s = -g[i] / d[i]
        for k in range(i):
            s -= low[i, k] * y[k]
        y[i] = s / low[i, i]
    znorm = xnorm = hg = hmh = 0.0
    for i in range(p - 1, -1, -1):
        s = y[i]
        for k in range(i + 1, p):
            s -= low[k, i] * y[k]
        y[i] = s / low[i, i]
        znorm += y[i] * y[i]
        h_out[i] = y[i] / d[i]
        xnorm += (d[i] * params[i]) ** 2
        trial_out[i] = params[i] + h_out[i]
        hg += h_out[i] * g[i]
    for i in range(p):
        for j in range(p):
            hmh += h_out[i] * a[i, j] * h_out[j]
    if not math.isfinite(znorm):
        return -1.0, 0.0, 0.0, 0.0
    return math.sqrt(znorm), math.sqrt(xnorm), hg, hmh


def negligible(step_norm: float, scaled_params_norm: float) -> bool:
    """The xtol test: the scaled step is negligible beside the scaled parameters."""
    return step_norm <= XTOL * (scaled_params_norm + XTOL)


@dataclass(frozen=True, slots=True)
class Trial:
    """How a search for a step ended: `stop` when none can be taken, else the step's ratio ρ and
    its actual and predicted reductions."""

    stop: Stop | None
    rho: float = math.nan
    actual: float = math.nan
    predicted: float = math.nan


def search(a, g, d, damping: Damping, params, h, trial, loss, current: float, scale: float,
           adjust=None) -> Trial:
    """Raise λ until the damped step (a + λ·diag(d²)) h = −g, written to `trial`, lowers `loss`
    by a fair share of what the quadratic model promises, −scale·(hᵀg + ½hᵀah) (scale 2 for
    Σr² with a = JᵀJ and g = Jᵀr, 1 for a loss with its Hessian and gradient); `adjust(‖z‖)`
    may change the step in `trial` (geodesic acceleration) and return its hᵀg and hᵀah, or None
    to refuse it."""
    while True:
        dz, xnorm, hg, hah = damped_step(a, g, d, damping.lam, params, h, trial)
        if dz >= 0.0:   # else the damped matrix is not positive definite: more damping
            if negligible(dz, xnorm):
                return Trial(Stop.XTOL)
            products = (hg, hah) if adjust is None else adjust(dz)
            if products is not None:
                new = loss(trial)
                predicted = -scale * (products[0] + 0.5 * products[1])
                actual = current - new
                rho = ratio(actual, predicted)
                if (rho > ACCEPT and math.isfinite(new)) or below_rounding(actual, predicted, current, dz, xnorm):
                    return Trial(None, rho, actual, predicted)
        if not damping.refuse():
            return Trial(Stop.STALLED)


def below_rounding(actual: float, predicted: float, current: float, step: float, size: float) -> bool:
    """Whether a trial lies below what the loss can judge, and is taken: its predicted and actual
    reductions are both within FTOL of the loss (its rounding, so ρ is noise), and its scaled
    step within SMALL_STEP of the scaled parameters, where the quadratic model that chose it is
    exact to that rounding. Refusing it would only raise λ, trial after trial (a pass over the
    data each: 8 of a streamed line fit's 18), until the step is negligible or one is taken
    by the noise; the ftol test (`settled`) then ends the fit, as MINPACK's does on such a step.
    A larger step (a flat valley) is judged by ρ as before."""
    scale = abs(current)
    return (0.0 <= predicted <= FTOL * scale and abs(actual) <= FTOL * scale
            and step <= SMALL_STEP * size)


def drive(run, out: Outcome, max_iter: int, progress) -> Outcome:
    """The iterations lm and newton share: the gradient test, a step, its record, the ftol test.

    `run` (least_squares._Marquardt, newton._Newton) has stationary(k, out) (and sets
    out.grad_norm), step() → a reason or None, `loss`, `params`, gradient_norm() and settled()."""
    try:
        for k in range(1, max_iter + 1):
            if run.stationary(k, out):
                out.reason = Stop.GTOL
                return out
            stop = run.step()
            if stop is not None:
                out.reason = stop
                return out
            out.step(k, run.loss, run.params, run.gradient_norm(), progress)
            if run.settled():
                out.reason = Stop.FTOL
                return out
    except KeyboardInterrupt:
        out.reason = Stop.INTERRUPTED
    out.grad_norm = run.gradient_norm()
    return out
