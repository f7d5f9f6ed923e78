"""Whether a fit stopped on a plateau: parameters that the model (least squares) or the loss no
longer depends on where it stopped, so that no method can tell which value of them is better."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .reasons import Stop

if TYPE_CHECKING:   # verdict.py calls in here
    from .verdict import Curvature

SATURATED = 1e-8   # a column of J this small beside the residuals: the model ignores the parameter
SATURATES = "the model no longer depends on {} here (it saturates, the Jacobian's column vanished)"
FLAT = "the loss no longer depends on {} here (its slope and curvature there vanished)"


def saturated(curvature: Curvature, params: np.ndarray, loss: float) -> list[str]:
    """Least squares: the parameters the model ignores here, ‖∂r/∂θⱼ‖·max(|θⱼ|, 1) ≤ SATURATED·‖r‖."""
    rss = loss / curvature.factor
    columns = curvature.column_norms(params)
    if not rss > 0.0 or not np.all(np.isfinite(columns)):
        return []
    effect = columns * np.maximum(np.abs(params), 1.0)
    return _named(curvature, params, effect <= SATURATED * math.sqrt(rss))


def flat(curvature: Curvature, params: np.ndarray, loss: float) -> list[str]:
    """Any other loss, once a gap has taken the whole Hessian (curvature.curvatures): the
    parameters in which it has neither slope nor curvature, moving θⱼ by max(|θⱼ|, 1) changing it
    by at most SATURATED²·|loss| to second order (for c·Σr², the test of `saturated`). A Poisson
    peak whose centre starts far from the data is flat in the centre, not at a minimum."""
    if curvature.least_squares or curvature.curvatures is None:
        return []
    grad, diagonal = curvature.curvatures
    size = np.maximum(np.abs(params), 1.0)
    change = np.abs(grad) * size + 0.5 * np.abs(diagonal) * size ** 2
    if not np.all(np.isfinite(change)):
        return []
    return _named(curvature, params, change <= SATURATED ** 2 * abs(loss))


def _named(curvature: Curvature, params: np.ndarray, ignored: np.ndarray) -> list[str]:
    fixed = curvature.box.fixed if curvature.box is not None else np.zeros(len(params), dtype=bool)
    names = curvature.kernels.param_names
    return [names[j] for j in range(len(params)) if ignored[j] and not fixed[j]]


def verdict(names: list[str], why: str) -> dict:
    """The fields of a result stopped on a plateau in `names`; `why` is SATURATES or FLAT."""
    listed = ", ".join(names)
    return dict(reason=Stop.PLATEAU, converged=False,
                message=(f"not converged: plateau — {why.format(listed)}, so the fit cannot tell which "
                         f"value is better; the loss may be lower elsewhere"),
                advice=f"start {listed} elsewhere (--init), e.g. nearer the scale of the data")
