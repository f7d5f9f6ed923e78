"""Optimizers over compiled kernels: one epoch of each method, schedules, and the automatic step size.

Every method's `epoch(params, lr)` updates `params` in place and returns the full-batch loss at
the new parameters, leaving the full-batch gradient there in `objective.grad`: the fit loop
sees the same quantities whatever the method, and the history is the true loss, not a running
average. Everything here is a few NumPy operations on arrays of one value per parameter; the
work over the rows is done by the kernels.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from gdc.runtime.kernels import Kernels

# From this many data values on (rows × columns, a data vector counting its d columns), a fit
# uses the parallel fused kernel. Measured on 2 cores (numba's default thread count there): for
# a scalar model of two columns the serial kernel, vectorized, wins up to about 2·10⁶ rows (0.4 ms
# against 0.8 ms at 10⁶) and loses from 4·10⁶ on (4.1 against 3.7 ms; 11.4 against 8.4 at 10⁷);
# logistic regression on 10⁶ × 100 takes 0.071 s a pass serial, 0.043 s parallel. The choice
# depends on the data's size alone, so a fit gives the same bits on any machine.
PARALLEL_MIN_VALUES = 8_000_000


# From this many data values on, a fit remembers the last fused pass of each kernel (the
# parameters, loss and gradient), so that the start's examination, the method's first
# evaluation, its last one and the verdict's checks, all at the same parameters, share one pass.
# (Below it a pass is cheaper than the comparison is worth.)
REMEMBER_MIN_VALUES = 100_000


def remembering(kernels: Kernels, data: tuple[np.ndarray, ...]) -> Kernels:
    """The kernels, whose fused loss+gradient passes over `data` are remembered (the last one
    of each kernel; any other data is passed through)."""
    if sum(column.size for column in data) < REMEMBER_MIN_VALUES:
        return kernels
    return dataclasses.replace(kernels, module=_Remembered(kernels.module, data))


class _Remembered:
    """A kernel module whose loss_grad and loss_grad_parallel remember their last call."""

    def __init__(self, module, data: tuple[np.ndarray, ...]):
        self._module, self._data = module, data
        self.loss_grad = _LastPass(module.loss_grad, data)
        self.loss_grad_parallel = _LastPass(module.loss_grad_parallel, data)

    def __getattr__(self, name: str):
        return getattr(self._module, name)


class _LastPass:
    """kernel(params, *data, grad_out) -> loss, answered from the last call when the parameters
    and the data arrays are the same (the kernels are pure: same arguments, same bits)."""

    def __init__(self, kernel, data: tuple[np.ndarray, ...]):
        self.kernel, self.data = kernel, data
        self.params = self.grad = None
        self.loss = math.nan

    def __call__(self, params: np.ndarray, *args):
        *data, grad_out = args
        same_data = len(data) == len(self.data) and all(a is b for a, b in zip(data, self.data))
        if same_data and self.params is not None and np.array_equal(params, self.params):
            grad_out[:] = self.grad
            return self.loss
        loss = self.kernel(params, *args)
        if same_data:
            self.params, self.grad, self.loss = params.copy(), grad_out.copy(), loss
        return loss


def fused_kernel(kernels: Kernels, data: tuple[np.ndarray, ...]):
    """The fused loss+gradient kernel a full-batch pass over `data` takes: the parallel one for
    big data (PARALLEL_MIN_VALUES), else the serial one."""
    values = sum(column.size for column in data)
    return kernels.loss_grad_parallel if values >= PARALLEL_MIN_VALUES else kernels.loss_grad


class Objective:
    """The full-batch loss and gradient of a model on its data, by one fused kernel call."""

    def __init__(self, kernels: Kernels, data: tuple[np.ndarray, ...]):
        self.kernels = kernels
        self.data = data
        self.n = len(data[0])
        self.grad = np.zeros(len(kernels.param_names))
        self.scratch = np.zeros_like(self.grad)
        self.kernel = fused_kernel(kernels, data)

    def warm_up(self, params: np.ndarray, sample_kernel=None, batch_size: int | None = None) -> None:
        """Call each kernel once on one row: numba compiles or loads it now, not inside the fit."""
        row = tuple(column[:1] for column in self.data)
        scratch = params.copy()
        self.kernel(scratch, *row, self.grad)
        if sample_kernel is not None:
            order = np.zeros(1, dtype=np.int64)
            if batch_size is None:
                sample_kernel(scratch, *row, 0.0, order)
            else:
                sample_kernel(scratch, *row, 0.0, batch_size, order)

    def __call__(self, params: np.ndarray) -> float:
        """The loss at `params`; fills self.grad."""
        return self.kernel(params, *self.data, self.grad)

    def loss_at(self, params: np.ndarray) -> float:
        """The loss alone, leaving self.grad as it was (the fused kernel: one less to compile)."""
        return self.kernel(params, *self.data, self.scratch)


# --- update rules: how a gradient becomes a step ---------------------------------------------

class Plain:
    """θ ← θ − lr·g."""

    def __init__(self, size: int):
        self.step = np.empty(size)

    def apply(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        np.multiply(grad, lr, out=self.step)
        params -= self.step


class Momentum:
    """b ← μ·b + g; θ ← θ − lr·b, or θ ← θ − lr·(g + μ·b) with Nesterov (PyTorch's convention)."""

    def __init__(self, size: int, mu: float, nesterov: bool):
        self.mu, self.nesterov = mu, nesterov
        self.buf = np.zeros(size)
        self.step = np.empty(size)

    def apply(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        self.buf *= self.mu
        self.buf += grad
        if self.nesterov:
            np.multiply(self.buf, self.mu, out=self.step)
            self.step += grad
            self.step *= lr
        else:
            np.multiply(self.buf, lr, out=self.step)
        params -= self.step


class Adam:
    """Adam (Kingma & Ba 2015): bias-corrected moving averages of g and g², step lr·m̂/(√v̂ + ε)."""

    def __init__(self, size: int, beta1: float, beta2: float, eps: float):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.step = np.empty(size)
        self.t = 0

    def apply(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        self.m *= b1
        self.m += (1.0 - b1) * grad
        self.v *= b2
        self.v += (1.0 - b2) * grad * grad
        np.sqrt(self.v / (1.0 - b2 ** self.t), out=self.step)
        self.step += self.eps
        np.divide(self.m, self.step, out=self.step)
        self.step *= lr / (1.0 - b1 ** self.t)
        params -= self.step


# --- drivers: which gradient each step uses ---------------------------------------------------

class FullBatch:
    """One step per epoch with the full-batch gradient (plain gd, momentum, adam)."""

    def __init__(self, objective: Objective, rule):
        self.objective, self.rule = objective, rule

    def epoch(self, params: np.ndarray, lr: float) -> float:
        self.rule.apply(params, self.objective.grad, lr)
        return self.objective(params)


class Shuffled:
    """Epochs over the rows in an order drawn from one seeded generator (or file order)."""

    def __init__(self, objective: Objective, seed: int, shuffle: bool):
        self.objective = objective
        self.rng = np.random.default_rng(seed)
        self.shuffle = shuffle
        self.order = np.arange(objective.n, dtype=np.int64)

    def next_order(self) -> np.ndarray:
        if self.shuffle:
            self.rng.shuffle(self.order)
        return self.order


class SampleKernel(Shuffled):
    """Plain sgd or mini-batch gd: the whole epoch of updates is one kernel call."""

    def __init__(self, objective: Objective, seed: int, shuffle: bool, batch_size: int | None):
        super().__init__(objective, seed, shuffle)
        self.batch_size = batch_size
        k = objective.kernels
        self.kernel = k.sgd_epoch if batch_size is None else k.minibatch_epoch

    def run(self, params: np.ndarray, lr: float, order: np.ndarray) -> None:
        if self.batch_size is None:
            self.kernel(params, *self.objective.data, lr, order)
        else:
            self.kernel(params, *self.objective.data, lr, self.batch_size, order)

    def epoch(self, params: np.ndarray, lr: float) -> float:
        self.run(params, lr, self.next_order())
        return self.objective(params)


class Batches(Shuffled):
    """Momentum or Adam on mini-batches: the rows are gathered in epoch order, then sliced."""

    def __init__(self, objective: Objective, rule, seed: int, shuffle: bool, batch_size: int):
        super().__init__(objective, seed, shuffle)
        self.rule, self.batch_size = rule, batch_size
        self.gathered = tuple(np.empty_like(column) for column in objective.data)
        self.grad = np.zeros_like(objective.grad)
        self.kernel = objective.kernels.loss_grad

    def epoch(self, params: np.ndarray, lr: float) -> float:
        data = self.objective.data
        if self.shuffle:
            order = self.next_order()
            for column, out in zip(data, self.gathered):
                np.take(column, order, out=out)
            data = self.gathered
        n, size = self.objective.n, self.batch_size
        for start in range(0, n, size):
            self.kernel(params, *[column[start:start + size] for column in data], self.grad)
            self.rule.apply(params, self.grad, lr)
        return self.objective(params)


class BarzilaiBorwein:
    """Gradient descent whose step is chosen each epoch: the Barzilai–Borwein step sᵀs/sᵀy,
    accepted when it passes a non-monotone Armijo test (Raydan 1997, Grippo et al. 1986),
    halved until it does. Used by `gd` when no --lr is given; one kernel call per epoch
    unless a step is refused. With `project` (a box), each trial point is projected and the
    test reads gᵀ(θ − θ_prev), the search running along the projection arc (Bertsekas 1976)."""

    MEMORY = 10          # the Armijo test compares with the largest of the last MEMORY losses
    SUFFICIENT = 1e-4    # Armijo's c

    def __init__(self, objective: Objective, first_step: float, loss0: float, project=None):
        self.objective, self.project = objective, project
        size = len(objective.grad)
        self.alpha = first_step
        self.recent = [loss0]
        self.prev_params = np.empty(size)
        self.prev_grad = np.empty(size)
        self.s = np.empty(size)
        self.y = np.empty(size)
        self.smallest = self.largest = first_step

    def epoch(self, params: np.ndarray, _lr: float) -> float:
        grad = self.objective.grad
        np.copyto(self.prev_params, params)
        np.copyto(self.prev_grad, grad)
        gg = float(grad @ grad)
        ceiling = max(self.recent)
        alpha = self.alpha
        while True:
            np.multiply(self.prev_grad, alpha, out=self.s)
            np.subtract(self.prev_params, self.s, out=params)
            if self.project is None:
                loss = self.objective(params)
                enough = loss <= ceiling - self.SUFFICIENT * alpha * gg
            else:
                self.project(params)
                descent = float(self.prev_grad @ (params - self.prev_params))   # gᵀ(θ − θ_prev)
                loss = self.objective(params)
                enough = loss <= ceiling + self.SUFFICIENT * descent or descent == 0.0
            if enough or alpha < 1e-300 or gg == 0.0:
                break
            alpha *= 0.5
        self.smallest, self.largest = min(self.smallest, alpha), max(self.largest, alpha)
        np.subtract(params, self.prev_params, out=self.s)
        np.subtract(grad, self.prev_grad, out=self.y)
        sy = float(self.s @ self.y)
        # A non-positive sᵀy means no curvature information (or negative curvature):
        # keep the step that was just accepted.
        self.alpha = float(self.s @ self.s) / sy if sy > 0.0 else alpha
        self.recent.append(loss)
        if len(self.recent) > self.MEMORY:
            del self.recent[0]
        return loss


# --- the automatic step size ------------------------------------------------------------------

def curvature(objective: Objective, params: np.ndarray, seed: int = 0, rounds: int = 30) -> float:
    """The largest Hessian eigenvalue λmax at `params`, by power iteration on gradient differences.

    Hv ≈ (∇f(θ + h·v) − ∇f(θ)) / h; exact for quadratic losses. Returns 0 when the loss is
    flat along every direction tried (and NaN when the gradient is not finite).
    """
    objective(params)
    g0 = objective.grad.copy()
    h = 1e-4 * max(1.0, float(np.linalg.norm(params)))
    # A probe must be small beside every parameter, or a parameter of 1e-4 beside one of 500
    # is moved far out of the region where the loss is quadratic (Misra1a: λmax ≈ 4e12, not 7e42).
    nonzero = np.abs(params[params != 0.0])
    if nonzero.size and h > 1e-2 * float(nonzero.min()):
        h = 1e-4 * float(nonzero.min())
    v = np.random.default_rng(seed).standard_normal(len(params))
    v /= np.linalg.norm(v)
    lam = 0.0
    probe = np.empty_like(params)
    for _ in range(rounds):
        np.multiply(v, h, out=probe)
        probe += params
        objective(probe)
        hv = (objective.grad - g0) / h
        new = float(np.linalg.norm(hv))
        if not math.isfinite(new) or new == 0.0:
            lam = new if not math.isfinite(new) else lam
            break
        v = hv / new
        if abs(new - lam) <= 1e-3 * new:
            lam = new
            break
        lam = new
    objective(params)  # leave the gradient at params, as callers expect
    return lam


def armijo(objective: Objective, params: np.ndarray, start: float) -> float:
    """The largest start·2⁻ᵏ whose gd step from `params` decreases the loss enough (Armijo)."""
    loss0 = objective(params)
    grad = objective.grad.copy()
    gg = float(grad @ grad)
    trial = np.empty_like(params)
    lr = start
    for _ in range(200):
        np.multiply(grad, lr, out=trial)
        np.subtract(params, trial, out=trial)
        loss = objective.loss_at(trial)
        if loss <= loss0 - 0.5 * lr * gg:
            break
        lr *= 0.5
    objective(params)
    return lr


def first_step(objective: Objective, params: np.ndarray) -> tuple[float, str]:
    """A gd step that does not diverge: 1/λmax, checked (and halved if need be) by Armijo."""
    lam = curvature(objective, params)
    if math.isfinite(lam) and lam > 0.0:
        lr = armijo(objective, params, 1.0 / lam)
        halved = "" if lr == 1.0 / lam else ", halved until the loss fell enough (Armijo)"
        return lr, f"1/λmax, λmax ≈ {lam:.3g} being the largest curvature at the start{halved}"
    lr = armijo(objective, params, 1.0)
    return lr, "1 halved until the loss fell enough (Armijo); no curvature to measure at the start"


def trial_sgd_step(objective: Objective, driver: SampleKernel, params: np.ndarray,
                   start: float, seed: int) -> float:
    """Halve `start` until one pass over a sample of rows lowers the full-batch loss."""
    n = objective.n
    order = np.random.default_rng(seed).permutation(n)[:min(n, 2000)].astype(np.int64)
    loss0 = objective.loss_at(params)
    trial = np.empty_like(params)
    lr = start
    for _ in range(200):
        np.copyto(trial, params)
        driver.run(trial, lr, order)
        loss = objective.loss_at(trial)
        if loss <= loss0:
            break
        lr *= 0.5
    return lr


ADAM_RATES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


def probe_adam(objective: Objective, params: np.ndarray, beta1: float, beta2: float, eps: float,
               steps: int) -> float:
    """The rate from ADAM_RATES whose first full-batch Adam steps reach the lowest loss."""
    best, best_loss = ADAM_RATES[-1], math.inf
    trial = np.empty_like(params)
    for lr in ADAM_RATES:
        np.copyto(trial, params)
        rule = Adam(len(params), beta1, beta2, eps)
        loss = objective(trial)
        for _ in range(steps):
            rule.apply(trial, objective.grad, lr)
            loss = objective(trial)
            if not math.isfinite(loss):
                break
        if loss < best_loss:
            best, best_loss = lr, loss
    objective(params)
    return best
