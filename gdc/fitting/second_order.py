"""Second-order fits over compiled kernels: Levenberg–Marquardt, damped Newton, and the statistics of a least-squares fit.

Runtime only (numpy; no sympy, no lark). Both methods solve a damped system

    (M + λ·diag(d²)) h = −g

with M = JᵀJ, g = Jᵀr (lm) or M = ∇²J, g = ∇J (newton), the scales d from the diagonal of
M, never decreasing (Moré 1978), so parameters that differ by orders of magnitude are treated
alike. A step is taken when the loss falls by a fair share of what the quadratic model
predicts (ratio ρ > 1e-4); λ follows Nielsen's rule (1999): ×max(1/3, 1 − (2ρ − 1)³) after a
taken step, ×ν (ν doubling) after a refused one. With λ = 0 and M positive definite a newton
step is the raw Newton step: damping only enters when the raw step would go uphill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gdc.runtime.jit import cached_njit
from .trust_region import column_scales, trust_region_lm

# Stopping: full precision where the problem allows it.
XTOL = 1e-13       # the scaled step is this small relative to the scaled parameters
FTOL = 1e-15       # the actual and predicted relative reduction of the loss are both this small
GTOL = 1e-15       # lm: every column of J is this close to orthogonal to r (cosine, MINPACK's gtol)
MAX_ITERATIONS = 1000
TAU = 1e-3         # lm's first λ, relative to the scaled diagonal
LAMBDA_LIMIT = 1e32  # λ beyond this: no step can lower the loss any more

REASONS = {
    "xtol": "converged: the last step changed the parameters by less than {xtol:g} (relative)",
    "ftol": "converged: the loss fell by less than {ftol:g} (relative), as predicted",
    "gtol": "converged: the gradient is zero to working precision",
    "max_epochs": "not converged: stopped at the iteration limit ({k})",
    "stalled": "not converged: no step lowers the loss any more, although the gradient is not zero",
    "diverged": "the loss at the initial parameters is not a finite number",
    "interrupted": "interrupted after {k} iterations",
}
CONVERGED = ("xtol", "ftol", "gtol")


@dataclass
class Outcome:
    """How a second-order fit went; the parameters were updated in place."""

    loss: float
    iterations: int
    reason: str
    grad_norm: float
    history: list = field(default_factory=list)
    path: list | None = None
    stats: "LeastSquaresStats | None" = None   # when computed at the final parameters

    @property
    def converged(self) -> bool:
        return self.reason in CONVERGED

    def message(self) -> str:
        return REASONS[self.reason].format(xtol=XTOL, ftol=FTOL, k=self.iterations)


class LeastSquaresKernels:
    """Σr², JᵀJ and Jᵀr of a least-squares model on its data; loss = factor·Σr²."""

    def __init__(self, kernels, data: tuple[np.ndarray, ...]):
        self.kernels, self.data = kernels, data
        self.n = len(data[0])
        size = len(kernels.param_names)
        self.jtj = np.zeros((size, size))
        self.jtr = np.zeros(size)
        self.factor = kernels.lsq_scale / (self.n if kernels.lsq_mean else 1)

    def full(self, params: np.ndarray) -> float:
        """Σr² at params; fills self.jtj and self.jtr."""
        return self.kernels.jtj_jtr(params, *self.data, self.jtj, self.jtr)

    def rss(self, params: np.ndarray) -> float:
        return self.kernels.loss(params, *self.data) / self.factor

    def acceleration_term(self, params: np.ndarray, v: np.ndarray, h: float = 0.1) -> np.ndarray:
        """Jᵀ·r_vv, r_vv = the second directional derivative of r along v, by differences
        (Transtrum & Sethna 2012): 2/h·((r(θ + h·v) − r(θ))/h − J·v)."""
        size = len(params)
        if not hasattr(self, "_r"):
            self._r, self._j = np.empty(self.n), np.empty((self.n, size))
            self._r2, self._j2 = np.empty(self.n), np.empty((self.n, size))
        rj = self.kernels.residuals_jacobian
        rj(params, *self.data, self._r, self._j)
        rj(params + h * v, *self.data, self._r2, self._j2)
        rvv = (2.0 / h) * ((self._r2 - self._r) / h - self._j @ v)
        return self._j.T @ rvv


def _solve(m: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """m⁻¹b when m is positive definite (Cholesky succeeds), else None."""
    try:
        low = np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        return None
    y = np.linalg.solve(low, b)
    h = np.linalg.solve(low.T, y)
    return h if np.all(np.isfinite(h)) else None


@cached_njit(nogil=True)
def _damped_step(a, g, d, lam, params, h_out, trial_out):  # pragma: no cover (compiled)
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


@cached_njit(nogil=True, error_model="numpy")
def _gradient_test(a, g, d, rss, update):  # pragma: no cover (compiled)
    """With update, d ← max(d, √diag(a)) first (Moré's scales never decrease); returns ‖g‖ and
    max |gᵢ|/(dᵢ·√rss), the largest cosine between a column of J and r (MINPACK's gtol test)."""
    root, gg, worst, bad = math.sqrt(rss), 0.0, 0.0, False
    for i in range(g.shape[0]):
        if update:
            d[i] = max(d[i], math.sqrt(a[i, i]))
        gg += g[i] * g[i]
        v = abs(g[i]) / (d[i] * root)
        bad = bad or v != v
        worst = max(worst, v)
    return math.sqrt(gg), (math.nan if bad else worst)


def _nielsen(lam: float, rho: float) -> float:
    return lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)


# Geodesic acceleration is tried again from the start when a plain fit ends poorly determined
# or unconverged, for data of at most this many N·p values (it writes J out).
GEODESIC_MAX_SIZE = 10_000_000
GEODESIC_ALPHA = 0.75   # refuse a step whose acceleration is this large beside its velocity
UNDETERMINED = 100.0


def fit_least_squares(ls: LeastSquaresKernels, params: np.ndarray, max_iter: int = MAX_ITERATIONS,
                      progress=None, record: bool = False) -> Outcome:
    """Levenberg–Marquardt; where it ends unconverged, once more from the start with MINPACK's
    trust region (gdc.trust_region; MGH10 from NIST start 1); where that fails too, or the fit
    has a parameter far from determined (a plateau such as BoxBOD's from NIST start 1), once
    more with geodesic acceleration, keeping the fit of lower RSS."""
    start = params.copy()
    plain = levenberg_marquardt(ls, params, max_iter, progress, record)
    if plain.reason in ("diverged", "interrupted"):
        return plain
    if plain.converged:
        plain.stats = least_squares_stats(ls, params, [""] * len(params))
        if _well_determined(plain.stats, params):
            return plain
    else:   # first fallback: MINPACK's trust region, whose bounded steps keep out of valleys
        bounded = start.copy()
        tr = trust_region_lm(ls, bounded, Outcome(math.nan, 0, "max_epochs", math.nan), max_iter,
                             XTOL, FTOL, GTOL, progress, record)
        if tr.converged and (tr.loss <= plain.loss or not math.isfinite(plain.loss)):
            tr.stats = least_squares_stats(ls, bounded, [""] * len(params))
            if _well_determined(tr.stats, bounded):
                params[:] = bounded
                tr.iterations += plain.iterations
                return tr
        if tr.reason == "interrupted":
            ls.full(params)
            return plain
    if ls.kernels.residuals_jacobian is None or ls.n * len(params) > GEODESIC_MAX_SIZE:
        ls.full(params)
        return plain
    retry = start.copy()
    accelerated = levenberg_marquardt(ls, retry, max_iter, progress, record, geodesic=True)
    if accelerated.reason != "diverged" and (accelerated.loss < plain.loss or not math.isfinite(plain.loss)):
        params[:] = retry
        accelerated.iterations += plain.iterations
        return accelerated
    ls.full(params)
    return plain


def _well_determined(stats: "LeastSquaresStats", params: np.ndarray) -> bool:
    """No standard error is more than UNDETERMINED times its parameter (on a plateau, where a
    column of J has vanished, it is 1e40 times; MGH09's b2 is certified as 0.19 ± 0.20, and a
    large condition number alone, as on Lanczos, is no reason either)."""
    relative = [e / abs(p) if p != 0.0 else 0.0 for e, p in zip(stats.std_errors, params)]
    return all(r <= UNDETERMINED for r in relative)


def levenberg_marquardt(ls: LeastSquaresKernels, params: np.ndarray, max_iter: int = MAX_ITERATIONS,
                        progress=None, record: bool = False, geodesic: bool = False) -> Outcome:
    """Minimize Σr² from params (in place), by Levenberg–Marquardt with Moré's scaling; with
    geodesic acceleration (Transtrum & Sethna 2012) when asked."""
    rss = ls.full(params)
    out = Outcome(ls.factor * rss, 0, "max_epochs", math.nan, [ls.factor * rss],
                  [params.copy()] if record else None)
    if not math.isfinite(rss):
        out.reason = "diverged"
        return out
    a, g = ls.jtj, ls.jtr
    d = column_scales(a)
    lam, nu = TAU, 2.0
    trial, h = np.empty_like(params), np.empty_like(params)
    try:
        for k in range(1, max_iter + 1):
            gnorm, cosine = _gradient_test(a, g, d, rss, k > 1)
            out.grad_norm = 2.0 * ls.factor * gnorm
            if rss == 0.0 or cosine <= GTOL:
                out.reason = "gtol"
                return out
            while True:
                dx, xnorm, hg, hah = _damped_step(a, g, d, lam, params, h, trial)
                if dx < 0.0:
                    lam, nu = lam * nu, nu * 2.0
                    if lam > LAMBDA_LIMIT:
                        out.reason = "stalled"
                        return out
                    continue
                if dx <= XTOL * (xnorm + XTOL):
                    out.reason = "xtol"
                    return out
                if geodesic:
                    scaled = a / np.outer(d, d)
                    accel = _solve(scaled + lam * np.eye(len(d)), -ls.acceleration_term(params, h) / d)
                    if accel is None or not 2.0 * float(np.linalg.norm(accel)) <= GEODESIC_ALPHA * dx:
                        lam, nu = lam * nu, nu * 2.0
                        if lam > LAMBDA_LIMIT:
                            out.reason = "stalled"
                            return out
                        continue
                    h_geo = h + 0.5 * accel / d
                    np.add(params, h_geo, out=trial)
                    hg, hah = float(h_geo @ g), float(h_geo @ (a @ h_geo))
                new = ls.rss(trial)
                predicted = -(2.0 * hg + hah)
                actual = rss - new
                rho = actual / predicted if predicted > 0.0 else -1.0
                if rho > 1e-4 and math.isfinite(new):
                    break
                lam, nu = lam * nu, nu * 2.0
                if lam > LAMBDA_LIMIT:
                    out.reason = "stalled"
                    return out
            params[:] = trial
            rss = ls.full(params)   # d is updated from the new JᵀJ by _gradient_test
            lam, nu = max(_nielsen(lam, rho), 1e-300), 2.0
            out.iterations, out.loss = k, ls.factor * rss
            out.history.append(out.loss)
            if record:
                out.path.append(params.copy())
            if progress is not None:
                progress(k, out.loss, out.grad_norm, math.nan)
            if abs(actual) <= FTOL * rss and predicted <= FTOL * rss:
                out.reason = "ftol"
                return out
    except KeyboardInterrupt:
        out.reason = "interrupted"
    out.grad_norm = 2.0 * ls.factor * float(np.linalg.norm(g))
    return out


class HessianKernels:
    """The loss, gradient and Hessian of a model on its data, by one fused kernel call."""

    def __init__(self, kernels, data: tuple[np.ndarray, ...]):
        self.kernels, self.data = kernels, data
        size = len(kernels.param_names)
        self.grad = np.zeros(size)
        self.hess = np.zeros((size, size))

    def full(self, params: np.ndarray) -> float:
        return self.kernels.loss_grad_hess(params, *self.data, self.grad, self.hess)

    def loss(self, params: np.ndarray) -> float:
        return self.kernels.loss(params, *self.data)


def newton(obj: HessianKernels, params: np.ndarray, max_iter: int = MAX_ITERATIONS,
           progress=None, record: bool = False) -> Outcome:
    """Minimize the loss from params (in place) by Newton's method, damped where it must be.

    The raw Newton step (λ = 0) is tried first; where the Hessian is not positive definite,
    or the step does not lower the loss by a fair share of the quadratic model's promise,
    λ·diag(d²) is added (a Levenberg-style safeguard), so a non-convex start never steps uphill.
    """
    f = obj.full(params)
    out = Outcome(f, 0, "max_epochs", math.nan, [f], [params.copy()] if record else None)
    if not math.isfinite(f):
        out.reason = "diverged"
        return out
    g, hess = obj.grad, obj.hess
    d = np.sqrt(np.abs(np.diag(hess))).copy()
    d[~(d > 0.0)] = 1.0
    lam, nu = 0.0, 2.0
    trial, h = np.empty_like(params), np.empty_like(params)
    try:
        for k in range(1, max_iter + 1):
            out.grad_norm = float(np.linalg.norm(g))
            if out.grad_norm == 0.0:
                out.reason = "gtol"
                return out
            while True:
                dz, xnorm, hg, hhh = _damped_step(hess, g, d, lam, params, h, trial)
                if dz < 0.0:
                    lam, nu = max(lam * nu, TAU), nu * 2.0
                    if lam > LAMBDA_LIMIT:
                        out.reason = "stalled"
                        return out
                    continue
                if dz <= XTOL * (xnorm + XTOL):
                    out.reason = "xtol"
                    return out
                new = obj.loss(trial)
                predicted = -(hg + 0.5 * hhh)
                actual = f - new
                rho = actual / predicted if predicted > 0.0 else -1.0
                if rho > 1e-4 and math.isfinite(new):
                    break
                lam, nu = max(lam * nu, TAU), nu * 2.0
                if lam > LAMBDA_LIMIT:
                    out.reason = "stalled"
                    return out
            params[:] = trial
            f = obj.full(params)
            np.maximum(d, np.sqrt(np.abs(np.diag(hess))), out=d)
            lam = _nielsen(lam, rho) if lam > 1e-12 else 0.0
            nu = 2.0
            out.iterations, out.loss = k, f
            out.history.append(f)
            if record:
                out.path.append(params.copy())
            if progress is not None:
                progress(k, f, float(np.linalg.norm(g)), math.nan)
            scale = max(abs(f), 1e-300)
            if abs(actual) <= FTOL * scale and predicted <= FTOL * scale:
                out.reason = "ftol"
                return out
    except KeyboardInterrupt:
        out.reason = "interrupted"
    out.grad_norm = float(np.linalg.norm(g))
    return out


def raw_newton_step(obj: HessianKernels, params: np.ndarray) -> np.ndarray:
    """−H⁻¹g with no safeguard (for comparison: what undamped Newton would do)."""
    obj.full(params)
    return -np.linalg.solve(obj.hess, obj.grad)


# --------------------------------------------------------------- statistics of a least-squares fit

COND_WARNING = 1e12


@dataclass(frozen=True)
class LeastSquaresStats:
    """At the fitted parameters: RSS, s² = RSS/(N − p), standard errors √diag(s²(JᵀJ)⁻¹),
    the condition number of the scaled JᵀJ, and warnings when the fit is poorly determined."""

    rss: float
    dof: int
    sigma: float
    std_errors: tuple[float, ...]
    condition: float
    warnings: tuple[str, ...]


def least_squares_stats(ls: LeastSquaresKernels, params: np.ndarray, names) -> LeastSquaresStats:
    rss = ls.full(params)
    a = ls.jtj.copy()
    n, size = ls.n, len(params)
    dof = n - size
    s2 = rss / dof if dof > 0 else math.nan
    d = column_scales(a)
    scaled = a / np.outer(d, d)
    notes = []
    try:
        eig, vecs = np.linalg.eigh(scaled)
        cond = float(eig[-1] / eig[0]) if eig[0] > 0.0 else math.inf
    except np.linalg.LinAlgError:
        eig, vecs, cond = None, None, math.inf
    if math.isfinite(cond) and cond < 1.0 / np.finfo(float).eps:
        inverse = ((vecs / eig) * vecs).sum(axis=1)   # diag of the scaled (JᵀJ)⁻¹
        errors = tuple(float(math.sqrt(v)) if v >= 0.0 else math.nan for v in s2 * inverse / d ** 2)
    else:
        errors = (math.nan,) * size
    if dof <= 0:
        notes.append(f"{n} rows for {size} parameters: the parameters are not determined "
                     "(no standard errors)")
    if not cond <= COND_WARNING:
        order = np.argsort(-np.abs(vecs[:, 0])) if vecs is not None else range(size)
        weak = [names[j] for j in order[:2]]
        notes.append(f"the problem is poorly determined: the condition number of the scaled JᵀJ "
                     f"is {cond:.3g} (> {COND_WARNING:g}); look at {', '.join(weak)}")
    return LeastSquaresStats(float(rss), dof, math.sqrt(s2) if s2 >= 0 else math.nan,
                             errors, cond, tuple(notes))
