"""L-BFGS in a box (bounds, fixed parameters): L-BFGS-B's semantics by a projected quasi-Newton step.

scipy's L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995) finds the generalized Cauchy point on the
piecewise-linear path P(θ − t·g) and minimizes the quasi-Newton model over the variables it
leaves free. gdc takes the simpler projected form of the same idea (Bertsekas 1982; Kim, Sra &
Dhillon 2010), which ends at the same point, the box's minimum, where the projected gradient
vanishes:

1. the binding elements (gdc.fitting.bounds.Box.binding: fixed, or at an end with the gradient
   pushing outward) are frozen for the step: their direction is 0;
2. the direction on the free ones is the two-loop recursion's, −H_F·g_F, with the memory's pairs
   restricted to the free elements (a pair whose restricted curvature sᵀy is not positive is
   left out, so H_F stays positive definite);
3. the line search backtracks along the projected path θ(α) = P(θ + α·d), accepting the first α
   with J(θ(α)) ≤ J(θ) + C1·gᵀ(θ(α) − θ) (Armijo's condition on the step actually taken), from
   α = 1 (a unit-length step while the memory is empty), halving or interpolating;
4. a direction that is not a descent one after projection gives way to the projected gradient's.

Where no bound is active this is L-BFGS with a backtracking (not a Wolfe) line search; the pairs
it keeps still have positive curvature (2.). The stopping tests are lbfgs.py's on the projected
gradient (max |gⱼ| over the free elements, scipy's pgtol), and gdc.fitting.verdict certifies the
answer over the free parameters.
"""

from __future__ import annotations

import math

import numpy as np

from .bounds import Box
from .lbfgs import C1, FLAT, LINE_SEARCH_CALLS, LBFGS, Memory
from .reasons import Stop


class BoxedLBFGS(LBFGS):
    """LBFGS whose parameters stay in `box` (they start inside it)."""

    def __init__(self, objective, params: np.ndarray, gtol: float, tol: float, *, box: Box):
        self.box = box
        super().__init__(objective, params, gtol, tol)

    def projected(self) -> np.ndarray:
        return self.box.projected_gradient(self.params, self.grad)

    def measure(self) -> float:
        pg = self.projected()
        return float(np.max(np.abs(pg))) if len(pg) else 0.0

    def step(self) -> Stop | None:
        free = ~self.box.binding(self.params, self.grad)
        direction = _restricted_direction(self.memory, self.grad, free)
        found = self._along_path(direction, first=not self.memory.pairs)
        if found is None and self.memory.pairs:   # the quasi-Newton direction failed: the gradient's
            self.memory = Memory()
            found = self._along_path(np.where(free, -self.grad, 0.0), first=True)
        self.moved = found is not None
        if found is None:
            pg = self.projected()   # the last direction tried was -pg: its slope is -‖pg‖²
            self.flat = float(pg @ pg) <= FLAT * abs(self.loss)
            return Stop.TOL if self.flat else Stop.STALLED
        trial, loss = found
        s = trial - self.params
        y = self.objective.grad - self.grad
        self.params[:] = trial
        previous, self.loss = self.loss, loss
        self.grad = self.objective.grad.copy()
        self.memory.add(s, y)
        if self.tol > 0.0 and previous - loss <= self.tol * max(abs(previous), abs(loss), 1e-300):
            return Stop.TOL
        return None

    def _along_path(self, direction: np.ndarray, first: bool):
        """(the accepted point, its loss) along P(θ + α·d), or None; the objective's gradient is
        then the accepted point's."""
        slope = float(self.grad @ direction)
        if not slope < 0.0:
            return None
        alpha = 1.0 / math.sqrt(float(direction @ direction)) if first else 1.0
        for _ in range(LINE_SEARCH_CALLS):
            trial = self.box.project(self.params + alpha * direction)
            taken = float(self.grad @ (trial - self.params))   # the decrease the projected step promises
            if not taken < 0.0:
                return None   # projection undid the step: no descent along this path
            self.passes += 1
            with np.errstate(all="ignore"):
                loss = self.objective(trial)
            if math.isfinite(loss) and loss <= self.loss + C1 * taken:
                return trial, loss
            alpha = _shorter(alpha, self.loss, taken, loss)
        return None


def _shorter(alpha: float, f0: float, taken: float, f: float) -> float:
    """The next trial step: the minimizer of the quadratic through f0, the slope and f (the
    step's own promise `taken` at α), kept within [α/10, α/2]; α/2 where f is not finite."""
    if not math.isfinite(f):
        return alpha / 2.0
    curvature = f - f0 - taken
    guess = alpha * (-taken / (2.0 * curvature)) if curvature > 0.0 else alpha / 2.0
    return min(max(guess, alpha / 10.0), alpha / 2.0)


def _restricted_direction(memory: Memory, grad: np.ndarray, free: np.ndarray) -> np.ndarray:
    """−H_F·g_F by the two-loop recursion on the free elements (0 on the others)."""
    if free.all():
        return memory.direction(grad)
    restricted = Memory()
    for s, y, _ in memory.pairs:
        restricted.add(np.where(free, s, 0.0), np.where(free, y, 0.0))
    return restricted.direction(np.where(free, grad, 0.0))

