"""Score nonlinear least-squares fitters on the 27 NIST StRD problems (both NIST starts).

    python benchmarks/bench_nist.py [--repeat 3] [--problems Misra1a,MGH09] [--markdown]

Needs scipy (not a gdc dependency). The problems live in tests/data/nist/ (NAME.csv,
NAME.json, NAME.gd): see tests/data/nist/README.md. Every method runs at
its defaults from NIST start 1 and start 2; a fit is scored by the LRE (log relative error)
of its parameters against the certified values,

    LRE = min over parameters of  -log10(|estimate - certified| / |certified|),

capped at 11 (the certified values carry 11 digits) and floored at 0; a fit that raised or
returned a non-finite value scores 0. A (problem, start) pair is "solved" at LRE >= 6.
Time is the median wall time of --repeat runs (the parameters come from the first run).

Methods are entries of METHODS: callables taking (problem, start_index) and returning
(parameters, seconds); gdc's columns ("gdc auto", "gdc lm") compile each model once, outside
the timing (see gdc_method). A plain `fit(problem, start) -> params` is wrapped with `timed(fit)`.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.optimize import curve_fit, least_squares

NIST = Path(__file__).resolve().parent.parent / "tests" / "data" / "nist"

ORDER = ["Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b",
         "Kirby2", "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3", "Misra1c",
         "Misra1d", "Roszman1", "ENSO",
         "MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10", "Eckerle4", "Rat43", "Bennett5"]

LRE_CAP = 11.0
SOLVED = 6.0


# ---------------------------------------------------------------- models: f(b, X) -> prediction
# X is the predictor column (the 2 x n array [x1, x2] for Nelson). Written from the NIST
# formulas independently of gdc; tests/test_nist_data.py checks its own copy against the
# certified residual sums of squares.

def _lanczos(b, x):
    return b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x) + b[4] * np.exp(-b[5] * x)


def _gauss(b, x):
    return (b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-(x - b[3]) ** 2 / b[4] ** 2)
            + b[5] * np.exp(-(x - b[6]) ** 2 / b[7] ** 2))


def _cubic_cubic(b, x):
    return ((b[0] + b[1] * x + b[2] * x ** 2 + b[3] * x ** 3)
            / (1 + b[4] * x + b[5] * x ** 2 + b[6] * x ** 3))


def _enso(b, x):
    w = 2 * np.pi * x
    return (b[0] + b[1] * np.cos(w / 12) + b[2] * np.sin(w / 12)
            + b[4] * np.cos(w / b[3]) + b[5] * np.sin(w / b[3])
            + b[7] * np.cos(w / b[6]) + b[8] * np.sin(w / b[6]))


MODELS: dict[str, Callable] = {
    "Misra1a": lambda b, x: b[0] * (1 - np.exp(-b[1] * x)),
    "Chwirut2": lambda b, x: np.exp(-b[0] * x) / (b[1] + b[2] * x),
    "Chwirut1": lambda b, x: np.exp(-b[0] * x) / (b[1] + b[2] * x),
    "Lanczos3": _lanczos,
    "Gauss1": _gauss,
    "Gauss2": _gauss,
    "DanWood": lambda b, x: b[0] * x ** b[1],
    "Misra1b": lambda b, x: b[0] * (1 - (1 + b[1] * x / 2) ** -2),
    "Kirby2": lambda b, x: (b[0] + b[1] * x + b[2] * x ** 2) / (1 + b[3] * x + b[4] * x ** 2),
    "Hahn1": _cubic_cubic,
    "Nelson": lambda b, X: b[0] - b[1] * X[0] * np.exp(-b[2] * X[1]),
    "MGH17": lambda b, x: b[0] + b[1] * np.exp(-x * b[3]) + b[2] * np.exp(-x * b[4]),
    "Lanczos1": _lanczos,
    "Lanczos2": _lanczos,
    "Gauss3": _gauss,
    "Misra1c": lambda b, x: b[0] * (1 - (1 + 2 * b[1] * x) ** -0.5),
    "Misra1d": lambda b, x: b[0] * b[1] * x / (1 + b[1] * x),
    "Roszman1": lambda b, x: b[0] - b[1] * x - np.arctan(b[2] / (x - b[3])) / np.pi,
    "ENSO": _enso,
    "MGH09": lambda b, x: b[0] * (x ** 2 + x * b[1]) / (x ** 2 + x * b[2] + b[3]),
    "Thurber": _cubic_cubic,
    "BoxBOD": lambda b, x: b[0] * (1 - np.exp(-b[1] * x)),
    "Rat42": lambda b, x: b[0] / (1 + np.exp(b[1] - b[2] * x)),
    "MGH10": lambda b, x: b[0] * np.exp(b[1] / (x + b[2])),
    "Eckerle4": lambda b, x: (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2),
    "Rat43": lambda b, x: b[0] / (1 + np.exp(b[1] - b[2] * x)) ** (1 / b[3]),
    "Bennett5": lambda b, x: b[0] * (b[1] + x) ** (-1 / b[2]),
}


@dataclass
class Problem:
    """One NIST problem: data, starts and certified values (from tests/data/nist)."""

    name: str
    difficulty: str
    parameters: list[str]
    starts: tuple[np.ndarray, np.ndarray]   # NIST start 1, start 2
    certified: np.ndarray
    certified_rss: float
    X: np.ndarray          # predictors: x, or [x1, x2] for Nelson
    target: np.ndarray     # what the model is fitted to: y, or log(y) for Nelson
    columns: dict[str, np.ndarray] = field(repr=False)  # the CSV as read (raw y for Nelson)
    gd_path: Path = field(repr=False)

    def model(self, b, X=None) -> np.ndarray:
        return MODELS[self.name](b, self.X if X is None else X)

    def residuals(self, b) -> np.ndarray:
        return self.model(b) - self.target

    def rss(self, b) -> float:
        return float(np.sum(self.residuals(np.asarray(b, dtype=np.float64)) ** 2))


def load_problem(name: str) -> Problem:
    meta = json.loads((NIST / f"{name}.json").read_text())
    with open(NIST / f"{name}.csv", newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    columns = {h: np.array([float(r[j]) for r in rows[1:]]) for j, h in enumerate(rows[0])}
    if name == "Nelson":
        X, target = np.vstack([columns["x1"], columns["x2"]]), np.log(columns["y"])
    else:
        X, target = columns["x"], columns["y"]
    return Problem(name, meta["difficulty"], meta["parameters"],
                   (np.array(meta["start1"]), np.array(meta["start2"])),
                   np.array(meta["certified_values"]), meta["certified_rss"],
                   X, target, columns, NIST / f"{name}.gd")


def load_problems(names=None) -> list[Problem]:
    return [load_problem(n) for n in (names or ORDER)]


# ---------------------------------------------------------------- scoring

def lre(estimate, certified, cap: float = LRE_CAP) -> float:
    """Minimum over parameters of -log10(relative error), in [0, cap]; 0 for a failed fit."""
    if estimate is None:
        return 0.0
    estimate = np.asarray(estimate, dtype=np.float64)
    if estimate.shape != certified.shape or not np.all(np.isfinite(estimate)):
        return 0.0
    scores = []
    for est, cert in zip(estimate, certified):
        rel = abs(est - cert) / abs(cert)
        scores.append(cap if rel == 0 else min(cap, max(0.0, -math.log10(rel))))
    return min(scores)


# ---------------------------------------------------------------- methods

def timed(fit: Callable[[Problem, int], np.ndarray]) -> Callable[[Problem, int], tuple]:
    """Wrap fit(problem, start_index) -> params into the METHODS convention (params, seconds)."""
    def run(problem: Problem, start: int):
        t = time.perf_counter()
        params = fit(problem, start)
        return params, time.perf_counter() - t
    run.__name__ = getattr(fit, "__name__", "fit")
    return run


def scipy_least_squares(method: str) -> Callable[[Problem, int], np.ndarray]:
    def fit(problem: Problem, start: int) -> np.ndarray:
        return least_squares(problem.residuals, problem.starts[start], method=method).x
    fit.__name__ = f"least_squares_{method}"
    return fit


def scipy_curve_fit(problem: Problem, start: int) -> np.ndarray:
    params, _ = curve_fit(lambda X, *b: problem.model(b, X), problem.X, problem.target,
                          p0=problem.starts[start])
    return params


_GDC: dict[str, object] = {}


def gdc_method(method: str) -> Callable[[Problem, int], tuple]:
    """gdc's fit at its defaults (`gdc.fitting.run.run` with only --method set). The kernels are
    compiled (or loaded from gdc's cache) once per problem, outside the timing; the time is
    that of the whole run() call: the warm-up kernel call, the fit, and the standard errors."""
    from gdc.api import prepare
    from gdc.fitting.run import run as gdc_run
    from gdc.fitting.options import Options

    def fit(problem: Problem, start: int):
        if problem.name not in _GDC:
            _GDC[problem.name] = prepare(problem.gd_path, NIST / f"{problem.name}.csv")
        prepared = _GDC[problem.name]
        init = dict(zip(prepared.kernels.param_names, problem.starts[start].tolist()))
        t = time.perf_counter()
        result = gdc_run(prepared, Options(method=method), init=init)
        seconds = time.perf_counter() - t
        return np.array(list(result.params.values())), seconds
    fit.__name__ = f"gdc_{method}"
    return fit


METHODS: dict[str, Callable[[Problem, int], tuple]] = {
    "gdc auto": gdc_method("auto"),
    "gdc lm": gdc_method("lm"),
    "scipy lm": timed(scipy_least_squares("lm")),
    "scipy trf": timed(scipy_least_squares("trf")),
    "curve_fit": timed(scipy_curve_fit),
}


@dataclass
class Result:
    problem: str
    difficulty: str
    start: int            # 1 or 2, as NIST numbers them
    method: str
    lre: float
    seconds: float        # median over the repeats; nan when the fit raised
    error: str | None = None


def run_one(problem: Problem, start_index: int, name: str, method, repeat: int) -> Result:
    times, params, error = [], None, None
    for i in range(repeat):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                p, seconds = method(problem, start_index)
        except Exception as exc:  # a fit that raises scores 0
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
            break
        times.append(seconds)
        if i == 0:
            params = p
    score = 0.0 if error else lre(params, problem.certified)
    return Result(problem.name, problem.difficulty, start_index + 1, name, score,
                  statistics.median(times) if times and not error else math.nan, error)


def run(problems, methods, repeat: int = 3, progress=None) -> list[Result]:
    results = []
    for problem in problems:
        for start in (0, 1):
            for name, method in methods.items():
                results.append(run_one(problem, start, name, method, repeat))
            if progress:
                progress(problem, start)
    return results


# ---------------------------------------------------------------- report

def _fmt_time(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} us"


def table(results: list[Result], methods: list[str], markdown: bool) -> str:
    by_key = {(r.problem, r.start, r.method): r for r in results}
    pairs = list(dict.fromkeys((r.problem, r.difficulty, r.start) for r in results))
    header = (["problem", "level", "start"] + [f"LRE {m}" for m in methods]
              + [f"time {m}" for m in methods])
    lines = []
    for problem, level, start in pairs:
        rs = [by_key[(problem, start, m)] for m in methods]
        lines.append([problem, level, str(start)] + [f"{r.lre:.1f}" for r in rs]
                     + [_fmt_time(r.seconds) for r in rs])
    if markdown:
        out = ["| " + " | ".join(header) + " |",
               "|" + "|".join(["---"] * 3 + ["---:"] * (2 * len(methods))) + "|"]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(row[j]) for row in [header] + lines) for j in range(len(header))]
    fmt = lambda row: "  ".join(c.ljust(w) if j < 3 else c.rjust(w)  # noqa: E731
                                for j, (c, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in lines])


def summary(results: list[Result], methods: list[str], markdown: bool) -> str:
    levels = ["lower", "average", "higher"]
    header = ["method", f"solved (LRE >= {SOLVED:g})"] + levels + ["LRE >= 4", "raised",
                                                                  "total time"]
    rows = []
    for m in methods:
        rs = [r for r in results if r.method == m]
        solved = [r for r in rs if r.lre >= SOLVED]
        per_level = [f"{sum(r.difficulty == lv for r in solved)}/"
                     f"{sum(r.difficulty == lv for r in rs)}" for lv in levels]
        total = sum(r.seconds for r in rs if not math.isnan(r.seconds))
        rows.append([m, f"{len(solved)}/{len(rs)}"] + per_level
                    + [str(sum(r.lre >= 4 for r in rs)), str(sum(r.error is not None for r in rs)),
                       f"{total:.2f} s"])
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(row[j]) for row in [header] + rows) for j in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths))
                     for row in [header] + rows)


def ratios(results: list[Result], ours: str, others: list[str]) -> str:
    """Median over (problem, start) of ours' time / each other method's time, fit only."""
    by_key = {(r.problem, r.start, r.method): r for r in results}
    lines = []
    for other in others:
        values = [by_key[(r.problem, r.start, ours)].seconds / r.seconds for r in results
                  if r.method == other and not math.isnan(r.seconds)
                  and not math.isnan(by_key[(r.problem, r.start, ours)].seconds)]
        if values:
            lines.append(f"median time ratio {ours} / {other}: {statistics.median(values):.3g} "
                         f"(over {len(values)} problem-starts; max {max(values):.3g})")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per fit for the median time")
    parser.add_argument("--problems", help="comma-separated subset, e.g. Misra1a,MGH09")
    parser.add_argument("--methods", help="comma-separated subset of: " + ", ".join(METHODS))
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args(argv)

    names = args.problems.split(",") if args.problems else ORDER
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown problem(s): {', '.join(unknown)}")
    methods = {m: METHODS[m] for m in (args.methods.split(",") if args.methods else METHODS)}

    import scipy
    print(f"# NIST StRD nonlinear regression: {len(names)} problems x 2 starts; "
          f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}; "
          f"median of {args.repeat} runs")
    results = run(load_problems(names), methods, repeat=args.repeat)
    print()
    print(table(results, list(methods), args.markdown))
    print()
    print(summary(results, list(methods), args.markdown))
    gdc_methods = [m for m in methods if m.startswith("gdc")]
    if gdc_methods:
        print()
        print(ratios(results, gdc_methods[0], [m for m in methods if not m.startswith("gdc")]))
    errors = [r for r in results if r.error]
    if errors:
        print()
        print("raised:")
        for r in errors:
            print(f"  {r.problem} start {r.start} {r.method}: {r.error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
