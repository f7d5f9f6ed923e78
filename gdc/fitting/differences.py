"""The Hessian of a loss by differences of its fused gradient kernel, kept inside the fit's box.

A whole Hessian by central differences (2p passes) or one Hessian-vector product by a forward
difference (one pass; gdc.fitting.krylov's). Where a difference would step outside the box
(bounds, gdc.fitting.bounds.Box) it goes the other way, one-sided: beyond a bound the model may
be undefined (the gradient of sqrt(k) is NaN at k < 0), which would read as a curvature that
is not finite at an answer on, or a step from, the bound. Runtime only (numpy).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def central_hessian(kernel, data, params: np.ndarray, grad: np.ndarray, box=None) -> np.ndarray:
    """The symmetrized Hessian, column j from (∇J(θ + h·eⱼ) − ∇J(θ − h·eⱼ))/2h with
    h = 6e-6·max(|θⱼ|, 1); in a box, one-sided where θⱼ ± h would leave it (a fixed element,
    which has no room either way, gets a zero column: the gap leaves it out)."""
    size = len(params)
    matrix, up, down = np.zeros((size, size)), np.zeros(size), np.zeros(size)
    for j in range(size):
        ahead, behind = _room(box, params, j, 6e-6 * max(abs(params[j]), 1.0))
        if ahead + behind == 0.0:
            continue
        for shift, out in ((ahead, up), (-behind, down)):
            if shift:
                shifted = params.copy()
                shifted[j] += shift
                kernel(shifted, *data, out)
            else:
                out[:] = grad
        matrix[:, j] = (up - down) / (ahead + behind)
    return 0.5 * (matrix + matrix.T)


def _room(box, params: np.ndarray, j: int, h: float) -> tuple[float, float]:
    """The steps up and down for element j's central difference: h and h, or in a box one side
    only where the other would leave it, with h shrunk where the interval is narrower than h."""
    if box is None:
        return h, h
    up, down = box.upper[j] - params[j], params[j] - box.lower[j]
    if up >= h and down >= h:
        return h, h
    if up >= h or down >= h:
        return (h, 0.0) if up >= h else (0.0, h)
    return (up, 0.0) if up >= down else (0.0, down)


def forward_products(kernel, data, params: np.ndarray, grad: np.ndarray, free: np.ndarray | None,
                     step: float, box=None) -> Callable[[np.ndarray], np.ndarray]:
    """v ↦ Hv over the free elements, by a forward difference of the fused gradient `kernel`
    (one pass): (∇J(θ + hv) − ∇J(θ))/h, with ‖v‖ = 1, `grad` = ∇J(θ) and h = `step`.

    In a `box` (gdc.fitting.bounds.Box) the point differenced stays inside it, where the model
    is defined (the gradient of sqrt(k) at k < 0 is NaN, a curvature that is not finite):
    where θ + hv leaves the box the product is the backward difference (∇J(θ) − ∇J(θ − hv))/h;
    where θ − hv leaves it too (θ on a lower and an upper end at once along v), v is split
    into the elements that may go forward and those that may go back, two passes (counted in
    the function's `extra`); an element with room for neither shrinks h to the room it has."""
    shifted, up, direction = np.empty_like(params), np.zeros_like(params), np.zeros_like(params)
    lower, upper = (None, None) if box is None else (box.lower, box.upper)

    def difference(d: np.ndarray, h: float) -> np.ndarray:
        """(∇J(θ + h·d) − ∇J(θ))/h: h < 0 is the backward difference."""
        np.add(params, h * d, out=shifted)
        kernel(shifted, *data, up)
        return (up - grad) / h

    def product(v: np.ndarray) -> np.ndarray:
        direction[:] = 0.0
        if free is None:
            direction[:] = v
        else:
            direction[free] = v
        if box is None or _inside(params + step * direction, lower, upper):
            image = difference(direction, step)
        elif _inside(params - step * direction, lower, upper):
            image = difference(direction, -step)
        else:
            image, passes = _split(difference, params, direction, step, lower, upper)
            product.extra += passes - 1
        return image if free is None else image[free]
    product.extra = 0
    return product


def _inside(point: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> bool:
    return bool(np.all((point >= lower) & (point <= upper)))


def _split(difference, params, direction, step, lower, upper) -> tuple[np.ndarray, int]:
    """(H·direction, the passes it took) as H·(forward part) + H·(backward part): each element
    goes the way the box has room for (forward where both have), with h shrunk to the room of
    one that has neither; a part with nothing in it costs no pass."""
    up_room = np.where(direction > 0, upper - params, params - lower)     # room along +direction
    down_room = np.where(direction > 0, params - lower, upper - params)   # room along −direction
    size = np.abs(direction)
    forward = up_room >= step * size
    backward = ~forward & (down_room >= step * size)
    tight = ~forward & ~backward & (size > 0)
    h = step
    if np.any(tight):   # neither side has room for h: go the roomier way, as far as it allows
        roomier = np.maximum(up_room, down_room)[tight] / size[tight]
        h = max(float(np.min(roomier)), 1e-300)
        forward |= tight & (up_room >= down_room)
        backward |= tight & ~(up_room >= down_room)
    parts = [(np.where(chosen, direction, 0.0), sign) for chosen, sign in ((forward, h), (backward, -h))]
    parts = [(part, sign) for part, sign in parts if np.any(part)]
    return sum(difference(part, sign) for part, sign in parts), len(parts)
