"""Pictures of a fit (matplotlib, Agg, no pyplot state): the loss curve, the data with the
fitted curve, the loss surface with the optimizer's path, and the learning-rate sweep."""

from __future__ import annotations

import io
import os
import textwrap

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # FitResult.plot draws through this module
    from .problem import FitResult, Problem

SURFACE_ROWS = 50_000   # the loss surface is evaluated on at most this many rows
SCATTER_POINTS = 5_000  # and at most this many are drawn
GRID = 90


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


# The picture's format follows the file's extension; anything else is a PNG.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def _save(fig, path: str | os.PathLike, inputs=()) -> None:
    from gdc.io.files import write_atomic
    from gdc.io.files import guard_output
    buffer = io.BytesIO()
    fig.savefig(buffer, format=FORMATS.get(os.path.splitext(os.fspath(path))[1].lower(), "png"))
    write_atomic(guard_output(path, list(inputs), "--plot"), buffer.getvalue())


def svg(fig) -> str:
    """The figure as SVG text, for a page or a notebook: text as paths (no fonts needed) and
    no metadata, so the same figure gives the same text."""
    from matplotlib import rc_context
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "path", "svg.hashsalt": "gdc"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


class Picture:
    """A drawn figure: a notebook shows it (SVG); `save(path)` writes it (.png, .svg or .pdf)."""

    def __init__(self, figure):
        self.figure = figure

    def _repr_svg_(self) -> str:
        return svg(self.figure)

    def save(self, path: str | os.PathLike) -> None:
        _save(self.figure, path)


def _label(problem: Problem, name: str) -> str:
    column = problem.columns[problem.kernels.data_names.index(name)]
    return name if column == name else f"{name} ({column})"


def _positive(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and bool((finite > 0).all())


def _loss_axes(ax, result: FitResult, color: str = "C0", title: str | None = None) -> None:
    """The loss per epoch; log scale when the loss is positive (so linear convergence is a line)."""
    from matplotlib.ticker import MaxNLocator
    history = result.history
    epochs = np.arange(len(history))
    finite = np.isfinite(history)
    marker = "o" if len(history) <= 60 else None
    ax.plot(epochs[finite], history[finite], color=color, marker=marker, markersize=3, linewidth=1.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if result.reason == "diverged" and len(history) > 1:
        last = np.flatnonzero(finite)[-1] if finite.any() else 0
        ax.plot([epochs[last]], [history[last]], "x", color="C3", markersize=10, mew=2.5)
        ax.annotate("diverged", (epochs[last], history[last]), textcoords="offset points",
                    xytext=(-8, -14), ha="right", color="C3", fontweight="bold")
    if _positive(history):
        ax.set_yscale("log")
    ax.set_xlabel("epoch" if result.lr is not None else "iteration")
    ax.set_ylabel("loss" + (" (log scale)" if ax.get_yscale() == "log" else ""))
    ax.set_title(title or "loss per epoch")
    ax.grid(True, which="major", alpha=0.3)


def _rows(problem: Problem, limit: int) -> np.ndarray | None:
    """A fixed sample of row indices when the data has more than `limit` rows, else None."""
    if problem.n_rows <= limit:
        return None
    return np.sort(np.random.default_rng(0).choice(problem.n_rows, limit, replace=False))


def _data_axes(ax, result: FitResult, problem: Problem) -> bool:
    """The data and the fitted curve, for a model with one input and one other data column."""
    k = problem.kernels
    targets = [name for name in k.data_names if name not in k.input_names]
    if len(k.input_names) != 1 or len(targets) != 1:
        return False
    (x_name,), (y_name,) = k.input_names, targets
    x, y = problem.column(x_name), problem.column(y_name)
    rows = _rows(problem, SCATTER_POINTS)
    shown = (x, y) if rows is None else (x[rows], y[rows])
    note = "" if rows is None else f" ({SCATTER_POINTS} of {problem.n_rows} rows)"
    ax.scatter(*shown, s=14 if rows is None else 4, alpha=0.75 if rows is None else 0.3,
               color="C0", label=f"data{note}", edgecolors="none")
    grid = np.linspace(float(x.min()), float(x.max()), 300)
    params = np.array(list(result.params.values()))
    fitted = k.predict(params, grid)
    formula = k.model_formula or "the model"
    ax.plot(grid, fitted, color="C3", linewidth=2, label=f"fitted {formula}")
    ax.set_xlabel(_label(problem, x_name))
    ax.set_ylabel(_label(problem, y_name))
    ax.set_title("data and fitted model")
    ax.legend(loc="best", fontsize="small", frameon=False)
    ax.grid(True, alpha=0.3)
    return True


def _surface_axes(ax, result: FitResult, problem: Problem) -> bool:
    """Contours of the loss over the two parameters, and the path the optimizer took."""
    if result.path is None or result.path.shape[1] != 2:
        return False
    path = result.path[np.isfinite(result.path).all(axis=1)]
    if len(path) == 0:
        return False
    names = list(result.layout.element_names if result.layout is not None else result.params)
    lows, highs = path.min(axis=0), path.max(axis=0)
    span = np.maximum(highs - lows, np.maximum(1e-3, 0.1 * np.abs(highs)))
    lows, highs = lows - 0.15 * span, highs + 0.15 * span
    a = np.linspace(lows[0], highs[0], GRID)
    b = np.linspace(lows[1], highs[1], GRID)
    rows = _rows(problem, SURFACE_ROWS)
    data = problem.data if rows is None else tuple(column[rows] for column in problem.data)
    loss = problem.kernels.loss
    z = np.empty((GRID, GRID))
    point = np.empty(2)
    for i, bi in enumerate(b):
        point[1] = bi
        for j, aj in enumerate(a):
            point[0] = aj
            z[i, j] = loss(point, *data)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return False
    z = np.where(np.isfinite(z), z, finite.max())
    if finite.min() > 0 and finite.max() / finite.min() > 20:
        from matplotlib.colors import LogNorm
        levels = np.geomspace(finite.min(), finite.max(), 25)
        filled = ax.contourf(a, b, z, levels=levels, norm=LogNorm(), cmap="viridis")
        scale = " (log scale)"
    else:
        filled = ax.contourf(a, b, z, levels=25, cmap="viridis")
        scale = ""
    ax.contour(a, b, z, levels=filled.levels, colors="white", linewidths=0.3, alpha=0.5)
    ax.figure.colorbar(filled, ax=ax, label="loss" + scale, format="%.3g")
    ax.plot(path[:, 0], path[:, 1], color="white", linewidth=1.2, alpha=0.9)
    ax.plot(path[:, 0], path[:, 1], "o", color="C1", markersize=2.5 if len(path) > 60 else 4)
    ax.plot(*path[0], "o", color="white", markeredgecolor="black", markersize=8, label="start")
    ax.plot(*path[-1], "*", color="C3", markeredgecolor="black", markersize=14, label="end")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    sampled = "" if rows is None else f", on {SURFACE_ROWS} of {problem.n_rows} rows"
    ax.set_title(f"loss surface and the path of {result.method}{sampled}")
    ax.legend(loc="best", fontsize="small")
    return True


def plot_fit(result: FitResult, problem: Problem, path: str | os.PathLike) -> None:
    """Write `fit_figure` to `path`."""
    _save(fit_figure(result, problem), path)


def fit_figure(result: FitResult, problem: Problem):
    """The loss curve, then the data panel (one scalar input) and the surface panel (two
    parameter values) when they apply."""
    panels = ["loss"]
    k = problem.kernels
    if not result.reason.failed:   # no parameters worth drawing otherwise
        # One scalar input against one target; a data vector has no such picture.
        if len(k.input_names) == 1 and len(k.data_names) == 2 and not any(k.data_shapes):
            panels.append("data")
        if result.path is not None and result.path.shape[1] == 2:
            panels.append("surface")
    fig = _figure(5.2 * len(panels) + (0.8 if "surface" in panels else 0), 4.4)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    if result.lr is None:  # second-order methods take steps, not a learning rate
        title = f"loss per iteration — {result.method}"
    else:
        title = f"loss per epoch — {result.method}, lr {result.lr:.3g}" + (" (automatic)" if result.lr_note else "")
    _loss_axes(axes[0], result, title=title)
    for ax, panel in zip(axes[1:], panels[1:]):
        if panel == "data":
            _data_axes(ax, result, problem)
        else:
            _surface_axes(ax, result, problem)
    name = os.path.basename(problem.model_source) if problem.model_source else "model"
    # Wrapped to the figure: a one-panel figure (a data vector's) is narrow for a long message.
    title = textwrap.fill(f"{name} on {os.path.basename(problem.source)}: {result.message}",
                          int(13 * fig.get_figwidth()))
    fig.suptitle(title, fontsize="medium")
    return fig


def plot_sweep(results: list[FitResult], problem: Problem, path: str | os.PathLike) -> None:
    """Write `sweep_figure` to `path`."""
    _save(sweep_figure(results, problem), path)


def sweep_figure(results: list[FitResult], problem: Problem):
    """One loss curve per learning rate, side by side, on a shared scale."""
    fig = _figure(max(6.0, 3.3 * len(results)), 3.9)
    axes = fig.subplots(1, len(results), squeeze=False, sharey=True)[0]
    for j, (ax, result) in enumerate(zip(axes, results)):
        if result.reason == "diverged":
            outcome = f"diverged at epoch {result.iterations}"
        elif result.converged:
            outcome = f"converged in {result.iterations} epochs"
        else:
            outcome = f"not converged ({result.iterations} epochs)"
        color = "C7" if result.reason == "diverged" else f"C{(0, 1, 2, 4, 5, 6, 8, 9)[j % 8]}"
        _loss_axes(ax, result, color=color, title=f"lr = {result.lr:g}\n{outcome}")
        if result.reason == "diverged":
            ax.title.set_color("C3")
        if j:
            ax.set_ylabel("")
    name = os.path.basename(problem.model_source) if problem.model_source else "model"
    method = results[0].method if results else ""
    fig.suptitle(f"learning-rate sweep: {method} on {name}, {os.path.basename(problem.source)}",
                 fontsize="medium")
    return fig
