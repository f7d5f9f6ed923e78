"""A proximal bundle method for losses with kinks (abs, max, min), with the certificate it stops on.

Newton and Levenberg–Marquardt assume a loss that is smooth where it is minimal; a quantile or
least-absolute-deviations loss is not (its minimum sits on kinks, where the gradient jumps), and
there they crawl and stop on a step that merely became small. This method keeps a bundle of
cutting planes, the linearizations fⱼ + gⱼᵀ(θ − θⱼ) at points it has visited (each gⱼ the
kernels' gradient there: a subgradient, by the averaging convention at ties), and steps to the
minimum of their maximum plus a proximal term ½dᵀMd, M = (the Hessian, or Gauss–Newton's
2c·JᵀJ, when the kernels have one) + μ·I (Kiwiel 1990; Lemaréchal & Sagastizábal 1997 for the
metric). With a single plane it is a damped Newton (or LM) step; at a kink the planes on both
sides make the model exact there, and for a piecewise-linear loss the method lands on the
vertex that linear programming finds.

The dual of the step is a small quadratic program over the simplex: min ½λᵀQλ + αᵀλ, λ ≥ 0,
Σλ = 1, Q = GᵀM⁻¹G, α the planes' linearization errors at the centre θ̂. Its solution gives an
aggregate subgradient ĝ = Gλ of the loss at θ̂ within ε = αᵀλ, that is, for a convex loss,

    f(θ) ≥ f(θ̂) − ε + ĝᵀ(θ − θ̂)   for every θ,

and the method stops when that bound (with ‖θ − θ̂‖ ≤ R, or the quadratic model where the
metric is positive definite) puts f(θ̂) within RTOL of the minimum: a certificate that a small
step cannot fake. Runtime only (numpy).
"""

from __future__ import annotations

import math

import numpy as np

from .reasons import Stop
from .second_order import MAX_ITERATIONS, Outcome

RTOL = 1e-12          # the certified gap, relative to the loss scale
SERIOUS = 0.1         # a step is taken when the loss falls by this share of the model's fall
MAX_NULL_STEPS = 60   # refused steps in a row before the method gives up (stalled)


def simplex_qp(q: np.ndarray, a: np.ndarray) -> np.ndarray:
    """argmin ½λᵀqλ + aᵀλ over the unit simplex (q positive semidefinite), by a primal
    active-set method: the equality-constrained problem on the support, a ratio step back to
    the simplex when it leaves it, the most negative multiplier joining the support."""
    m = len(a)
    ridge = 1e-13 * max(1.0, float(np.max(np.diag(q))))   # keeps the small KKT systems regular
    support = [int(np.argmin(a + 0.5 * np.diag(q)))]
    lam = np.zeros(m)
    lam[support[0]] = 1.0
    for _ in range(20 * m + 50):
        z, nu = _on_support(q, a, support, ridge)
        if np.all(z >= 0.0):
            lam[:] = 0.0
            lam[support] = z
            multipliers = q @ lam + a + nu
            multipliers[support] = 0.0
            j = int(np.argmin(multipliers))
            if multipliers[j] >= -1e-14 * (abs(nu) + 1e-300):
                return lam
            support.append(j)
            continue
        current = lam[support]
        leaving = z < current
        steps = np.where(leaving, current / np.where(leaving, current - z, 1.0), np.inf)
        t = min(1.0, float(np.min(steps[z < 0.0])))
        moved = current + t * (z - current)
        lam[:] = 0.0
        support = [i for i, v in zip(support, moved) if v > 1e-15]
        lam[support] = moved[moved > 1e-15]
        lam /= lam.sum()
    return lam


def _on_support(q, a, support, ridge):
    s = len(support)
    kkt = np.zeros((s + 1, s + 1))
    kkt[:s, :s] = q[np.ix_(support, support)] + ridge * np.eye(s)
    kkt[:s, s] = kkt[s, :s] = 1.0
    solution = np.linalg.solve(kkt, np.concatenate([-a[support], [1.0]]))
    return solution[:s], solution[s]


class Planes:
    """The bundle: gradients gⱼ and linearization errors αⱼ ≥ 0 at the current centre."""

    def __init__(self, grad: np.ndarray, limit: int):
        self.g = [grad.copy()]
        self.alpha = [0.0]
        self.limit = limit
        self.nonconvex = False   # some plane lay above the loss: the certificate is local only

    def add(self, grad: np.ndarray, alpha: float, scale: float) -> None:
        if alpha < -1e-12 * scale:
            self.nonconvex = True
        self.g.append(grad.copy())
        self.alpha.append(max(alpha, 0.0))

    def recentre(self, step: np.ndarray, rise: float, scale: float) -> None:
        """The centre moved by `step` and the loss there is `rise` higher (negative: lower)."""
        alpha = [a + rise - float(g @ step) for a, g in zip(self.alpha, self.g)]
        if min(alpha) < -1e-12 * scale:
            self.nonconvex = True
        self.alpha = [max(a, 0.0) for a in alpha]

    def compress(self, weights: np.ndarray) -> None:
        """Past the limit: keep the planes the last step used and the newest one, with their
        aggregate (a valid plane too: a convex combination), so that no information is lost."""
        if len(self.g) <= self.limit:
            return
        used = [i for i in range(len(weights)) if weights[i] > 0.0]
        aggregate = sum(weights[i] * self.g[i] for i in used)
        error = float(sum(weights[i] * self.alpha[i] for i in used))
        keep = used[-(self.limit - 2):] + [len(self.g) - 1]
        self.g = [self.g[i] for i in keep] + [aggregate]
        self.alpha = [self.alpha[i] for i in keep] + [error]


class BundleMetric:
    """The curvature part of the proximal term: the Hessian (newton's kernel), Gauss–Newton's
    2c·JᵀJ (a least-squares loss), or nothing (then the planes alone shape the steps)."""

    def __init__(self, kernels, data):
        self.kernels, self.data = kernels, data
        size = len(kernels.param_names)
        self.grad, self.matrix = np.zeros(size), np.zeros((size, size))
        if kernels.loss_grad_hess is not None:
            self.how = "Hessian"
        elif kernels.jtj_jtr is not None:
            self.how = "Gauss–Newton"
            self.factor = kernels.lsq_scale / (len(data[0]) if kernels.lsq_mean else 1)
        else:
            self.how = None

    def at(self, params: np.ndarray) -> np.ndarray:
        if self.how == "Hessian":
            self.kernels.loss_grad_hess(params, *self.data, self.grad, self.matrix)
        elif self.how == "Gauss–Newton":
            self.kernels.jtj_jtr(params, *self.data, self.matrix, self.grad)
            self.matrix *= 2.0 * self.factor
        return self.matrix if np.all(np.isfinite(self.matrix)) else np.zeros_like(self.matrix)


class Bundle:
    """One run: the centre θ̂, its loss, the planes, the metric and μ."""

    def __init__(self, kernels, data, params: np.ndarray, scale):
        self.kernels, self.data, self.params, self.scale_of = kernels, data, params, scale
        self.grad = np.zeros(len(params))
        self.f = self.loss_grad(params, self.grad)
        # what the gap is relative to (verdict.Curvature.scale): the loss, or an exact fit's signal
        self.scale = scale(params, self.f) if math.isfinite(self.f) else math.inf
        self.start = params.copy()
        self.metric = BundleMetric(kernels, data)
        self.curvature = self.metric.at(params) if self.metric.how else None
        self.planes = Planes(self.grad, 2 * len(params) + 10)
        gg = float(self.grad @ self.grad)
        self.mu = max(gg / max(abs(self.f), 1e-300), 1e-12) if gg > 0.0 else 1.0
        self.null_steps = 0
        self.gap = self.aggregate_norm = self.error = math.nan

    def loss_grad(self, params: np.ndarray, grad: np.ndarray) -> float:
        return self.kernels.loss_grad(params, *self.data, grad)


    def iterate(self) -> Stop | None:
        """One step: the model's minimizer, the certificate there, then a serious or a null step."""
        low = self._factor()
        if low is None:
            return Stop.STALLED
        g = np.array(self.planes.g).T
        shaped = np.linalg.solve(low, g)
        weights = simplex_qp(shaped.T @ shaped, np.array(self.planes.alpha))
        aggregate = g @ weights
        self.error = float(np.array(self.planes.alpha) @ weights)
        self.aggregate_norm = float(np.linalg.norm(aggregate))
        self.gap = self._gap(aggregate)
        if self.gap <= RTOL * self.scale:
            return Stop.SUBGRADIENT
        step = -np.linalg.solve(low.T, shaped @ weights)
        if not np.linalg.norm(step) > 1e-15 * max(float(np.linalg.norm(self.params)), 1e-300):
            return Stop.STALLED   # the steps vanished before the certificate held
        self._try(step, g)
        self.planes.compress(weights)
        return Stop.STALLED if self.null_steps > MAX_NULL_STEPS else None

    def _factor(self) -> np.ndarray | None:
        """The Cholesky factor of M + μI (μ raised until it exists)."""
        size = len(self.params)
        base = self.curvature if self.curvature is not None else np.zeros((size, size))
        while self.mu <= 1e300:
            total = base + self.mu * np.eye(size)
            try:
                return np.linalg.cholesky(total)
            except np.linalg.LinAlgError:
                self.mu *= 10.0
        return None

    def _gap(self, aggregate: np.ndarray) -> float:
        """ε plus what the aggregate subgradient can still promise: ‖ĝ‖·R, or the quadratic
        model's ½ĝᵀH⁻¹ĝ where the metric is positive definite."""
        radius = max(float(np.linalg.norm(self.params)), float(np.linalg.norm(self.params - self.start)), 1.0)
        promise = self.aggregate_norm * radius
        if self.curvature is not None:
            try:
                low = np.linalg.cholesky(self.curvature)
                z = np.linalg.solve(low, aggregate)
                promise = min(promise, 0.5 * float(z @ z))
            except np.linalg.LinAlgError:
                pass
        return self.error + promise

    def _try(self, step: np.ndarray, g: np.ndarray) -> None:
        """Evaluate θ̂ + step: move the centre there when the loss fell enough (serious), else
        keep its plane (null step) so that the next model is more exact."""
        trial = self.params + step
        grad = np.zeros_like(step)
        f = self.loss_grad(trial, grad)
        curvature = 0.5 * float(step @ self.curvature @ step) if self.curvature is not None else 0.0
        predicted = -(float(np.max(g.T @ step - np.array(self.planes.alpha))) + curvature)
        finite = math.isfinite(f) and np.all(np.isfinite(grad))
        if finite and predicted > 0.0 and self.f - f >= SERIOUS * predicted:
            rho = (self.f - f) / predicted
            self.planes.recentre(step, f - self.f, self.scale)
            self.planes.add(grad, 0.0, self.scale)
            self.params[:], self.f, self.grad = trial, f, grad
            self.scale = self.scale_of(self.params, f)
            if self.metric.how:
                self.curvature = self.metric.at(self.params)
            self.mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            self.null_steps = 0
            return
        if finite:
            self.planes.add(grad, self.f - f + float(grad @ step), self.scale)
        self.null_steps += 1
        if not finite or predicted <= 0.0 or self.null_steps > 2:
            self.mu *= 2.0


def bundle(kernels, data, params: np.ndarray, scale, max_iter: int = MAX_ITERATIONS, progress=None,
           record: bool = False) -> tuple[Outcome, Bundle]:
    """Minimize the loss from params (in place) by the proximal bundle method; `scale(params,
    loss)` says what its certificate's gap is relative to."""
    run = Bundle(kernels, data, params, scale)
    out = Outcome.start(run.f, params, record)
    if not math.isfinite(run.f) or not np.all(np.isfinite(run.grad)):
        out.reason = Stop.DIVERGED
        return out, run
    try:
        for k in range(1, max_iter + 1):
            stop = run.iterate()
            out.grad_norm = run.aggregate_norm
            if stop is not None:
                out.reason = stop
                break
            out.step(k, run.f, params, run.aggregate_norm, progress)
    except KeyboardInterrupt:
        out.reason = Stop.INTERRUPTED
    out.loss = run.f
    return out, run


def certificate_text(run: Bundle) -> str:
    """The stop message of a certified bundle run."""
    local = "; a local certificate: the loss is not convex here" if run.planes.nonconvex else ""
    return (f"converged: the loss is within {run.gap:.2g} of its minimum (relative "
            f"{run.gap / run.scale:.2g} ≤ {RTOL:g}), by a subgradient of norm {run.aggregate_norm:.2g} "
            f"exact within {run.error:.2g}, from {len(run.planes.g)} cutting planes{local}")
