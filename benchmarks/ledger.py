"""The ledger of outcomes: a table of fits, each either converged and within tolerance of an
independent reference, or not converged with the reason expected — never converged and wrong.

    python benchmarks/ledger.py [--markdown]

Needs scipy (not a gdc dependency). The references never use gdc: least squares by numpy's
lstsq or scipy's least_squares at tight tolerances, the generalized linear models by a
numpy IRLS (Newton's method on the log-likelihood, run to machine precision), quantile and
least-absolute-deviation regression by linear programming (scipy's linprog, HiGHS), Huber by
scipy's least_squares with loss="huber", and NIST's certified values. A fit's loss is
compared with the loss of the reference parameters, computed here in numpy; "within
tolerance" is relative, by the kind of method: TOLERANCE below. tests/fitting/test_ledger.py
runs the same table and asserts it.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NIST = ROOT / "tests" / "data" / "nist"

# A converged fit's loss must match the reference's this closely (relative), by method kind:
# ten times the gap its certificate claims (gdc.fitting.verdict.CLAIM), for the reference's own error.
TOLERANCE = {"second_order": 1e-9, "bundle": 1e-9, "first_order": 1e-7, "stochastic": 1e-4}

CONVERGED, WRONG, EXPECTED, UNEXPECTED = ("converged, within tolerance", "CONVERGED AND WRONG",
                                          "not converged, as expected", "NOT AS EXPECTED")


@dataclass(frozen=True)
class Case:
    """One fit: the model, its data, the options, and what it must come to.

    expect: "converge" (within tolerance of `reference`), or a tuple of the reasons a fit that
    does not converge may give; `may_converge` lets it converge instead (then within tolerance).
    `data()` gives the arrays, or a file (then read with `mapping`, as `gdc fit --map` does);
    `reference(data)` the reference loss on the arrays, computed without gdc."""

    name: str
    model: str
    data: Callable[[], dict | Path]
    expect: str | tuple[str, ...]
    reference: Callable[[dict], float] | None = None
    options: dict = field(default_factory=dict)
    init: dict | None = None
    may_converge: bool = False
    mapping: dict | None = None
    arrays: Callable[[], dict] | None = None   # the arrays of a file's data, for the reference


# --- data ---------------------------------------------------------------------------------------

def _csv(path: Path) -> dict:
    table = np.genfromtxt(path, delimiter=",", names=True)
    return {name: np.ascontiguousarray(table[name], dtype=np.float64) for name in table.dtype.names}


STUDENTS = EXAMPLES / "students.csv"
STUDENTS_MAP = {"x": "height", "Y": "weight"}   # as the README's command line maps them


def students() -> dict:
    table = _csv(STUDENTS)
    return {"x": table["height"], "Y": table["weight"]}


def students_file() -> Path:
    return STUDENTS


def logistic() -> dict:
    return _csv(EXAMPLES / "logistic.csv")


def decay() -> dict:
    return _csv(EXAMPLES / "exp_decay.csv")


def heteroscedastic(tau: float | None = None) -> Callable[[], dict]:
    """A line with noise that grows with x and heavy tails: where quantiles differ."""
    def make() -> dict:
        rng = np.random.default_rng(11)
        x = rng.uniform(0.0, 10.0, 150)
        data = {"x": x, "Y": 1.0 + 2.0 * x + (1.0 + 0.3 * x) * rng.standard_t(3, 150)}
        if tau is not None:
            data["T"] = np.full(150, tau)
        return data
    return make


def poisson() -> dict:
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 2.0, 200)
    return {"x": x, "Y": rng.poisson(np.exp(0.5 + 0.8 * x)).astype(np.float64)}


def enzyme() -> dict:
    """Michaelis–Menten rates at seven substrate concentrations."""
    return {"S": np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]),
            "Y": np.array([0.6, 1.0, 1.5, 2.0, 2.3, 2.6, 2.7])}


def growth() -> dict:
    t = np.linspace(0.0, 300.0, 40)
    return {"t": t, "Y": 2.0 * np.exp(0.01 * t) * (1.0 + 0.01 * np.sin(t))}


def wave() -> dict:
    rng = np.random.default_rng(5)
    t = np.linspace(0.0, 10.0, 80)
    return {"t": t, "Y": 2.0 * np.sin(1.5 * t + 0.3) + 1.0 + 0.1 * rng.standard_normal(80)}


def separable() -> dict:
    rng = np.random.default_rng(2)
    x1 = np.concatenate([rng.uniform(-3.0, -0.5, 40), rng.uniform(0.5, 3.0, 40)])
    x2 = rng.standard_normal(80)
    return {"x1": x1, "x2": x2, "Y": (x1 > 0.0).astype(np.float64)}


def peak() -> dict:
    rng = np.random.default_rng(4)
    x = np.linspace(-5.0, 5.0, 60)
    return {"x": x, "Y": 3.0 * np.exp(-(x - 0.5) ** 2 / (2 * 1.2 ** 2)) + 0.5 + 0.05 * rng.standard_normal(60)}


def boxbod() -> dict:
    return _csv(NIST / "BoxBOD.csv")


# --- references (numpy and scipy only) ----------------------------------------------------------

def _squares(predict: Callable, start, target: str = "Y") -> Callable[[dict], float]:
    """mean((y − Y)²) at scipy's least-squares optimum from `start`."""
    def reference(data: dict) -> float:
        from scipy.optimize import least_squares
        fit = least_squares(lambda p: predict(p, data) - data[target], start, xtol=1e-15, ftol=1e-15,
                            gtol=1e-15, max_nfev=10_000)
        return float(np.mean((predict(fit.x, data) - data[target]) ** 2))
    return reference


def _line(data: dict, h=lambda x: x) -> float:
    design = np.column_stack([h(data["x"]), np.ones_like(data["x"])])
    beta = np.linalg.lstsq(design, data["Y"], rcond=None)[0]
    return float(np.mean((design @ beta - data["Y"]) ** 2))


def _irls(design: np.ndarray, y: np.ndarray, link: str) -> np.ndarray:
    """Newton's method on a GLM's log-likelihood (logistic or Poisson), to machine precision."""
    beta = np.zeros(design.shape[1])
    for _ in range(100):
        eta = design @ beta
        mu = 1.0 / (1.0 + np.exp(-eta)) if link == "logit" else np.exp(eta)
        weight = mu * (1.0 - mu) if link == "logit" else mu
        step = np.linalg.solve(design.T @ (weight[:, None] * design), design.T @ (y - mu))
        beta += step
        if np.max(np.abs(step)) < 1e-15 * max(1.0, np.max(np.abs(beta))):
            break
    return beta


def _logistic_loss(data: dict) -> float:
    design = np.column_stack([data["x1"], data["x2"], np.ones_like(data["x1"])])
    z = design @ _irls(design, data["Y"], "logit")
    return float(np.mean(np.logaddexp(0.0, z) - data["Y"] * z))


def _poisson_loss(data: dict) -> float:
    design = np.column_stack([np.ones_like(data["x"]), data["x"]])
    eta = design @ _irls(design, data["Y"], "log")
    return float(np.mean(np.exp(eta) - data["Y"] * eta))


def _quantile(tau: float) -> Callable[[dict], float]:
    """mean of the pinball loss at the linear program's optimum (HiGHS)."""
    def reference(data: dict) -> float:
        from scipy.optimize import linprog
        x, y = data["x"], data["Y"]
        n = len(y)
        design = np.column_stack([np.ones(n), x])
        cost = np.concatenate([np.zeros(2), np.full(n, tau / n), np.full(n, (1.0 - tau) / n)])
        fit = linprog(cost, A_eq=np.hstack([design, np.eye(n), -np.eye(n)]), b_eq=y,
                      bounds=[(None, None)] * 2 + [(0.0, None)] * (2 * n), method="highs")
        r = y - design @ fit.x[:2]
        return float(np.mean(np.maximum(tau * r, (tau - 1.0) * r)))
    return reference


def _lad(data: dict) -> float:
    return 2.0 * _quantile(0.5)(data)


def _huber(data: dict) -> float:
    from scipy.optimize import least_squares
    x, y = data["x"], data["Y"]
    fit = least_squares(lambda p: p[0] * x + p[1] - y, [1.0, 0.0], loss="huber", f_scale=1.0,
                        xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=10_000)
    r = np.abs(fit.x[0] * x + fit.x[1] - y)
    return float(np.mean(np.where(r <= 1.0, r * r / 2.0, r - 0.5)))


def _boxbod(data: dict) -> float:
    meta = json.loads((NIST / "BoxBOD.json").read_text())
    return float(meta["certified_rss"])


# --- the table ----------------------------------------------------------------------------------

SCALED = (EXAMPLES / "students_scaled.gd").read_text(encoding="utf-8")
LINEAR = (EXAMPLES / "linear.gd").read_text(encoding="utf-8")
LOGISTIC = (EXAMPLES / "logistic.gd").read_text(encoding="utf-8")
DECAY = (EXAMPLES / "exp_decay.gd").read_text(encoding="utf-8")
HUBER = (EXAMPLES / "huber.gd").read_text(encoding="utf-8")
QUANTILE = "model y = a + b*x\nloss mean(max(T*(Y - y), (T - 1)*(Y - y)))\n"   # T: the quantile, a column
LAD = "model y = a + b*x\nloss mean(abs(y - Y))\n"
POISSON = "model mu = exp(a + b*x)\nloss mean(mu - Y*log(mu))\n"
ENZYME = "param Vmax = 1, Km = 1\nmodel v = Vmax*S/(Km + S)\nloss mean((v - Y)^2)\n"
GROWTH = "model y = a*exp(r*t)\nloss mean((y - Y)^2)\n"
WAVE = "param A, w, phi, c\nmodel y = A*sin(w*t + phi) + c\nloss mean((y - Y)^2)\n"
UNBOUNDED = "model y = m*x + b\nloss -mean((y - Y)^2)\n"
PEAK = "model y = a*exp(-(x - mu)^2/(2*s^2)) + c\nloss mean((y - Y)^2)\n"
BOXBOD = (NIST / "BoxBOD.gd").read_text(encoding="utf-8")

_scaled = lambda data: _line(data, lambda x: (x - 170.0) / 10.0)   # noqa: E731
_decay = _squares(lambda p, d: p[0] * np.exp(-p[1] * d["t"]) + p[2], [5.0, 1.0, 1.0])
_enzyme = _squares(lambda p, d: p[0] * d["S"] / (p[1] + d["S"]), [1.0, 1.0])
_growth = _squares(lambda p, d: p[0] * np.exp(p[1] * d["t"]), [1.0, 0.005])
_wave = _squares(lambda p, d: p[0] * np.sin(p[1] * d["t"] + p[2]) + p[3], [1.0, 1.4, 0.0, 1.0])
_peak = _squares(lambda p, d: p[0] * np.exp(-(d["x"] - p[1]) ** 2 / (2 * p[2] ** 2)) + p[3], [1.0, 0.0, 1.0, 0.0])

NOT_SMOOTH = ("stalled", "max_epochs", "tol", "noisy")   # a method that cannot certify a kink


def _students(name, model, expect, reference, options=None, **more) -> Case:
    """A fit of the seed's data file, mapped as the README's command line maps it."""
    return Case(name, model, students_file, expect, reference, options or {}, mapping=STUDENTS_MAP,
                arrays=students, **more)


CASES = [
    _students("students, scaled: auto (lm)", SCALED, "converge", _scaled),
    _students("students, scaled: gd", SCALED, "converge", _scaled, {"method": "gd"}),
    _students("students, scaled: sgd", SCALED, "converge", _scaled, {"method": "sgd"}),
    _students("students, scaled: sgd, seed 1", SCALED, "converge", _scaled, {"method": "sgd", "seed": 1}),
    _students("students, scaled: minibatch", SCALED, "converge", _scaled, {"method": "minibatch"}),
    _students("students, scaled: adam", SCALED, "converge", _scaled, {"method": "adam"}),
    _students("students, scaled: momentum", SCALED, "converge", _scaled, {"method": "momentum"}),
    _students("students, scaled: sgd --lr 0.5", SCALED, ("noisy", "diverged"), _scaled,
              {"method": "sgd", "lr": 0.5}, may_converge=True),
    _students("students, raw heights: auto (lm)", LINEAR, "converge", _line),
    _students("students, raw heights: gd", LINEAR, ("max_epochs", "stalled"), _line, {"method": "gd"},
              may_converge=True),
    Case("logistic example: auto (newton)", LOGISTIC, logistic, "converge", _logistic_loss),
    Case("logistic example: gd", LOGISTIC, logistic, "converge", _logistic_loss, {"method": "gd"}),
    Case("logistic example: sgd", LOGISTIC, logistic, "converge", _logistic_loss, {"method": "sgd"}),
    Case("logistic example: minibatch", LOGISTIC, logistic, "converge", _logistic_loss, {"method": "minibatch"}),
    Case("logistic example: adam", LOGISTIC, logistic, "converge", _logistic_loss, {"method": "adam"}),
    Case("exponential decay example: auto (lm)", DECAY, decay, "converge", _decay),
    Case("Huber example: auto (bundle)", HUBER, heteroscedastic(), "converge", _huber),
    Case("Huber example: newton", HUBER, heteroscedastic(), "converge", _huber, {"method": "newton"}),
    Case("quantile τ = 0.1: auto (bundle)", QUANTILE, heteroscedastic(0.1), "converge", _quantile(0.1)),
    Case("quantile τ = 0.5: auto (bundle)", QUANTILE, heteroscedastic(0.5), "converge", _quantile(0.5)),
    Case("quantile τ = 0.9: auto (bundle)", QUANTILE, heteroscedastic(0.9), "converge", _quantile(0.9)),
    Case("quantile τ = 0.9: newton", QUANTILE, heteroscedastic(0.9), NOT_SMOOTH, _quantile(0.9),
         {"method": "newton"}),
    Case("quantile τ = 0.5: sgd", QUANTILE, heteroscedastic(0.5), NOT_SMOOTH, _quantile(0.5),
         {"method": "sgd"}),
    Case("least absolute deviations: auto (bundle)", LAD, heteroscedastic(), "converge", _lad),
    Case("least absolute deviations: newton", LAD, heteroscedastic(), NOT_SMOOTH, _lad, {"method": "newton"}),
    Case("least absolute deviations: gd", LAD, heteroscedastic(), NOT_SMOOTH, _lad, {"method": "gd"}),
    Case("Poisson regression: auto (newton)", POISSON, poisson, "converge", _poisson_loss),
    Case("Poisson regression: sgd", POISSON, poisson, "converge", _poisson_loss, {"method": "sgd"}),
    Case("Poisson regression: minibatch", POISSON, poisson, "converge", _poisson_loss, {"method": "minibatch"}),
    Case("Michaelis–Menten: auto (lm)", ENZYME, enzyme, "converge", _enzyme),
    Case("Michaelis–Menten: sgd", ENZYME, enzyme, ("noisy", "max_epochs"), _enzyme, {"method": "sgd"},
         may_converge=True),
    Case("exponential growth from a = r = 1", GROWTH, growth, ("not_finite", "stalled", "max_epochs"),
         _growth, init={"a": 1.0, "r": 1.0}),
    Case("exponential growth from r = 0.005", GROWTH, growth, "converge", _growth, init={"a": 1.0, "r": 0.005}),
    Case("sinusoid from the defaults (A = w = φ = 0)", WAVE, wave, ("saddle",)),
    Case("sinusoid from w = 1.4", WAVE, wave, "converge", _wave, init={"A": 1.0, "w": 1.4, "c": 1.0}),
    Case("loss unbounded below: −mean((y − Y)²)", UNBOUNDED, heteroscedastic(), ("unbounded",)),
    Case("separable classes: auto (newton)", LOGISTIC, separable, ("at_infinity",)),
    Case("separable classes: gd", LOGISTIC, separable, ("at_infinity",), options={"method": "gd"}),
    Case("separable classes: adam", LOGISTIC, separable, ("at_infinity", "max_epochs"), options={"method": "adam"}),
    Case("NIST BoxBOD from start 1", BOXBOD, boxbod, "converge", _boxbod),
    Case("NIST BoxBOD from start 2", BOXBOD, boxbod, "converge", _boxbod, init={"b1": 100.0, "b2": 0.75}),
    Case("NIST BoxBOD from b2 = 3 (a plateau)", BOXBOD, boxbod, ("plateau",), _boxbod, init={"b1": 1.0, "b2": 3.0}),
    Case("Gaussian peak from the defaults (s = 0)", PEAK, peak, ("undefined",)),
    Case("Gaussian peak from s = 1", PEAK, peak, "converge", _peak, init={"a": 1.0, "s": 1.0}),
]


# --- running and judging ------------------------------------------------------------------------

@dataclass
class Row:
    case: Case
    method: str
    reason: str
    converged: bool
    loss: float
    reference: float | None
    relative: float | None     # |loss − reference| / |reference|
    outcome: str
    result: object = None      # the FitResult


def kind(result, options: dict) -> str:
    from gdc.fitting.options import METHODS
    if result.method.startswith(("sgd", "minibatch")) or options.get("batch_size"):
        return "stochastic"
    return METHODS[result.method.split(" ")[0]].kind


def judge(case: Case, result, options: dict) -> Row:
    arrays = case.arrays or case.data
    reference = case.reference(arrays()) if case.reference is not None and result.converged else None
    relative = None
    if reference is not None:
        relative = abs(result.loss - reference) / max(abs(reference), 1e-300)
    if result.converged:
        if reference is None or not relative <= TOLERANCE[kind(result, options)]:
            outcome = WRONG          # a minimum claimed where there is none, or not this one
        else:
            outcome = CONVERGED if case.expect == "converge" or case.may_converge else UNEXPECTED
    else:
        outcome = EXPECTED if case.expect != "converge" and result.reason in case.expect else UNEXPECTED
    return Row(case, result.method, str(result.reason), result.converged, result.loss, reference, relative,
               outcome, result)


def run_case(case: Case, problems: dict) -> Row:
    """Fit one case (the Problem of each model and data is prepared once, in `problems`)."""
    from gdc.api import prepare
    from gdc.fitting.options import Options
    from gdc.fitting.run import run

    key = (case.model, case.data)
    if key not in problems:
        problems[key] = prepare(case.model, case.data(), mapping=case.mapping)
    options = Options(**case.options).validate()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = run(problems[key], options, init=case.init)
    return judge(case, result, case.options)


def run_ledger(cases=CASES) -> list[Row]:
    problems: dict = {}
    return [run_case(case, problems) for case in cases]


def table(rows: list[Row], markdown: bool = False) -> str:
    head = ("fit", "method", "reason", "loss", "reference", "rel. error", "outcome")
    body = [(r.case.name, r.method, r.reason, f"{r.loss:.10g}",
             "-" if r.reference is None else f"{r.reference:.10g}",
             "-" if r.relative is None else f"{r.relative:.1e}", r.outcome) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
    else:
        widths = [max(len(row[j]) for row in [head] + body) for j in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [head] + body]
    counts = collections.Counter(r.outcome for r in rows)
    reasons = collections.Counter(r.reason for r in rows)
    lines.append("")
    lines.append(f"{len(rows)} fits: " + ", ".join(f"{counts[o]} {o}" for o in (CONVERGED, EXPECTED, WRONG, UNEXPECTED)))
    lines.append("by reason: " + ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    rows = run_ledger()
    print(table(rows, args.markdown))
    return 0 if all(r.outcome in (CONVERGED, EXPECTED) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
