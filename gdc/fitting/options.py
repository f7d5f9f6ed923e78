"""What a fit may be asked to do: the methods, schedules and options, checked (no NumPy here,
so that the command line can offer them without importing the numeric runtime)."""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
from dataclasses import dataclass
from typing import Iterator

from gdc.errors import GdcError

METHODS = ("auto", "lm", "newton", "gd", "sgd", "minibatch", "momentum", "adam")
SECOND_ORDER = ("lm", "newton")
SCHEDULES = ("constant", "invscaling", "step")

FULL_BATCH_EPOCHS = 10_000
SECOND_ORDER_ITERATIONS = 1_000
STOCHASTIC_EPOCHS = 1_000


@dataclass(frozen=True, slots=True)
class Schedule:
    """How the learning rate changes from epoch to epoch (epochs count from 0)."""

    kind: str = "constant"
    power_t: float = 0.25     # invscaling: lr / (1 + epoch) ** power_t
    step_every: int = 100     # step: multiply by step_factor every step_every epochs
    step_factor: float = 0.5

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
        return [lr] * (stop - start)

    def describe(self) -> str:
        if self.kind == "invscaling":
            return f"invscaling (lr / (1 + epoch)^{self.power_t:g})"
        if self.kind == "step":
            return f"step (×{self.step_factor:g} every {self.step_every} epochs)"
        return "constant"


@dataclass(frozen=True, slots=True)
class Options:
    """How to fit: the method, its rate and schedule, and when to stop."""

    method: str = "auto"                # auto: fitting.choose_method decides (lm, newton or gd)
    lr: float | None = None             # None: gdc chooses a step that does not diverge
    schedule: Schedule = Schedule()
    epochs: int | None = None           # None: FULL_BATCH_EPOCHS or STOCHASTIC_EPOCHS
    tol: float = 1e-10                  # relative loss change (0: never stop on it)...
    patience: int = 5                   # ...that must be missed this many epochs in a row
    gtol: float = 1e-6                  # gradient norm (2-norm, full batch; 0: never stop on it)
    batch_size: int | None = None       # minibatch: 32 when None; momentum/adam: full batch
    momentum: float = 0.9
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    seed: int = 0
    shuffle: bool = True
    tolerances_given: bool = False      # --tol/--gtol set by the user, not the defaults

    @property
    def stochastic(self) -> bool:
        return self.method in ("sgd", "minibatch") or self.batch_size is not None

    @property
    def max_epochs(self) -> int:
        if self.epochs is not None:
            return self.epochs
        if self.method in SECOND_ORDER:
            return SECOND_ORDER_ITERATIONS
        return STOCHASTIC_EPOCHS if self.stochastic else FULL_BATCH_EPOCHS

    def with_tolerances(self, tol: float | None, gtol: float | None) -> "Options":
        """These options with the tolerances the user gave (None: the defaults)."""
        if tol is None and gtol is None:
            return self
        return dataclasses.replace(self, tol=self.tol if tol is None else tol,
                                   gtol=self.gtol if gtol is None else gtol, tolerances_given=True)

    def validate(self) -> "Options":
        """Raise a GdcError naming the option for a value that cannot work."""
        if self.method not in METHODS:
            raise _option_error("--method", f"unknown method {self.method!r}",
                                f"choose one of {', '.join(METHODS)}", self.method, METHODS)
        if self.schedule.kind not in SCHEDULES:
            raise _option_error("--schedule", f"unknown schedule {self.schedule.kind!r}",
                                f"choose one of {', '.join(SCHEDULES)}", self.schedule.kind, SCHEDULES)
        _positive("--lr", self.lr, allow_none=True)
        _positive("--epochs", self.epochs, allow_none=True)
        _positive("--batch-size", self.batch_size, allow_none=True)
        _positive("--eps", self.eps)
        _positive("--step-every", self.schedule.step_every)
        _positive("--patience", self.patience)
        for name, value in (("--tol", self.tol), ("--gtol", self.gtol),
                            ("--power-t", self.schedule.power_t)):
            if not (math.isfinite(value) and value >= 0):
                raise GdcError(f"must be a number ≥ 0, not {value!r}", where=name)
        for name, value in (("--momentum", self.momentum), ("--beta1", self.beta1),
                            ("--beta2", self.beta2), ("--step-factor", self.schedule.step_factor)):
            if not 0 <= value < 1 and not (name == "--step-factor" and value == 1):
                raise GdcError(f"must be in [0, 1), not {value!r}", where=name)
        if self.method == "sgd" and self.batch_size is not None:
            raise GdcError("sgd updates after every row; --batch-size is for minibatch, "
                           "momentum and adam", where="--batch-size",
                           hint="use --method minibatch --batch-size N")
        if self.method in ("gd", "auto") and self.batch_size is not None:
            what = "gd uses" if self.method == "gd" else "--method auto chooses lm, newton or gd, which use"
            raise GdcError(f"{what} the full batch", where="--batch-size",
                           hint="use --method minibatch --batch-size N for mini-batch gradient descent")
        if self.method in SECOND_ORDER:
            for name, given in (("--lr", self.lr is not None), ("--batch-size", self.batch_size is not None),
                                ("--schedule", self.schedule.kind != "constant"),
                                ("--tol/--gtol", self.tolerances_given)):
                if given:
                    raise GdcError(f"{self.method} chooses its own steps from second derivatives, uses "
                                   "the full batch and stops at full precision; "
                                   f"{name} is for the first-order methods",
                                   where=name, hint=f"leave {name} out, or use --method gd")
        if self.nesterov and self.method != "momentum":
            raise GdcError("--nesterov applies to --method momentum only", where="--nesterov")
        return self


def _positive(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or value <= 0:
        raise GdcError(f"must be a positive number, not {value!r}", where=name)


def _option_error(name: str, message: str, fallback: str, value: str, choices) -> GdcError:
    guess = difflib.get_close_matches(value, choices, n=1)
    return GdcError(message, where=name, hint=f"did you mean {guess[0]!r}?" if guess else fallback)
