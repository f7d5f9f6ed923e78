"""What a fit takes and gives: the Problem (kernels bound to data columns) and the FitResult."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from gdc.errors import GdcError
from gdc.io.arrays import select
from gdc.runtime.kernels import Kernels
from gdc.runtime.layout import Layout
from .reasons import Stop


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    """A compiled model and the data columns its kernels take, in their order."""

    kernels: Kernels
    data: tuple[np.ndarray, ...]
    columns: tuple[str, ...]       # where each data name came from (a column name, or the key)
    source: str                    # the data file, or "<arrays>"
    n_rows: int
    dropped: int = 0
    unused: tuple[str, ...] = ()   # columns of the file that the model does not use
    model_source: str | None = None  # the model file, when the model was given as a path
    model_hash: str = ""           # the model's identity: its text and names (model_identity)
    classified_by: tuple[tuple[str, ...], str] = ((), "")  # the names and origin given to the checker
    layout: Layout | None = None   # the parameters' shapes and places, sizes bound by this data
    model_text: str | None = field(default=None, repr=False)   # the model, when given as text or a file
    box: object | None = None      # bounds.Box: bounds and fixed values per element, set by run (None: free)
    # Measurement errors (--sigma): each residual divided by its row's σ (gdc.fitting.weights).
    sigma: np.ndarray | None = field(default=None, repr=False)
    sigma_column: str | None = None
    absolute_sigma: bool = False      # the covariance is (JᵀJ)⁻¹, not s²(JᵀJ)⁻¹ (curve_fit's meaning)
    # Where the data live and the kernels run: "cpu" (numpy arrays in this process); the
    # scale-out and GPU backends (issues 18, 19) name theirs, and `run` refuses what they cannot do.
    backend: str = "cpu"

    @property
    def reads(self) -> bool:
        """Whether every pass reads the data afresh (files streamed, Dask workers): a pass then
        costs its reading, whatever it computes, and a method should make each one count."""
        return self.backend in ("stream", "dask")

    def column(self, name: str) -> np.ndarray:
        return self.data[self.kernels.data_names.index(name)]

    @property
    def params_layout(self) -> Layout:
        return self.layout if self.layout is not None else self.kernels.layout(self.data, self.source)

    @property
    def flat_kernels(self) -> Kernels:
        """The kernels as a model of one scalar parameter per element (the kernels for a scalar model)."""
        return self.kernels.flat(self.params_layout)


@dataclass(frozen=True, slots=True, eq=False)
class FitResult:
    """What a fit found and how it stopped. `history[k]` is the full-batch loss after k epochs."""

    params: dict[str, float | np.ndarray]   # a shaped parameter's value is an array of its shape
    loss: float
    iterations: int                  # epochs completed (for gd: steps taken)
    converged: bool                  # reason.converged: a test the method cannot fool holds here
    reason: Stop
    seconds: float
    method: str
    lr: float | None                 # the learning rate of the first epoch
    history: np.ndarray = field(repr=False)
    message: str = ""                # the reason, in words
    grad_norm: float = math.nan
    lr_note: str | None = None       # how the rate was chosen, when gdc chose it
    schedule: str = "constant"
    updates: int = 0                 # parameter updates made
    path: np.ndarray | None = field(default=None, repr=False)  # params per epoch (≤ 2 params)
    model_hash: str = ""
    n_rows: int = 0
    load_seconds: float = 0.0        # numba compiling or loading the kernels, before the fit
    method_note: str | None = None   # why --method auto chose this method
    stats: object | None = None      # statistics.LeastSquaresStats, for a least-squares loss
    layout: Layout | None = None     # the parameters' shapes; stats and path are per element
    notes: tuple[str, ...] = ()      # what the report leaves out, and why
    advice: str = ""                 # what to try, when the fit did not converge
    gap: float = math.nan            # the estimated loss above the minimum, when a certificate was computed
    problem: Problem | None = field(default=None, repr=False)   # what gdc.fit fitted: for predict, save, plot
    held: tuple[str, ...] = ()       # per element: "fixed", "at lower bound 0", … or "" (bounds.Box.held)
    intervals: object | None = None  # intervals.Intervals, when asked for (--ci, gdc.fit(ci=...))
    box: object | None = field(default=None, repr=False)   # bounds.Box the fit kept to: profiles keep to it too

    def __str__(self) -> str:
        from .report import result_text
        return result_text(self)

    # For Python and notebooks: statistics by parameter name, predictions, the JSON object
    # and file of the command line, pictures and an HTML table (gdc.fitting.result does the work).

    @property
    def certified(self) -> bool:
        """Converged, and the gap to a minimum estimated within its claim at the answer (`gap`).
        A converged fit without it (`not certified: …` in its message: certify=False, or too
        many parameters for an estimate) has only its stop rule to vouch for it."""
        return self.converged and math.isfinite(self.gap)

    @property
    def std_errors(self) -> dict[str, float | np.ndarray] | None:
        """Each parameter's standard error (an array of its shape for a vector or matrix); None
        when the loss is not least squares."""
        from .result import by_name
        return None if self.stats is None else by_name(self, self.stats.std_errors)

    @property
    def covariance(self) -> np.ndarray | None:
        """The parameters' covariance matrix (least squares; one row per element of the flat
        parameter vector, in the order of `layout.element_names`); None for other losses."""
        return None if self.stats is None else getattr(self.stats, "covariance", None)

    @property
    def correlation(self) -> np.ndarray | None:
        """covariance[j, k] / (σⱼ·σₖ); None for other losses."""
        return None if self.stats is None else getattr(self.stats, "correlation", None)

    def conf_int(self, level: float = 0.95, profile: bool = False) -> dict:
        """Each parameter's (low, high) confidence interval at `level` (arrays of its shape for a
        vector or matrix): asymptotic, value ± t·standard error with Student's t at N − p
        degrees of freedom; with profile=True by profile likelihood, as lmfit's conf_interval.
        NaN for an end that is not known and for a parameter fixed or at a bound (no interval);
        with gdc.fit(..., ci="profile") `result.intervals.notes(k)` says why for element k."""
        from .intervals import asymptotic, profile as profiled
        found = (profiled if profile else asymptotic)(self, level)
        from .result import by_name
        low, high = by_name(self, found.low), by_name(self, found.high)
        return {name: (low[name], high[name]) for name in low}

    rss = property(lambda self: None if self.stats is None else self.stats.rss,
                   doc="The residual sum of squares of a least-squares fit (None for other losses).")
    residual_sd = property(lambda self: None if self.stats is None else self.stats.sigma,
                           doc="√(RSS / degrees of freedom) of a least-squares fit.")
    dof = property(lambda self: None if self.stats is None else self.stats.dof,
                   doc="The degrees of freedom: rows less parameter values (least squares).")
    condition = property(lambda self: None if self.stats is None else self.stats.condition,
                         doc="The condition number of the scaled JᵀJ (least squares).")
    warnings = property(lambda self: () if self.stats is None else self.stats.warnings,
                        doc="Why a least-squares fit may be poorly determined.")

    def predict(self, data, *, mapping: Mapping[str, str] | None = None) -> np.ndarray:
        """The model's prediction for each row of `data` (a file, a DataFrame or named arrays);
        inputs are found by name, or by the fit's columns, or by `mapping`."""
        from .result import predict
        return predict(self, read_data(data), mapping)

    def to_dict(self) -> dict:
        """The object `gdc fit --json` prints."""
        from .report import result_json
        return result_json(self)

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters file of `gdc fit --save` (read back by gdc.load_result, gdc predict)."""
        from .result import save
        save(self, path)

    def plot(self, path: str | os.PathLike | None = None):
        """The pictures of `gdc fit --plot`: written to `path` (.png, .svg or .pdf), or returned
        as a Picture that a notebook shows."""
        from .result import plot
        return plot(self, path)

    def _repr_html_(self) -> str:
        from .html import result_html
        return result_html(self)


class FitFailed(GdcError):
    """A fit with no parameters worth reporting (reason.failed: the loss diverged or is unbounded
    below, or the start is undefined or a saddle); `result` holds what there is."""

    def __init__(self, result: FitResult):
        super().__init__(result.message, where="gdc fit", hint=result.advice or divergence_hint(result))
        self.result = result


FitDiverged = FitFailed   # its name before other failures joined divergence


def divergence_hint(result: FitResult) -> str:
    if result.lr is None or result.lr_note is not None:
        return "the data may hold extreme values, or the model may have no minimum"
    return (f"use a smaller learning rate, e.g. --lr {result.lr / 10:.3g} (10× smaller), "
            "or leave --lr out to let gdc choose one")


@dataclass(frozen=True, slots=True)
class DataIn:
    """Data as given, before the model is known: a table read from a file, or named arrays."""

    source: str                         # the data file, or "<arrays>"
    names: tuple[str, ...]              # its column names (or the mapping's keys)
    origin: str                         # where the names came from, for the checker's messages
    table: object | None = None         # gdc.io.data.Table, for a file
    columns: Mapping[str, np.ndarray] | None = None   # for named arrays
    dropped: int = 0
    frame_drop: bool | None = None      # a DataFrame: its rows are checked once bound (True: drop)


def read_data(data, drop_nonfinite: bool = False) -> DataIn:
    """A data file (path), a DataFrame (pandas, polars, pyarrow) or a mapping of names to
    arrays, read and checked (a frame's rows once bound), not yet bound."""
    from gdc.io.arrays import columns_of
    from gdc.io.data import read_table
    from gdc.io.frames import frame_kind, frame_table

    kind = frame_kind(data)
    if kind is not None:   # converted column by column when bound: pandas loads only for its own frames
        table = frame_table(data, kind)
        return DataIn(table.path, table.names, "the frame's columns", table=table, frame_drop=drop_nonfinite)
    if isinstance(data, (str, os.PathLike)):
        table = read_table(data, drop_nonfinite=drop_nonfinite)
        origin = "the CSV header" if table.path.lower().endswith(".csv") else "the data file's columns"
        return DataIn(table.path, tuple(table.names), origin, table=table, dropped=table.dropped)
    columns, dropped = columns_of(data, drop_nonfinite)
    return DataIn("<arrays>", tuple(columns), "the data's keys", columns=columns, dropped=dropped)


def bind(kernels: Kernels, data: DataIn, mapping: Mapping[str, str], *, model_source: str | None,
         text: str | None, classified_by: tuple[tuple[str, ...], str], sigma: str | None = None,
         absolute_sigma: bool = False) -> Problem:
    """The Problem: each of the kernels' data names bound to its column(s), in their order;
    `sigma` names the column of measurement errors, read with them (rows dropped alike)."""
    from gdc.io.data import bound_columns, gather
    from gdc.io.frames import checked_rows

    dropped = data.dropped
    shapes = dict(zip(kernels.data_names, kernels.data_shapes))
    names = kernels.data_names + ((sigma,) if sigma is not None and sigma not in kernels.data_names else ())
    labels = dict(kernels.labels)
    if labels:   # `data Y[K] from label`: the label column, bound as a scalar, made one-hot below
        mapping = {**{n: c for n, c in labels.items() if data.table is not None or c in data.columns},
                   **mapping}
        shapes = {n: s for n, s in shapes.items() if n not in labels}
    if data.table is not None:
        bound = bound_columns(data.table, names, mapping, shapes)
        chosen = gather(data.table, bound, shapes)
        if data.frame_drop is not None:
            chosen, dropped = checked_rows(chosen, bound, data.frame_drop, data.source)
        used = [":".join(bound[name]) for name in kernels.data_names]
        taken = {column for columns in bound.values() for column in columns}
    else:
        chosen = select(data.columns, names, mapping)
        used = [mapping.get(name, name) for name in kernels.data_names]
        taken = set(used) | ({sigma} if sigma is not None else set())
    unused = tuple(n for n in data.names if n not in taken)
    for name, column in labels.items():
        from gdc.io.labels import one_hot
        (size,) = kernels.data_shapes[kernels.data_names.index(name)]
        chosen[name] = one_hot(chosen[name], size if isinstance(size, int) else None, name,
                               mapping.get(name, column), data.source)
    columns = tuple(np.ascontiguousarray(chosen[name], dtype=np.float64) for name in kernels.data_names)
    layout = kernels.layout(columns, data.source if data.table is not None else "gdc.fit")
    errors = None
    if sigma is not None:
        from .weights import checked_sigma
        errors = checked_sigma(chosen[sigma], sigma, data.source)
    return Problem(kernels, columns, tuple(used), data.source, len(columns[0]) if columns else 0,
                   dropped, unused, model_source, model_identity(text, kernels), classified_by, layout,
                   text, sigma=errors, sigma_column=sigma, absolute_sigma=absolute_sigma)


def model_identity(text: str | None, kernels: Kernels) -> str:
    """What a saved parameter file is checked against: a hash of the model text (blanks and
    comments aside) and of which names are parameters and data. Unlike the kernels' cache key,
    it survives a new gdc or numba version, which does not change what the parameters mean."""
    if text is None:
        return kernels.model_hash
    from gdc.runtime.cache import normalize
    key = json.dumps([normalize(text), kernels.param_names, kernels.data_names])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
