"""What a fit may be asked to do: the methods, schedules, options and their defaults, checked (no
NumPy here, so that the command line can offer them, and print the defaults in its help, without
importing the numeric runtime)."""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import numbers
from dataclasses import dataclass
from typing import Iterator

from gdc.errors import GdcError
from gdc.runtime.limits import MAX_SECOND_ORDER

# --- defaults: every signature and help text reads these ----------------------------------------

FULL_BATCH_EPOCHS = 10_000       # gd, momentum, adam
SECOND_ORDER_ITERATIONS = 1_000  # lm, newton, bundle
STOCHASTIC_EPOCHS = 1_000        # sgd, minibatch, and momentum/adam with --batch-size
BATCH_SIZE = 32                  # minibatch's rows per update
PATIENCE = 5                     # epochs in a row that --tol must be missed
TOL = 1e-10                      # relative loss change per epoch (first-order methods)
GTOL = 1e-6                      # gradient norm (first-order methods)
# lbfgs without --tol/--gtol: an iteration costs one pass, so it asks for more digits than
# scikit-learn's tol = 1e-4 — the largest |∂J/∂θⱼ| at 1e-9, or a loss change of 64 ulps (scipy's
# ftol in scikit-learn), whichever comes first.
LBFGS_GTOL = 1e-9
LBFGS_TOL = 64 * 2.0 ** -52
XTOL = 1e-13                     # second order: the scaled step, relative to the scaled parameters
FTOL = 1e-15                     # second order: actual and predicted relative loss reductions
# Levenberg–Marquardt, standard errors and the condition number for at most this many parameter
# values: each step solves a p×p system (JᵀJ costs n·p² a pass). Shaped models always have
# jtj_jtr, so this limit decides for them; scalar ones have second-order kernels only up to
# MAX_SECOND_ORDER parameters.
MAX_STATISTICS = 200
# --method auto takes Newton's method (a p×p Hessian each step) for at most this many parameter
# values, L-BFGS beyond (and for shaped models, which have no Hessian kernel).
MAX_NEWTON = MAX_SECOND_ORDER
# The bundle method (losses with kinks) for at most this many parameter values: each step solves
# a small quadratic program over up to 2p + 10 cutting planes.
MAX_BUNDLE = MAX_SECOND_ORDER
# sgd and minibatch without --lr: the probed rate decays as lr/(1 + epoch/DECAY_EPOCHS).
DECAY_EPOCHS = 10
# The schedules' and the update rules' own constants.
POWER_T = 0.25                   # invscaling: lr / (1 + epoch)^POWER_T
STEP_EVERY = 100                 # step: every STEP_EVERY epochs ...
STEP_FACTOR = 0.5                # ... the rate is multiplied by STEP_FACTOR
MOMENTUM = 0.9
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8   # Adam's (Kingma & Ba 2015)

SCHEDULES = ("constant", "invscaling", "step")


# --- the methods --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Method:
    """One entry of the method registry: what `--method NAME` runs and how the report names it.

    `kind` picks the runner (gdc.fitting.run.RUNNERS): second_order (lm, newton), bundle, or
    first_order (the epoch loop, full batch or stochastic); `sample_kernel` is the per-sample
    kernel its epochs call, warmed up before the clock starts."""

    name: str
    label: str                         # in words, for the preamble and the report
    kind: str                          # "second_order", "bundle", "lbfgs" or "first_order"
    stochastic: bool = False           # updates from samples, not from the full batch
    sample_kernel: str | None = None   # "sgd_epoch", "minibatch_epoch"
    takes_rate: bool = True            # --lr, --schedule and --tol/--gtol apply
    takes_tolerances: bool = False     # --tol/--gtol apply although --lr does not (lbfgs)


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("auto", "chosen from the loss's structure", "auto", takes_rate=False),
    Method("lm", "Levenberg–Marquardt", "second_order", takes_rate=False),
    Method("newton", "Newton's method, damped where needed", "second_order", takes_rate=False),
    Method("bundle", "a proximal bundle method for losses with kinks", "bundle", takes_rate=False),
    Method("lbfgs", "L-BFGS (limited-memory quasi-Newton; strong Wolfe line search, in a box "
           "L-BFGS-B's projected steps)", "lbfgs",
           takes_rate=False, takes_tolerances=True),
    Method("gd", "gradient descent", "first_order"),
    Method("sgd", "stochastic gradient descent", "first_order", True, "sgd_epoch"),
    Method("minibatch", "mini-batch gradient descent", "first_order", True, "minibatch_epoch"),
    Method("momentum", "gradient descent with momentum", "first_order"),
    Method("adam", "Adam", "first_order"),
)}


@dataclass(frozen=True, slots=True)
class Schedule:
    """How the learning rate changes from epoch to epoch (epochs count from 0)."""

    kind: str = "constant"
    power_t: float = POWER_T            # invscaling: lr / (1 + epoch) ** power_t
    step_every: int = STEP_EVERY        # step: multiply by step_factor every step_every epochs
    step_factor: float = STEP_FACTOR
    decay_epochs: int = 0     # decay (gdc's own, for sgd without --lr): lr / (1 + epoch/decay_epochs)

    def rates(self, lr: float, epochs: int) -> Iterator[float]:
        """The rate of each epoch as Python floats, computed 4096 epochs at a time."""
        return itertools.chain.from_iterable(
            self._block(lr, start, min(epochs, start + 4096)) for start in range(0, epochs, 4096))

    def _block(self, lr: float, start: int, stop: int) -> list[float]:
        import numpy as np
        t = np.arange(start, stop, dtype=np.float64)
        if self.kind == "invscaling":
            return (lr / (1.0 + t) ** self.power_t).tolist()
        if self.kind == "step":
            return (lr * self.step_factor ** np.floor(t / self.step_every)).tolist()
        if self.kind == "decay":
            return (lr / (1.0 + t / self.decay_epochs)).tolist()
        return [lr] * (stop - start)

    def describe(self) -> str:
        if self.kind == "invscaling":
            return f"invscaling (lr / (1 + epoch)^{self.power_t:g})"
        if self.kind == "step":
            return f"step (×{self.step_factor:g} every {self.step_every} epochs)"
        if self.kind == "decay":
            return f"decay (lr / (1 + epoch/{self.decay_epochs}))"
        return "constant"


@dataclass(frozen=True, slots=True)
class Options:
    """How to fit: the method, its rate and schedule, and when to stop."""

    method: str = "auto"                # auto: gdc.fitting.method.choose_method decides
    lr: float | None = None             # None: gdc chooses a step that does not diverge
    schedule: Schedule = Schedule()
    epochs: int | None = None           # None: FULL_BATCH_EPOCHS, STOCHASTIC_EPOCHS or SECOND_ORDER_ITERATIONS
    tol: float = TOL                    # relative loss change (0: never stop on it)...
    patience: int = PATIENCE            # ...that must be missed this many epochs in a row
    gtol: float = GTOL                  # gradient norm (2-norm, full batch; 0: never stop on it)
    batch_size: int | None = None       # minibatch: BATCH_SIZE when None; momentum/adam: full batch
    momentum: float = MOMENTUM
    nesterov: bool = False
    beta1: float = BETA1
    beta2: float = BETA2
    eps: float = EPS
    seed: int = 0
    shuffle: bool = True
    certify: bool = True                # False (--no-certify): no curvature estimate at the answer
    given_tolerances: frozenset = frozenset()   # which of "tol", "gtol" the user set (the rest: defaults)

    @property
    def tolerances_given(self) -> bool:
        """--tol or --gtol set by the user, not the defaults."""
        return bool(self.given_tolerances)

    @property
    def spec(self) -> Method:
        return METHODS[self.method]

    @property
    def stochastic(self) -> bool:
        return self.spec.stochastic or self.batch_size is not None

    @property
    def rows_per_batch(self) -> int | None:
        """Rows per update for the stochastic methods (None: one row, plain sgd)."""
        if self.method == "sgd":
            return None
        return self.batch_size or BATCH_SIZE

    @property
    def max_epochs(self) -> int:
        if self.epochs is not None:
            return self.epochs
        if self.spec.kind in ("second_order", "bundle"):
            return SECOND_ORDER_ITERATIONS
        return STOCHASTIC_EPOCHS if self.stochastic else FULL_BATCH_EPOCHS

    def with_tolerances(self, tol: float | None, gtol: float | None) -> "Options":
        """These options with the tolerances the user gave (None: the defaults)."""
        if tol is None and gtol is None:
            return self
        given = frozenset(name for name, value in (("tol", tol), ("gtol", gtol)) if value is not None)
        return dataclasses.replace(self, tol=self.tol if tol is None else tol,
                                   gtol=self.gtol if gtol is None else gtol, given_tolerances=given)

    def validate(self) -> "Options":
        """Raise a GdcError naming the option for a value that cannot work."""
        self._validate_types()
        if self.method not in METHODS:
            raise _option_error("--method", f"unknown method {self.method!r}",
                                f"choose one of {', '.join(METHODS)}", self.method, tuple(METHODS))
        if self.schedule.kind not in SCHEDULES + ("decay",):
            raise _option_error("--schedule", f"unknown schedule {self.schedule.kind!r}",
                                f"choose one of {', '.join(SCHEDULES)}", self.schedule.kind, SCHEDULES)
        _positive("--lr", self.lr, allow_none=True)
        _positive("--epochs", self.epochs, allow_none=True)
        _positive("--batch-size", self.batch_size, allow_none=True)
        _positive("--eps", self.eps)
        _positive("--step-every", self.schedule.step_every)
        _positive("--patience", self.patience)
        if self.seed < 0:   # numpy's generators take none (the command line's count(0) refuses it too)
            raise GdcError(f"must be a whole number ≥ 0, not {self.seed!r}", where="--seed")
        for name, value in (("--tol", self.tol), ("--gtol", self.gtol),
                            ("--power-t", self.schedule.power_t)):
            if not (math.isfinite(value) and value >= 0):
                raise GdcError(f"must be a number ≥ 0, not {value!r}", where=name)
        if self.tol >= 1:   # a converged fit's gap may be tol·|loss|: for a loss ≥ 0, any answer's
            raise GdcError(f"must be below 1, not {self.tol!r}: it is relative to the loss, and a "
                           "change (or a gap to the minimum) as large as the loss itself holds for any "
                           "answer, so a fit stopped on it would be called converged wherever it is",
                           where="--tol", hint="e.g. --tol 1e-6")
        for name, value in (("--momentum", self.momentum), ("--beta1", self.beta1),
                            ("--beta2", self.beta2), ("--step-factor", self.schedule.step_factor)):
            if not 0 <= value < 1 and not (name == "--step-factor" and value == 1):
                raise GdcError(f"must be in [0, 1), not {value!r}", where=name)
        self._validate_batches()
        if not self.spec.takes_rate and self.method != "auto":
            for name, given in (("--lr", self.lr is not None), ("--batch-size", self.batch_size is not None),
                                ("--schedule", self.schedule.kind != "constant"),
                                ("--tol/--gtol", self.tolerances_given and not self.spec.takes_tolerances)):
                if given:
                    how = {"second_order": " from second derivatives",
                           "lbfgs": " by a line search"}.get(self.spec.kind, "")
                    stops = "" if self.spec.takes_tolerances else " and stops at full precision"
                    raise GdcError(f"{self.method} chooses its own steps{how}, uses the full batch{stops}; "
                                   f"{name} is for the first-order methods",
                                   where=name, hint=f"leave {name} out, or use --method gd")
        if self.nesterov and self.method != "momentum":
            raise GdcError("--nesterov applies to --method momentum only", where="--nesterov")
        return self

    def _validate_types(self) -> None:
        real, whole, flag = (numbers.Real,), (numbers.Integral,), (bool,)
        _typed("--method", self.method, (str,), "a method's name")
        _typed("--schedule", self.schedule.kind, (str,), "a schedule's name")
        for name, value, kinds, what in (
                ("--lr", self.lr, real, "a number"), ("--epochs", self.epochs, whole, "a whole number"),
                ("--batch-size", self.batch_size, whole, "a whole number")):
            if value is not None:
                _typed(name, value, kinds, what)
        for name, value in (("--tol", self.tol), ("--gtol", self.gtol), ("--momentum", self.momentum),
                            ("--beta1", self.beta1), ("--beta2", self.beta2), ("--eps", self.eps),
                            ("--power-t", self.schedule.power_t), ("--step-factor", self.schedule.step_factor)):
            _typed(name, value, real, "a number")
        for name, value in (("--seed", self.seed), ("--step-every", self.schedule.step_every),
                            ("--patience", self.patience)):
            _typed(name, value, whole, "a whole number")
        for name, field in (("--nesterov", "nesterov"), ("--no-shuffle", "shuffle"), ("--no-certify", "certify")):
            value = getattr(self, field)
            if _numpy_bool(value):   # a mask's entry, np.True_: the same truth value, kept as a bool
                object.__setattr__(self, field, bool(value))
            else:
                _typed(name, value, flag, "True or False")

    def _validate_batches(self) -> None:
        if self.method == "sgd" and self.batch_size is not None:
            raise GdcError("sgd updates after every row; --batch-size is for minibatch, "
                           "momentum and adam", where="--batch-size",
                           hint="use --method minibatch --batch-size N")
        if self.method in ("gd", "auto") and self.batch_size is not None:
            what = ("gd uses" if self.method == "gd"
                    else "--method auto chooses lm, newton, bundle or gd, which use")
            raise GdcError(f"{what} the full batch", where="--batch-size",
                           hint="use --method minibatch --batch-size N for mini-batch gradient descent")


def _typed(name: str, value, kinds: tuple, what: str) -> None:
    """From Python any value reaches an option: one of the wrong type is named, not a TypeError.
    (The command line's types never get here, so the message names the keyword a Python caller
    wrote: `certify`, where the option's own name is the flag --no-certify.)"""
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        keyword = name.removeprefix("--no-").removeprefix("--").replace("-", "_")
        raise GdcError(f"{keyword} must be {what}, not {value!r}", where=name)


def _numpy_bool(value) -> bool:
    """NumPy's boolean scalar (numpy.bool, once numpy.bool_), told by its type without importing NumPy."""
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")


def _positive(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or value <= 0:
        raise GdcError(f"must be a positive number, not {value!r}", where=name)


def _option_error(name: str, message: str, fallback: str, value: str, choices) -> GdcError:
    guess = difflib.get_close_matches(value, choices, n=1)
    return GdcError(message, where=name, hint=f"did you mean {guess[0]!r}?" if guess else fallback)
