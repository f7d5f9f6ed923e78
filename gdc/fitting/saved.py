"""A FitResult rebuilt from the parameters file `--save` writes: the parameters, the report
the file holds under "fit" (with the parameters a box held: fixed, or at a bound), and the
kernels it was fitted with (no data, no loss history)."""

from __future__ import annotations

import math

import numpy as np

from gdc.runtime.kernels import Kernels
from .reasons import Stop
from .problem import FitResult, Problem
from .statistics import LeastSquaresStats
from .uncertainty import restored


def _float(value) -> float:
    return math.nan if value is None else float(value)   # JSON's null stands for NaN or inf


def restore(doc: dict, kernels: Kernels, where: str, model_source: str | None,
            model_text: str | None) -> FitResult:
    """The result a parameters file describes; `where` is the file (for messages)."""
    layout = kernels.layout(known=doc.get("sizes") or {})
    params = layout.unflatten(layout.flatten(doc["params"], where))
    fit = doc.get("fit") or {}
    known = doc.get("classified_by") or {}
    columns = doc.get("columns") or {}
    problem = Problem(kernels, (), tuple(columns.get(name, name) for name in kernels.data_names),
                      where, int(fit.get("n_rows", 0)), model_source=model_source,
                      model_hash=doc.get("model_hash", ""),
                      classified_by=(tuple(known.get("names") or ()), known.get("origin", "")),
                      layout=layout, model_text=model_text)
    stats = None
    covariance, intervals = restored(fit, layout.element_names)
    if "rss" in fit:
        stats = LeastSquaresStats(_float(fit["rss"]), int(fit["dof"]), _float(fit["residual_sd"]),
                                  tuple(_float(e) for e in fit["std_errors"].values()),
                                  _float(fit["condition"]), tuple(fit.get("warnings", ())), covariance,
                                  bool(fit.get("absolute_sigma", False)))
    converged = bool(doc.get("converged", fit.get("converged", False)))
    saved_held = fit.get("held") or {}   # element name -> "fixed", "at lower bound 0", …
    held = tuple(str(saved_held.get(name, "")) for name in layout.element_names) if saved_held else ()
    return FitResult(
        params=params, loss=_float(doc.get("loss")), iterations=int(fit.get("iterations", 0)),
        converged=converged, reason=_stop(fit.get("reason")), seconds=float(fit.get("seconds", 0.0)),
        method=doc.get("method", fit.get("method", "")), lr=fit.get("lr"), history=np.empty(0),
        message=fit.get("message", f"loaded from {where}, which does not say how the fit stopped"),
        grad_norm=_float(fit.get("grad_norm")), lr_note=fit.get("lr_note"),
        schedule=fit.get("schedule", "constant"), updates=int(fit.get("updates", 0)),
        model_hash=fit.get("model_hash", kernels.model_hash), n_rows=int(fit.get("n_rows", 0)),
        method_note=fit.get("method_auto"), stats=stats, layout=layout,
        notes=tuple(fit.get("notes", ())), advice=fit.get("advice", ""),
        gap=_float(fit.get("gap", math.nan)), problem=problem, intervals=intervals, held=held)


def _stop(value) -> Stop:
    """The saved reason as a Stop; files from older gdc, or without a report, say LOADED."""
    try:
        return Stop(value)
    except ValueError:
        return Stop.LOADED
