"""Problem + Options → FitResult for the first-order methods: the epoch drivers and the loop that
checks the loss after each epoch and says why it stopped."""

from __future__ import annotations

import math
import time

import numpy as np

from .optimizers import (Adam, BarzilaiBorwein, Batches, FullBatch, Momentum, Objective, Plain,
                         SampleKernel, first_step, probe_adam, trial_sgd_step)
from .options import Options
from .problem import CONVERGED, FitResult, Problem
from .statistics import least_squares_report

# Stop when the loss exceeds its initial value by this factor (of its size): it is not coming back.
DIVERGENCE_FACTOR = 1e8


def run_first_order(problem: Problem, options: Options, params: np.ndarray, why: str | None,
                    progress) -> FitResult:
    """`problem` holds the flat kernels (one scalar parameter per element)."""
    kernels = problem.kernels
    loading = time.perf_counter()
    objective = Objective(kernels, problem.data)
    _warm_up(objective, params, options)
    started = time.perf_counter()
    driver, lr, note = _driver(objective, params, options)
    rates = options.schedule.rates(lr, options.max_epochs)
    loop = _Loop(objective, driver, params, rates, options, progress, record=len(params) <= 2)
    loop.run()
    seconds = time.perf_counter() - started
    k = loop.epoch
    updates = k * _updates_per_epoch(problem.n_rows, options)
    reason = loop.reason
    return FitResult(
        params=dict(zip(kernels.param_names, params.tolist())), loss=loop.loss, iterations=k,
        converged=reason in CONVERGED, reason=reason, seconds=seconds,
        method=_method_name(options), lr=lr, history=loop.history[:k + 1].copy(),
        message=loop.message(lr), grad_norm=loop.gnorm, lr_note=_lr_note(note, driver),
        schedule=options.schedule.describe(), updates=updates,
        path=None if loop.recorder is None else loop.recorder[:k + 1].copy(),
        model_hash=problem.model_hash, n_rows=problem.n_rows, load_seconds=started - loading,
        method_note=why, stats=least_squares_report(problem, params, reason))


def _warm_up(objective: Objective, params: np.ndarray, options: Options) -> None:
    k = objective.kernels
    if options.method == "sgd":
        objective.warm_up(params, k.sgd_epoch)
    elif options.method == "minibatch":
        objective.warm_up(params, k.minibatch_epoch, options.batch_size or 32)
    else:
        objective.warm_up(params)


def _method_name(options: Options) -> str:
    if options.method == "momentum" and options.nesterov:
        return "momentum (nesterov)"
    return options.method


def _updates_per_epoch(n: int, options: Options) -> int:
    if options.method == "sgd":
        return n
    if options.stochastic:
        size = options.batch_size or 32
        return -(-n // size)
    return 1


def _lr_note(note: str | None, driver) -> str | None:
    if isinstance(driver, BarzilaiBorwein):
        return (f"automatic: Barzilai–Borwein steps from {driver.smallest:.3g} to {driver.largest:.3g} "
                f"under a backtracking line search; the first step is {note}")
    return None if note is None else f"automatic: {note}"


def _driver(objective: Objective, params: np.ndarray, o: Options):
    """The epoch driver for the method, its first learning rate, and how that rate was chosen."""
    size = len(params)
    note = None
    lr = o.lr
    if o.method in ("gd", "momentum", "minibatch", "sgd") and lr is None:
        lr, note = first_step(objective, params)
    if o.method == "gd":
        if o.lr is None:
            return BarzilaiBorwein(objective, lr, objective(params)), lr, note
        return FullBatch(objective, Plain(size)), lr, None
    if o.method in ("sgd", "minibatch"):
        batch = None if o.method == "sgd" else (o.batch_size or 32)
        driver = SampleKernel(objective, o.seed, o.shuffle, batch)
        if o.lr is None:
            start = lr
            lr = trial_sgd_step(objective, driver, params, start, o.seed)
            note = (f"{note}; then halved until one pass over {min(objective.n, 2000)} rows "
                    "lowered the loss" if lr != start else
                    f"{note}; one pass over {min(objective.n, 2000)} rows at it lowered the loss")
        return driver, lr, note
    rule = (Momentum(size, o.momentum, o.nesterov) if o.method == "momentum"
            else Adam(size, o.beta1, o.beta2, o.eps))
    if lr is None:  # adam
        lr = probe_adam(objective, params, o.beta1, o.beta2, o.eps, min(30, o.max_epochs))
        note = (f"of 1, 0.3, 0.1, …, 0.001, the rate whose first {min(30, o.max_epochs)} "
                "full-batch steps reached the lowest loss")
    if o.batch_size is not None:
        return Batches(objective, rule, o.seed, o.shuffle, o.batch_size), lr, note
    return FullBatch(objective, rule), lr, note


class _Loop:
    """The epochs, the checks after each one, and why they stopped."""

    def __init__(self, objective, driver, params, rates, options: Options, progress, record: bool):
        self.objective, self.driver, self.params, self.rates = objective, driver, params, rates
        self.options, self.progress = options, progress
        capacity = min(options.max_epochs, 1 << 16) + 1   # grown by doubling if need be
        self.history = np.empty(capacity)
        self.recorder = np.empty((capacity, len(params))) if record else None
        self.epoch = 0
        self.reason = "max_epochs"
        self.loss = self.gnorm = math.nan
        self.loss0 = math.nan

    def run(self) -> None:
        try:
            self._run()
        except KeyboardInterrupt:
            self.reason = "interrupted"

    def _run(self) -> None:
        objective, params, history, recorder = self.objective, self.params, self.history, self.recorder
        grad = objective.grad
        o = self.options
        tol, gtol, progress = o.tol, o.gtol, self.progress
        patience = 10 if isinstance(self.driver, BarzilaiBorwein) else o.patience
        step = self.driver.epoch
        sqrt, dot = math.sqrt, np.dot

        loss = self.loss = self.loss0 = objective(params)
        history[0] = loss
        if recorder is not None:
            recorder[0] = params
        scale = abs(loss) if loss != 0.0 else 1.0
        limit = loss + DIVERGENCE_FACTOR * scale if math.isfinite(loss) else -math.inf
        if not loss < limit:
            self.reason = "diverged"
            return
        gnorm = self.gnorm = sqrt(dot(grad, grad))
        if gnorm <= gtol:
            self.reason = "gtol"
            return
        # Deterministic methods stop when the loss stops changing; stochastic ones, whose loss
        # jitters, when it stops reaching new lows (scikit-learn's n_iter_no_change rule).
        noisy = o.stochastic
        best, last, stalled = loss, loss, 0
        for k, lr in enumerate(self.rates, 1):
            loss = step(params, lr)
            if k == len(history):
                history, recorder = self.grow()
            history[k] = loss
            self.epoch, self.loss = k, loss
            if recorder is not None:
                recorder[k] = params
            if not loss < limit:   # also catches NaN and inf
                self.reason = "diverged"
                return
            gnorm = self.gnorm = sqrt(dot(grad, grad))
            if gnorm <= gtol:
                self.reason = "gtol"
                return
            if tol == 0.0 or (best - loss if noisy else abs(last - loss)) > tol * abs(best if noisy else last):
                stalled = 0
            else:
                stalled += 1
                if stalled == 1:
                    anchor = params.copy()
                if stalled >= patience:
                    # A loss that stopped changing because the steps stopped moving the
                    # parameters is a stall, not convergence (e.g. a step size far too small).
                    moved = float(np.linalg.norm(params - anchor))
                    self.reason = "stalled" if moved <= 1e-14 * float(np.linalg.norm(params)) else "tol"
                    return
            if loss < best:
                best = loss
            last = loss
            if progress is not None:
                progress(k, loss, gnorm, lr)

    def grow(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Twice the room for the history (and the parameter path)."""
        self.history = np.concatenate([self.history, np.empty(len(self.history))])
        if self.recorder is not None:
            self.recorder = np.concatenate([self.recorder, np.empty_like(self.recorder)])
        return self.history, self.recorder

    def message(self, lr: float) -> str:
        o, k = self.options, self.epoch
        if self.reason == "gtol":
            return f"converged: the gradient norm {self.gnorm:.3g} is at most --gtol {o.gtol:g}"
        if self.reason == "tol":
            patience = 10 if isinstance(self.driver, BarzilaiBorwein) else o.patience
            if o.stochastic:
                return (f"converged: for {patience} epochs the loss has not gone below its lowest "
                        f"by more than --tol {o.tol:g} (relative)")
            return (f"converged: the loss changed by less than --tol {o.tol:g} (relative) "
                    f"for {patience} epochs in a row")
        if self.reason == "stalled":
            return (f"not converged: stalled, the steps no longer change the parameters; the "
                    f"gradient norm is still {self.gnorm:.3g}")
        if self.reason == "max_epochs":
            return (f"not converged: stopped at the epoch limit ({k}); the gradient norm is "
                    f"still {self.gnorm:.3g} (--gtol {o.gtol:g})")
        if self.reason == "interrupted":
            return f"interrupted after {k} epochs"
        if k == 0:
            return f"the loss at the initial parameters is {self.loss:g}, not a finite number"
        what = ("became NaN" if math.isnan(self.loss) else "became infinite" if math.isinf(self.loss)
                else f"grew from {self.loss0:.4g} to {self.loss:.4g}")
        rate = f" with learning rate {lr:.3g}" if lr is not None else ""
        return f"the fit diverged at epoch {k}{rate}: the loss {what}"


