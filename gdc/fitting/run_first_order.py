"""Problem + Options → FitResult for the first-order methods: the epoch drivers and the loop that
checks the loss after each epoch and says why it stopped.

Deterministic methods stop on the full-batch gradient (--gtol) or when the loss stops changing
(--tol, PATIENCE epochs in a row); gdc.fitting.verdict then decides whether that is a minimum.
Stochastic ones (sgd, minibatch, --batch-size) keep the best full-batch iterate (of the epoch
ends and their running average), and stop when the curvature certifies it (Settling below).

In a box (bounds, fixed parameters: gdc.fitting.bounds) every update is followed by a projection
onto it: after each step of gd, momentum and adam (each batch's, with --batch-size), after each
epoch of sgd and minibatch (whose whole epoch is one compiled kernel); gd's automatic steps search
along the projection arc. The stopping tests read the projected gradient."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from .optimizers import (Adam, BarzilaiBorwein, Batches, FullBatch, Momentum, Objective, Plain,
                         SampleKernel, first_step, probe_adam, trial_sgd_step)
from .least_squares import least_squares_report
from .options import DECAY_EPOCHS, Options, Schedule
from .problem import FitResult, Problem
from .reasons import Stop
from .verdict import Curvature, claim_for

# Stop when the loss exceeds its initial value by this factor (of its size): it is not coming back.
DIVERGENCE_FACTOR = 1e8
BB_PATIENCE = 10          # gd's automatic steps are non-monotone: a longer patience
STOCHASTIC_PATIENCE = 40  # stochastic: --patience × this epochs without a new best: it is not settling


def run_first_order(problem: Problem, options: Options, params: np.ndarray, why: str | None,
                    progress) -> FitResult:
    """`problem` holds the flat kernels (one scalar parameter per element)."""
    kernels = problem.kernels
    loading = time.perf_counter()
    objective = Objective(kernels, problem.data)
    _warm_up(objective, params, options)
    started = time.perf_counter()
    driver, lr, note, options = _driver(objective, params, options, problem.box)
    rates = options.schedule.rates(lr, options.max_epochs)
    settling = Settling(objective, problem, options) if options.stochastic else None
    loop = _Loop(objective, driver, params, rates, options, progress, settling, problem.box)
    loop.run()
    seconds = time.perf_counter() - started
    k, reason = loop.epoch, loop.reason
    return FitResult(
        params=dict(zip(kernels.param_names, params.tolist())), loss=loop.loss, iterations=k,
        converged=reason.converged, reason=reason, seconds=seconds,
        method=_method_name(options), lr=lr, history=loop.history[:k + 1].copy(),
        message=loop.message(lr), grad_norm=loop.gnorm, lr_note=_lr_note(note, driver, options),
        schedule=options.schedule.describe(), updates=k * _updates_per_epoch(problem.n_rows, options),
        path=None if loop.recorder is None else loop.recorder[:k + 1].copy(),
        model_hash=problem.model_hash, n_rows=problem.n_rows, load_seconds=started - loading,
        method_note=why, stats=least_squares_report(problem, params, reason),
        advice=loop.advice())


def _warm_up(objective: Objective, params: np.ndarray, options: Options) -> None:
    name = options.spec.sample_kernel
    if name is None:
        objective.warm_up(params)
    else:
        objective.warm_up(params, getattr(objective.kernels, name), options.rows_per_batch)


def _method_name(options: Options) -> str:
    if options.method == "momentum" and options.nesterov:
        return "momentum (nesterov)"
    return options.method


def _updates_per_epoch(n: int, options: Options) -> int:
    if options.method == "sgd":
        return n
    if options.stochastic:
        return -(-n // options.rows_per_batch)
    return 1


def _lr_note(note: str | None, driver, options: Options) -> str | None:
    if isinstance(driver, BarzilaiBorwein):
        return (f"automatic: Barzilai–Borwein steps from {driver.smallest:.3g} to {driver.largest:.3g} "
                f"under a backtracking line search; the first step is {note}")
    if note is not None and options.schedule.kind == "decay":
        note += (f"; decaying as lr/(1 + epoch/{options.schedule.decay_epochs}), the iterates "
                 "averaged and the best full-batch one kept")
    return None if note is None else f"automatic: {note}"


def _driver(objective: Objective, params: np.ndarray, o: Options, box=None):
    """The epoch driver for the method, its first learning rate, how that rate was chosen, and
    the options (sgd and minibatch without --lr get gdc's decaying schedule); with a box, each
    update is projected onto it."""
    size = len(params)
    note, lr = None, o.lr
    project = None if box is None else box.project
    if o.method in ("gd", "momentum", "minibatch", "sgd") and lr is None:
        lr, note = first_step(objective, params)
    if o.method == "gd":
        if o.lr is None:
            return BarzilaiBorwein(objective, lr, objective(params), project), lr, note, o
        return FullBatch(objective, _projected(Plain(size), project)), lr, None, o
    if o.spec.sample_kernel is not None:
        driver = SampleKernel(objective, o.seed, o.shuffle, o.rows_per_batch)
        if o.lr is None:
            lr, note = _probed_rate(objective, driver, params, lr, note, o)
            if o.schedule.kind == "constant":
                o = dataclasses.replace(o, schedule=Schedule("decay", decay_epochs=DECAY_EPOCHS))
        return (driver if project is None else ProjectedEpochs(driver, project)), lr, note, o
    rule = _projected(Momentum(size, o.momentum, o.nesterov) if o.method == "momentum"
                      else Adam(size, o.beta1, o.beta2, o.eps), project)
    if lr is None:  # adam
        lr = probe_adam(objective, params, o.beta1, o.beta2, o.eps, min(30, o.max_epochs))
        note = (f"of 1, 0.3, 0.1, …, 0.001, the rate whose first {min(30, o.max_epochs)} "
                "full-batch steps reached the lowest loss")
    if o.batch_size is not None:
        return Batches(objective, rule, o.seed, o.shuffle, o.batch_size), lr, note, o
    return FullBatch(objective, rule), lr, note, o


def _projected(rule, project):
    return rule if project is None else ProjectedRule(rule, project)


class ProjectedRule:
    """An update rule followed by the projection onto the box."""

    def __init__(self, rule, project):
        self.rule, self.project = rule, project

    def apply(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        self.rule.apply(params, grad, lr)
        self.project(params)


class ProjectedEpochs:
    """sgd or minibatch in a box: the epoch's kernel, then the projection (the kernel's own
    updates inside the epoch are not projected)."""

    def __init__(self, driver: SampleKernel, project):
        self.driver, self.project = driver, project

    def epoch(self, params: np.ndarray, lr: float) -> float:
        self.driver.run(params, lr, self.driver.next_order())
        self.project(params)
        return self.driver.objective(params)


def _probed_rate(objective, driver, params, start, note, o):
    lr = trial_sgd_step(objective, driver, params, start, o.seed)
    rows = min(objective.n, 2000)
    if lr != start:
        return lr, f"{note}; then halved until one pass over {rows} rows lowered the loss"
    return lr, f"{note}; one pass over {rows} rows at it lowered the loss"


class Settling:
    """For a stochastic method: the best full-batch iterate so far (epoch ends, and their running
    average, restarted at epochs 1, 2, 4, 8, …: Polyak–Ruppert averaging of the recent tail),
    and the certificate there: the curvature's estimate of the gap to the minimum."""

    def __init__(self, objective: Objective, problem: Problem, options: Options):
        self.objective = objective
        self.curvature = Curvature(problem.kernels, problem.data, problem.box)
        # The fit stops at the claimed accuracy, or at --tol when the user gave one (0: run
        # every epoch); either way it is reported converged when the claim holds at the end.
        self.claim, self.gtol, self.certify = claim_for(options), options.gtol, options.certify
        self.stop_at = options.tol if options.tolerances_given else self.claim
        self.best = self.average = None
        self.best_loss = self.gap = math.nan
        self.count, self.checked = 0, -math.inf

    def begin(self, params: np.ndarray, loss: float) -> None:
        self.best, self.average = params.copy(), params.copy()
        self.best_loss = loss

    def after(self, epoch: int, params: np.ndarray, loss: float) -> bool:
        """Track epoch `epoch`'s iterate; True when the best iterate is certified."""
        if epoch & (epoch - 1) == 0:
            self.average[:], self.count = params, 1
        else:
            self.count += 1
            self.average += (params - self.average) / self.count
        improved = False
        for point, value in ((params, loss), (self.average, self.objective.loss_at(self.average))):
            if value < self.best_loss:
                self.best[:], self.best_loss, improved = point, value, True
        # A certificate costs `passes` full-batch passes (1 with a Hessian kernel, 2p + 1 by
        # differences): check no more often than that many epochs, so it costs at most half;
        # never with certify=False (the loop's other stop rules end it then).
        if improved and self.certify and epoch - self.checked >= self.curvature.passes:
            self.checked = epoch
            return self.certified(self.stop_at)
        return False

    def certified(self, claim: float) -> bool:
        """Whether the best iterate's gap is within `claim` (relative), or its gradient within
        --gtol where no curvature can be had (or certify=False forgoes it)."""
        gap = None
        if self.curvature.how is not None and self.certify:
            loss, gap = self.curvature.gap(self.best, max(float(np.linalg.norm(self.best)), 1.0), claim)
        if gap is None:   # no curvature, or a Krylov estimate that did not decide: the gradient test
            _, grad = self.curvature.loss_grad(self.best)
            if self.curvature.box is not None:
                grad = self.curvature.box.projected_gradient(self.best, grad)
            return float(np.linalg.norm(grad)) <= self.gtol
        self.gap = gap
        return gap <= claim * abs(loss) or gap <= claim * self.curvature.scale(self.best, loss, claim)


class _Loop:
    """The epochs, the checks after each one, and why they stopped."""

    def __init__(self, objective, driver, params, rates, options: Options, progress, settling, box=None):
        self.objective, self.driver, self.params, self.rates = objective, driver, params, rates
        self.box = box
        self.options, self.progress, self.settling = options, progress, settling
        capacity = min(options.max_epochs, 1 << 16) + 1   # grown by doubling if need be
        self.history = np.empty(capacity)
        self.recorder = np.empty((capacity, len(params))) if len(params) <= 2 else None
        self.epoch, self.reason = 0, Stop.MAX_EPOCHS
        self.loss = self.gnorm = self.loss0 = math.nan
        patience = BB_PATIENCE if isinstance(driver, BarzilaiBorwein) else options.patience
        self.patience = patience * (STOCHASTIC_PATIENCE if settling is not None else 1)
        self.stalled, self.anchor, self.best, self.last = 0, None, math.nan, math.nan

    def run(self) -> None:
        try:
            self.reason = self._run()
        except KeyboardInterrupt:
            self.reason = Stop.INTERRUPTED
        if self.settling is not None and self.reason not in (Stop.DIVERGED, Stop.INTERRUPTED):
            self.params[:] = self.settling.best   # the best full-batch iterate, not the last one
            self.loss = self.settling.best_loss
            if self.reason in (Stop.MAX_EPOCHS, Stop.NOISY) and self.settling.certified(self.settling.claim):
                self.reason = Stop.NEAR_MINIMUM
            elif self.reason == Stop.MAX_EPOCHS and self._unsettled():
                self.reason = Stop.NOISY

    def _run(self) -> Stop:
        loss = self.loss = self.loss0 = self.objective(self.params)
        self._record(0, loss)
        scale = abs(loss) if loss != 0.0 else 1.0
        self.limit = loss + DIVERGENCE_FACTOR * scale if math.isfinite(loss) else -math.inf
        if self.settling is not None:
            self.settling.begin(self.params, loss)
        if not loss < self.limit:
            return Stop.DIVERGED
        self.gnorm = self._gradient_norm()
        if self.gnorm <= self.options.gtol:
            return Stop.GTOL
        self.best = self.last = loss
        step = self.driver.epoch
        for k, lr in enumerate(self.rates, 1):
            loss = step(self.params, lr)
            self._record(k, loss)
            stop = self._check(k, loss)
            if stop is not None:
                return stop
            if self.progress is not None:
                self.progress(k, loss, self.gnorm, lr)
        return Stop.MAX_EPOCHS

    def _record(self, k: int, loss: float) -> None:
        if k == len(self.history):
            self._grow()
        self.history[k] = loss
        if self.recorder is not None:
            self.recorder[k] = self.params
        self.epoch, self.loss = k, loss

    def _gradient_norm(self) -> float:
        """The full-batch gradient's norm; in a box, the projected gradient's (what vanishes at
        a minimum on its boundary)."""
        grad = self.objective.grad
        if self.box is not None:
            grad = self.box.projected_gradient(self.params, grad)
        return math.sqrt(np.dot(grad, grad))

    def _check(self, k: int, loss: float) -> Stop | None:
        """After epoch k: a reason to stop, or None."""
        if not loss < self.limit:   # also catches NaN and inf
            return Stop.DIVERGED
        self.gnorm = self._gradient_norm()
        if self.settling is not None:
            if self.settling.after(k, self.params, loss):
                return Stop.NEAR_MINIMUM
        elif self.gnorm <= self.options.gtol:
            return Stop.GTOL
        return self._stall(loss)

    def _stall(self, loss: float) -> Stop | None:
        """Deterministic methods stop when the loss stops changing; stochastic ones, whose loss
        jitters, when it stops reaching new lows (scikit-learn's n_iter_no_change rule)."""
        tol, noisy = self.options.tol, self.settling is not None
        change = self.best - loss if noisy else abs(self.last - loss)
        if tol == 0.0 or change > tol * abs(self.best if noisy else self.last):
            self.stalled = 0
        else:
            self.stalled += 1
            if self.stalled == 1:
                self.anchor = self.params.copy()
            if self.stalled >= self.patience:
                if noisy:
                    return Stop.NOISY
                # A loss that stopped changing because the steps stopped moving the parameters
                # is a stall, not convergence (e.g. a step size far too small).
                moved = float(np.linalg.norm(self.params - self.anchor))
                return Stop.STALLED if moved <= 1e-14 * float(np.linalg.norm(self.params)) else Stop.TOL
        self.best = min(self.best, loss)
        self.last = loss
        return None

    def _unsettled(self) -> bool:
        """Whether the loss of the last epochs still jumps by more than the claimed accuracy."""
        recent = self.history[max(1, self.epoch - 9):self.epoch + 1]
        return len(recent) > 1 and float(np.ptp(recent)) > self.settling.claim * abs(self.settling.best_loss)

    def _grow(self) -> None:
        """Twice the room for the history (and the parameter path)."""
        self.history = np.concatenate([self.history, np.empty(len(self.history))])
        if self.recorder is not None:
            self.recorder = np.concatenate([self.recorder, np.empty_like(self.recorder)])

    def message(self, lr: float) -> str:
        o, k, reason = self.options, self.epoch, self.reason
        if reason == Stop.GTOL:
            return f"converged: the gradient norm {self.gnorm:.3g} is at most --gtol {o.gtol:g}"
        if reason == Stop.TOL:
            return (f"converged: the loss changed by less than --tol {o.tol:g} (relative) "
                    f"for {self.patience} epochs in a row")
        if reason == Stop.NEAR_MINIMUM:
            return f"converged: the stochastic fit settled (its best full-batch iterate, by epoch {k})"
        if reason == Stop.NOISY:
            return (f"not converged: noisy — the stochastic loss did not settle near a minimum in {k} "
                    f"epochs; the best full-batch iterate is kept (loss {self.loss:.6g})")
        if reason == Stop.STALLED:
            return (f"not converged: stalled, the steps no longer change the parameters; the "
                    f"gradient norm is still {self.gnorm:.3g}")
        if reason == Stop.MAX_EPOCHS:
            return (f"not converged: stopped at the epoch limit ({k}); the gradient norm is "
                    f"still {self.gnorm:.3g} (--gtol {o.gtol:g})")
        if reason == Stop.INTERRUPTED:
            return f"interrupted after {k} epochs"
        if k == 0:
            return f"the loss at the initial parameters is {self.loss:g}, not a finite number"
        what = ("became NaN" if math.isnan(self.loss) else "became infinite" if math.isinf(self.loss)
                else f"grew from {self.loss0:.4g} to {self.loss:.4g}")
        rate = f" with learning rate {lr:.3g}" if lr is not None else ""
        return f"the fit diverged at epoch {k}{rate}: the loss {what}"

    def advice(self) -> str:
        if self.reason == Stop.NOISY:
            return ("more epochs (--epochs), a smaller or decaying rate (leave --lr out), or a "
                    "full-batch method (--method gd, or auto)")
        return ""
