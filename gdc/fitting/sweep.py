"""The learning-rate experiment: one fit per rate on one Problem, kept together (diverged ones
too) so that it prints as `gdc lr-sweep` does, shows as a table in a notebook, and draws."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import numpy as np

from gdc.errors import GdcError

from .options import Options
from .problem import FitResult, Problem
from .run import run


@dataclass(frozen=True, eq=False)
class Sweep:
    """The fits of one model and data at several learning rates, in the order given."""

    results: tuple[FitResult, ...]
    problem: Problem

    def __iter__(self) -> Iterator[FitResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> FitResult:
        return self.results[index]

    def __str__(self) -> str:
        from .report import sweep_text
        return sweep_text(list(self.results))

    def to_list(self) -> list[dict]:
        """What `gdc lr-sweep --json` prints: one object per rate."""
        from .report import result_json
        return [result_json(r) for r in self.results]

    def plot(self, path: str | os.PathLike | None = None):
        """The loss curves side by side: written to `path`, or returned as a Picture."""
        from .plot import Picture, plot_sweep, sweep_figure
        if path is not None:
            plot_sweep(list(self.results), self.problem, path)
            return None
        return Picture(sweep_figure(list(self.results), self.problem))

    def _repr_html_(self) -> str:
        from .html import sweep_html
        return sweep_html(self.results)


def rates_of(lr) -> list[float]:
    """gdc.sweep's `lr`: one or more positive numbers (checked here; each fit checks its own)."""
    given = [lr] if isinstance(lr, (int, float)) else lr
    try:
        if isinstance(lr, (str, bytes)):   # iterable, but lr="12" is not the rates 1 and 2
            raise TypeError
        rates = [float(rate) for rate in given]
    except (TypeError, ValueError):
        raise GdcError(f"lr must be a list of numbers, not {lr!r}", where="lr", hint="e.g. lr=[0.001, 0.01, 0.1]") from None
    if not rates:
        raise GdcError("give at least one learning rate", where="lr", hint="e.g. lr=[0.001, 0.01, 0.1]")
    return rates


def run_sweep(problem: Problem, options: Options, rates: Sequence[float],
              init: Mapping[str, float] | None = None, bounds: Mapping[str, object] | None = None,
              fixed: Mapping[str, float] | None = None) -> Sweep:
    """Fit once per rate, from the same start, with the same options (and box) otherwise."""
    results = tuple(dataclasses.replace(run(problem, dataclasses.replace(options, lr=rate).validate(),
                                            init=init, bounds=bounds, fixed=fixed), problem=problem)
                    for rate in rates)
    return Sweep(results, problem)


# The rates of the default experiment, as fractions of 2/λmax, the largest rate at which gradient
# descent is stable near the minimum of a quadratic: slow, good, oscillating, diverging.
RATE_FRACTIONS = (0.05, 0.5, 0.9, 1.1)


def suggested_rates(problem: Problem, params: np.ndarray) -> tuple[list[float], float]:
    """Rates that tell the learning-rate story for this problem, and λmax at `params` (the flat
    minimum of a fit), found by power iteration on gradient differences."""
    from .optimizers import Objective, curvature
    kernels = problem.kernels.flat(problem.params_layout)
    lam = curvature(Objective(kernels, problem.data), np.asarray(params, dtype=np.float64))
    if not (math.isfinite(lam) and lam > 0):
        return [], lam
    return [float(f"{fraction * 2.0 / lam:.2g}") for fraction in RATE_FRACTIONS], lam
