"""Whether a fit found what it claims: the checks every result passes before it is called converged.

A method's stop rule (a small gradient, a loss that stopped changing, a negligible step) can be
fooled: by a long valley, a kink, a plateau, a loss that keeps falling forever. So at the
parameters a fit returns:

1. the loss and the full-batch gradient must be finite, and the loss not underflowed (0 or
   subnormal with a gradient that is not 0);
2. along the direction the fit travelled, a loss that keeps falling as the parameters go farther
   is unbounded below (it reaches −∞) or has its infimum at infinity (separable classes:
   gdc.fitting.ray);
3. least squares: a parameter whose column of J vanished while the residuals are not small
   sits on a plateau (the model saturates in it), far from any minimum it could tell; any other
   loss, where 4. has the Hessian's diagonal: a parameter in which the loss has neither slope
   nor curvature beside its size (a Poisson peak whose centre is far from the data:
   gdc.fitting.plateau);
4. a converged claim needs a certificate: the gap f − f* estimated from the curvature, the
   Newton decrement ½gᵀH⁻¹g (exact for a quadratic; H from the Hessian kernel, Gauss–Newton's
   2c·JᵀJ, or finite differences of the gradient; past KRYLOV_ABOVE parameters, where those
   differences cost 2p + 1 gradient passes, a Krylov estimate from a few Hessian-vector products,
   gdc.fitting.krylov), at most CLAIM times the loss scale.
   (The bundle method brings its own certificate, a subgradient bound.)

In a box (bounds, fixed parameters: gdc.fitting.bounds) the gradient is the projected one, the
probes of 2. are clipped into the box, and the gap of 4. is taken over the free parameters:
those the box does not hold (fixed, or at an end with the gradient pushing outward). Its
differences of the gradient stay inside the box too (one-sided where a central or forward one
would leave it), since the model may be undefined beyond a bound.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import plateau
from .differences import central_hessian, forward_products
from .krylov import krylov_gap
from .optimizers import PARALLEL_MIN_VALUES, fused_kernel
from .options import MAX_STATISTICS, Options
from .problem import FitResult, Problem
from .ray import along_the_fit, norm
from .reasons import Stop

# The gap a converged fit may leave, relative to the loss scale, by the kind of method.
CLAIM = {"second_order": 1e-10, "bundle": 1e-12, "first_order": 1e-8, "stochastic": 1e-5, "lbfgs": 1e-8}
SCALE_FLOOR = 1e-12     # least squares: the loss scale is at least this times the model's c·Σyᵢ²
# … for claims up to this one: an exact fit's rounding leaves a gap of at most about
# SCALE_FLOOR·FLOOR_CLAIM·c·Σyᵢ², which a looser claim does not make larger (its floor shrinks)
FLOOR_CLAIM = CLAIM["second_order"]
# Past this many free parameters the Hessian by differences (2p + 1 gradient passes) gives way to
# the Krylov estimate (gdc.fitting.krylov: usually a handful of passes, at most KRYLOV_BUDGET
# and half of p; undecided there, the differences decide after all, up to MAX_STATISTICS
# parameters; past it an undecided fit is reported as not certified).
KRYLOV_ABOVE = 50
TINY = float(np.finfo(np.float64).tiny)   # 2.2e-308: a loss below it has underflowed
KRYLOV_BUDGET = 40
KRYLOV = "Krylov estimate from Hessian-vector products"
DIFFERENCES = "gradient's finite differences"


class Curvature:
    """The loss, its gradient and the gap to a minimum at given parameters, from the best source
    the kernels offer; `how` is None when there is none (more than MAX_STATISTICS parameters).

    A least-squares loss c·Σr² takes its gradient 2c·Jᵀr from residuals_jacobian (or jtj_jtr),
    as Levenberg–Marquardt does, and its gap c·‖P_J r‖² (Gauss–Newton's decrement: the share of the residuals the
    linearized model could still remove) from an SVD of J, which stays accurate where JᵀJ is
    ill-conditioned; any other loss its Newton decrement, from the Hessian kernel or from
    finite differences of the gradient (or, for many parameters, a Krylov estimate from
    Hessian-vector products). `passes` is what the last gap took, in gradient passes (before
    any, what one is expected to take); `krylov` forces (True) or forbids (False) the Krylov
    estimate, which is otherwise taken past KRYLOV_ABOVE parameters."""

    def __init__(self, kernels, data, box=None, krylov: bool | None = None):
        self.kernels, self.data, self.box = kernels, data, box
        size, rows = len(kernels.param_names), len(data[0]) if data else 0
        self.least_squares = kernels.jtj_jtr is not None
        self.factor = (kernels.lsq_scale / (rows if kernels.lsq_mean else 1)) if self.least_squares else 1.0
        self.exact, self.passes = True, 1
        if self.least_squares and kernels.residuals_jacobian is not None and rows * size <= 10_000_000:
            self.how, self.passes = "Gauss–Newton decrement", 2 + size   # J written out, its SVD
        elif self.least_squares and size <= MAX_STATISTICS:
            self.how = "Gauss–Newton matrix"
        elif kernels.loss_grad_hess is not None:
            self.how = "Hessian"
        elif krylov if krylov is not None else size > KRYLOV_ABOVE:   # past MAX_STATISTICS too: p passes at most
            self.how, self.passes, self.exact = KRYLOV, min(2 * size + 1, 8), False
        elif size <= MAX_STATISTICS:
            self.how, self.passes, self.exact = DIFFERENCES, 2 * size + 1, False
        else:
            self.how, self.passes = None, 0
        self._cached = None   # (params, r, J): the checks of one answer share one evaluation
        self._fused = None    # (params, loss, gradient): so do their gradients
        self._jtj = None      # (params, Σr², JᵀJ, Jᵀr): and their Gauss–Newton passes
        self.products = None  # Hessian-vector products the last Krylov estimate took
        self.curvatures = None  # (gradient, the Hessian's diagonal) where the last gap had H whole
        self.split = 0        # … of which a box split so many in two (gdc.fitting.krylov)
        self.kernel = fused_kernel(kernels, data) if data else kernels.loss_grad

    def described(self) -> str:
        """Where the last gap came from, in words (the Krylov estimate says what it cost)."""
        if self.how == KRYLOV and self.products is not None:
            if self.passes > 1 + self.products + self.split:   # undecided: the differences decided
                return f"{DIFFERENCES}, the Krylov estimate undecided after {self.products} products"
            return f"{self.how}, {self.passes} gradient passes"
        return str(self.how)

    def scale(self, params: np.ndarray, loss: float, claim: float = FLOOR_CLAIM) -> float:
        """What "relative" means for a gap: |loss|; for least squares at least SCALE_FLOOR times
        the size of the model's predictions, c·Σyᵢ², since an exact fit's loss is zero — a floor
        that a claim looser than FLOOR_CLAIM lowers, as the rounding it stands for is no larger
        (with 1e-12·c·Σyᵢ² sgd's 1e-5 was certified 7e-4 above a minimum, the loss 1e-12 of Σyᵢ²)."""
        floor = 0.0
        if self.least_squares:
            k = self.kernels
            squares = getattr(k.module, "predicted_squares", None)   # partitioned data: summed part by part
            if squares is not None:
                total = squares(params)
            else:
                y = k.predict(params, *(self.data[k.data_names.index(name)] for name in k.input_names))
                total = float(np.sum(np.square(y)))
            looser = FLOOR_CLAIM / claim if claim > FLOOR_CLAIM else 1.0
            floor = SCALE_FLOOR * looser * self.factor * total
        return max(abs(loss), floor if math.isfinite(floor) else 0.0, 1e-300)

    def loss_grad(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        size = len(params)
        grad = np.zeros(size)
        if self.how == "Gauss–Newton decrement":
            residuals, jacobian = self._residuals(params)
            return self.factor * float(residuals @ residuals), 2.0 * self.factor * (jacobian.T @ residuals)
        if self.least_squares:
            rss, _, jtr = self._gauss_newton(params)
            return self.factor * rss, 2.0 * self.factor * jtr
        if self._fused is None or not np.array_equal(self._fused[0], params):
            self._fused = (params.copy(), self.kernel(params, *self.data, grad), grad)
        return self._fused[1], self._fused[2].copy()

    def loss_at(self, params: np.ndarray) -> float:
        """The loss alone; over big data by the parallel fused kernel (faster there than the
        serial loss kernel, and the same bits as loss_grad's)."""
        if sum(column.size for column in self.data) >= PARALLEL_MIN_VALUES:
            return self.kernel(params, *self.data, np.zeros(len(params)))
        return self.kernels.loss(params, *self.data)

    def column_norms(self, params: np.ndarray) -> np.ndarray:
        """Least squares: ‖∂r/∂θⱼ‖ for each parameter."""
        if self.how == "Gauss–Newton decrement":
            return np.linalg.norm(self._residuals(params)[1], axis=0)
        return np.sqrt(np.maximum(np.diag(self._gauss_newton(params)[1]), 0.0))

    def _gauss_newton(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(Σr², JᵀJ, Jᵀr) at params from one jtj_jtr pass, which the checks of one answer share
        (over streamed data each pass is a read of every file). Copies: callers may scale them."""
        if self._jtj is None or not np.array_equal(self._jtj[0], params):
            size = len(params)
            jtj, jtr = np.zeros((size, size)), np.zeros(size)
            rss = self.kernels.jtj_jtr(params, *self.data, jtj, jtr)
            self._jtj = (params.copy(), rss, jtj, jtr)
        return self._jtj[1], self._jtj[2].copy(), self._jtj[3].copy()

    def _residuals(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._cached is None or not np.array_equal(self._cached[0], params):
            rows, size = len(self.data[0]), len(params)
            residuals, jacobian = np.empty(rows), np.empty((rows, size))
            self.kernels.residuals_jacobian(params, *self.data, residuals, jacobian)
            self._cached = (params.copy(), residuals, jacobian)
        return self._cached[1], self._cached[2]

    def gap(self, params: np.ndarray, radius: float, claim: float | None = None) -> tuple[float, float | None]:
        """(the loss, its estimated gap to a minimum): see estimated_gap; in a box, over the
        parameters it leaves free. `claim` (relative): the Krylov estimate may stop once it
        knows on which side of it the gap is."""
        free, self.curvatures = self.free(params), None
        if self.how == "Gauss–Newton decrement":
            return self._projected(params, free)
        if self.how == KRYLOV:
            loss, grad = self.loss_grad(params)
            target = None if claim is None else claim * self.scale(params, loss, claim)
            # undecided, it costs its products and then the differences (to MAX_STATISTICS parameters)
            budget = min(KRYLOV_BUDGET, max(8, len(params) // 2))
            step = 1e-7 * max(norm(params), 1.0)   # h ≈ √ε·max(‖θ‖, 1)
            product = forward_products(self.kernel, self.data, params, grad, free, step, self.box)
            found = krylov_gap(product, grad if free is None else grad[free], radius, target, budget)
            self.passes, self.products = 1 + found.passes + product.extra, found.passes
            self.split = product.extra   # products a box split in two: a pass more each
            if found.decided:
                return loss, found.gap
            if len(params) > MAX_STATISTICS:   # the differences would cost 2p + 1 passes: undecided
                return loss, None
            self.how = DIFFERENCES   # undecided at the budget: the whole Hessian after all
            try:
                loss, gap = self.gap(params, radius)
            finally:
                self.how = KRYLOV
            self.passes += 2 * len(params) + 1
            return loss, gap
        loss, grad, matrix = self._matrix(params)
        self.curvatures = (grad, np.diag(matrix).copy())
        if free is not None:
            grad, matrix = grad[free], matrix[np.ix_(free, free)]
        return loss, estimated_gap(grad, matrix, radius, self.exact)

    def free(self, params: np.ndarray) -> np.ndarray | None:
        """The elements a box leaves free at params (None: no box)."""
        if self.box is None:
            return None
        return ~self.box.binding(params, self.loss_grad(params)[1])

    def _projected(self, params: np.ndarray, free: np.ndarray | None = None) -> tuple[float, float]:
        residuals, jacobian = self._residuals(params)
        if free is not None:
            jacobian = jacobian[:, free]
        loss = self.factor * float(residuals @ residuals)
        if not (np.all(np.isfinite(jacobian)) and np.all(np.isfinite(residuals))):
            return loss, math.nan
        # P_J r does not change when J's columns are rescaled, but the SVD's cut-off does: scaled
        # to unit norm, a parameter whose column is 1e-16 of another's stays in the range of J
        # (unscaled, its direction fell below the cut-off and its share of r went uncounted)
        sizes = np.linalg.norm(jacobian, axis=0)
        jacobian = jacobian[:, sizes > 0.0] / sizes[sizes > 0.0]
        left, singular, _ = np.linalg.svd(jacobian, full_matrices=False)
        kept = singular > 1e-14 * (singular[0] if len(singular) else 0.0)
        along = left[:, kept].T @ residuals
        return loss, self.factor * float(along @ along)

    def _matrix(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        k, data, size = self.kernels, self.data, len(params)
        if self.how == "Hessian":
            grad, matrix = np.zeros(size), np.zeros((size, size))
            return k.loss_grad_hess(params, *data, grad, matrix), grad, matrix
        loss, grad = self.loss_grad(params)
        if self.how == "Gauss–Newton matrix":
            return loss, grad, self._gauss_newton(params)[1] * (2.0 * self.factor)
        return loss, grad, central_hessian(self.kernel, data, params, grad, self.box)


def estimated_gap(grad: np.ndarray, matrix: np.ndarray, radius: float, exact: bool = True) -> float:
    """f − f* as a quadratic model predicts it: ½gᵀH⁻¹g over the curved directions, |gᵀv|·radius
    along flat ones; inf where the curvature is negative (a saddle or a maximum, no minimum);
    NaN where the curvature is not finite (it overflows).

    H is taken as DHD, D = |diag H|^-½, which changes neither ½gᵀH⁻¹g nor the signs of the
    eigenvalues: unscaled, a parameter whose curvature was 1e-20 of another's (y = a·x·1e-10 +
    b·z·1e10) fell below the cut-off, and its share counted as a slope over `radius` only."""
    if not (np.all(np.isfinite(matrix)) and np.all(np.isfinite(grad))):
        return math.nan
    sizes = np.sqrt(np.abs(np.diag(matrix)))
    d = np.where(sizes > 0.0, 1.0 / np.where(sizes > 0.0, sizes, 1.0), 1.0)
    scaled = matrix * np.outer(d, d)
    if not (np.all(np.isfinite(scaled)) and np.all(np.isfinite(d * grad))):
        d, scaled = np.ones(len(grad)), matrix
    values, vectors = np.linalg.eigh(scaled)
    top = float(np.max(np.abs(values))) if len(values) else 0.0
    if top == 0.0:
        return norm(grad) * radius
    if values[0] < -(1e-6 if exact else 1e-4) * top:
        return math.inf
    along = vectors.T @ (d * grad)
    curved = values > (1e-12 if exact else 1e-7) * top
    lengths = np.linalg.norm(d[:, None] * vectors[:, ~curved], axis=0)   # flat directions, in θ
    return float(0.5 * np.sum(along[curved] ** 2 / values[curved])
                 + np.sum(np.abs(along[~curved]) / lengths) * radius)


def claim_for(options: Options) -> float:
    """The gap a converged fit of this method may leave, relative (a looser --tol loosens it)."""
    kind = options.spec.kind
    base = CLAIM["stochastic" if options.stochastic else kind]
    return max(base, options.tol) if kind in ("first_order", "lbfgs") else base


def judge(problem: Problem, options: Options, result: FitResult, params: np.ndarray,
          start: np.ndarray) -> FitResult:
    """The result as it may be reported: its reason and message corrected where a check fails,
    the certificate added to a converged one. `problem` holds the flat kernels."""
    if result.reason in (Stop.DIVERGED, Stop.INTERRUPTED, Stop.UNDEFINED, Stop.SADDLE):
        return result
    curvature = Curvature(problem.kernels, problem.data, problem.box)
    with np.errstate(all="ignore"):
        loss, grad = curvature.loss_grad(params)
        grad_norm = norm(grad if problem.box is None else problem.box.projected_gradient(params, grad))
        changes = _checks(curvature, problem, options, result, params, start, loss, grad_norm)
    return dataclasses.replace(result, grad_norm=grad_norm, **_advise(problem, result, changes))


def _checks(curvature, problem, options, result, params, start, loss, grad_norm) -> dict:
    """The fields of the result that the checks change, in the order the module's docstring gives."""
    if not (math.isfinite(loss) and math.isfinite(grad_norm)):
        what = "the loss is" if not math.isfinite(loss) else "the gradient is"
        return _not_finite(loss, grad_norm, what)
    if abs(loss) < TINY and grad_norm > 0 and result.reason != Stop.SUBGRADIENT:   # 1e-200² is 0: 0 ≤ 0 anywhere
        return _verdict(Stop.STALLED, f"not converged: the loss underflows float64 at the parameters found (loss "
                        f"{loss:.4g}, gradient norm {grad_norm:.4g}): its terms are too small to square, so no "
                        "test can tell a minimum", "rescale the data (and the model's constants) to moderate values")
    found = along_the_fit(problem, params, start, loss, curvature.loss_at)
    if found is not None:
        return _verdict(*found)
    if not result.converged or result.reason == Stop.SUBGRADIENT:
        return {}
    if problem.kernels.jtj_jtr is not None:
        saturated = plateau.saturated(curvature, params, loss)
        if saturated:
            return plateau.verdict(saturated, plateau.SATURATES)
    if not options.certify:   # the caller's choice: the stop rule alone, and the message says so
        return _uncertified(result, "certify=False (--no-certify) skipped the curvature estimate")
    return _certify(curvature, options, result, params, start)


def _not_finite(loss: float, grad_norm: float, what: str) -> dict:
    return _verdict(Stop.NOT_FINITE,
                    f"not converged: {what} not finite at the parameters found (loss {loss:.4g}, "
                    f"gradient norm {grad_norm:.4g}): the model overflows there",
                    "start nearer the data with --init (or other `param` values), or rescale the data")


def _verdict(reason: Stop, message: str, advice: str) -> dict:
    """The fields of a result that is not converged, for the reason a check found."""
    return dict(reason=reason, converged=False, message=message, advice=advice)


def _certify(curvature: Curvature, options: Options, result: FitResult, params: np.ndarray,
             start: np.ndarray) -> dict:
    if curvature.how is None:   # the stop rule alone: say so, lest "converged" read as certified
        return _uncertified(result, f"{len(params)} parameter values are too many for a curvature "
                                    f"estimate (at most {MAX_STATISTICS})")
    radius = max(norm(params), norm(params - start), 1.0)
    claim = claim_for(options)
    loss, gap = curvature.gap(params, radius, claim)
    if gap is None:   # the stop rule alone, as above
        return _uncertified(result, f"the {KRYLOV} did not decide within {curvature.products} products, "
                                    f"and {len(params)} parameter values are too many for a Hessian by "
                                    f"differences (at most {MAX_STATISTICS})")
    if math.isnan(gap):
        return _not_finite(loss, math.nan, f"the {curvature.how} is")
    flat = plateau.flat(curvature, params, loss)
    if flat:
        return plateau.verdict(flat, plateau.FLAT)
    scale = abs(loss) if gap <= claim * abs(loss) else curvature.scale(params, loss, claim)   # predict only if needed
    relative = gap / scale if scale else (0.0 if gap == 0 else math.inf)   # an exact fit has loss 0
    if gap <= claim * scale:
        return dict(gap=gap, message=(f"{result.message}; the loss is within {gap:.2g} of a minimum "
                                      f"(relative {relative:.2g} ≤ {claim:g}, by the {curvature.described()})"))
    if math.isinf(gap):
        why = f"the {curvature.described()} has a negative eigenvalue here: a saddle, not a minimum"
    else:
        why = (f"the loss may still be {gap:.3g} above its minimum (relative {relative:.2g} > "
               f"{claim:g}, by the {curvature.described()})")
    stopped = result.message.removeprefix("converged: ")
    return dict(reason=Stop.STALLED, converged=False, gap=gap, message=f"not converged: {stopped}, but {why}")


def _uncertified(result: FitResult, why: str) -> dict:
    return dict(message=f"{result.message}; not certified: {why}, so only the stop rule vouches for it")


def _advise(problem: Problem, result: FitResult, changes: dict) -> dict:
    """The changes, with advice for a fit that did not converge where gdc knows better."""
    converged = changes.get("converged", result.converged)
    if changes.get("advice") or result.advice or converged:
        return changes
    reason, kinks = changes.get("reason", result.reason), problem.kernels.kinks
    if kinks and result.method != "bundle":
        return changes | dict(advice=f"the loss has kinks (abs, max or min of {', '.join(kinks)}): "
                                     "--method bundle reaches and certifies a minimum there")
    if reason in (Stop.STALLED, Stop.MAX_EPOCHS) and result.method in ("lm", "newton", "bundle"):
        return changes | dict(advice="try other starting values (--init)")
    return changes
