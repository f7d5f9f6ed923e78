"""The Python face of gdc: `compile`, `derive`, `fit` (and `prepare` + `run`, its two halves).

The compiler runs here, one stage after another, only when the cache has no module for the
model (`gdc.runtime.cache` stores what this module generates; it never calls back). Heavy
imports (sympy, lark, numba) happen inside the functions, so `import gdc` stays cheap.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from gdc.fitting.options import BETA1, BETA2, EPS, MOMENTUM, POWER_T, STEP_EVERY, STEP_FACTOR

if TYPE_CHECKING:
    from gdc.calculus.derive import Derivation
    from gdc.fitting.problem import FitResult, Problem
    from gdc.runtime.kernels import Kernels


def compile(source: str | os.PathLike, data_names: Iterable[str] | None = None, *,  # noqa: A001
            data_origin: str = "--data", cache_dir: str | os.PathLike | None = None) -> Kernels:
    """The compiled kernels of a model, given as a `.gd` path or as model text (cached on disk).

    `data_names` says which names are data columns (a CSV header, say); `cache_dir` overrides
    the cache directory ($GDC_CACHE_DIR, else ~/.cache/gdc)."""
    from gdc.io.source import read_model

    where, text = read_model(source)
    return _compile_text(where, text, data_names, data_origin, cache_dir)


def _compile_text(where: str, text: str, data_names: Iterable[str] | None, data_origin: str,
                  cache_dir: str | os.PathLike | None = None) -> Kernels:
    """The cache's module for the model text, generated and stored first on a miss."""
    from gdc.runtime import cache

    names = None if data_names is None else tuple(data_names)
    key = cache.model_key(text, names)
    directory = None if cache_dir is None else Path(cache_dir)
    kernels, reason = cache.cached(key, directory)
    if kernels is None:
        module_text = generate_source(text, where, names, data_origin, key)
        kernels = cache.store(key, module_text, reason, directory)
    return kernels


def source(source: str | os.PathLike, data_names: Iterable[str] | None = None,
           data_origin: str = "--data") -> str:
    """The generated module's text: what `gdc compile` writes and `compile` imports."""
    from gdc.io.source import read_model
    from gdc.runtime.cache import model_key

    where, text = read_model(source)
    names = None if data_names is None else tuple(data_names)
    return generate_source(text, where, names, data_origin, model_key(text, names))


def generate_source(text: str, where: str, data_names: Iterable[str] | None, data_origin: str,
                    model_hash: str) -> str:
    """Model text to module text, through every stage of the compiler."""
    from gdc.calculus.symbolic import symbolic
    from gdc.codegen.scalar import generate
    from gdc.language.frontend import check_text

    checked = check_text(text, where, data_names, data_origin)  # parse, lower, check
    model = symbolic(checked)                                    # sympy expressions
    return generate(model, model_hash)                           # derive, stabilize, print


def derive(source: str | os.PathLike, wrt: Iterable[str] | None = None,
           data_names: Iterable[str] | None = None) -> Derivation:
    """The verified derivation of a model (`gdc derive`): `gdc.explain.render(d, "text")` prints it."""
    from gdc.calculus.derive import derive as derive_model
    from gdc.calculus.symbolic import symbolic
    from gdc.language.frontend import check_source

    model = symbolic(check_source(source, data_names))
    return derive_model(model, None if wrt is None else list(wrt))


def prepare(model: str | os.PathLike | Kernels, data, *, mapping: Mapping[str, str] | None = None,
            drop_nonfinite: bool = False) -> Problem:
    """Read the data, settle which model names are data (those among its columns), compile."""
    from gdc.fitting.problem import bind, read_data
    from gdc.io.source import looks_like_path, read_model
    from gdc.runtime.kernels import Kernels

    mapping = dict(mapping or {})
    data_in = read_data(data, drop_nonfinite)
    known = data_in.names + tuple(name for name in mapping if name not in data_in.names)
    origin = data_in.origin + (" or --map" if mapping else "")
    if isinstance(model, Kernels):
        kernels, text = model, None
    else:
        where, text = read_model(model)
        if not mapping:
            _some_column_is_named(where, text, data_in.names, data_in.source)
        kernels = _compile_text(where, text, known, origin)
    model_source = os.fspath(model) if isinstance(model, os.PathLike) or (
        isinstance(model, str) and looks_like_path(model)) else None
    return bind(kernels, data_in, mapping, model_source=model_source, text=text,
                classified_by=(known, origin))


def _some_column_is_named(where: str, text: str, names: tuple[str, ...], source: str) -> None:
    """Fail early, with the --map to write, when no column shares a name with the model text."""
    from gdc.errors import GdcError
    from gdc.language.vocabulary import RESERVED, looks_like_data

    found = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"#[^\n]*", "", text))
    words = list(dict.fromkeys(word for word in found if word not in RESERVED))
    stems = {re.sub(r"_?[0-9]+$", "", name) for name in names}   # x1, x2, … feed a data vector x
    if set(words) & (set(names) | stems):
        return
    guesses = [word for word in words if looks_like_data(word)] or ["NAME"]
    raise GdcError(f"none of the data's columns ({', '.join(names)}) is named like a name in {where}",
                   where=source, hint="map the model's data names to columns: --map "
                   + ",".join(f"{guess}=COLUMN" for guess in guesses))


def fit(model, data, method: str = "auto", lr: float | None = None, *, epochs: int | None = None,
        tol: float | None = None, gtol: float | None = None, batch_size: int | None = None,
        schedule: str = "constant", power_t: float = POWER_T, step_every: int = STEP_EVERY,
        step_factor: float = STEP_FACTOR, momentum: float = MOMENTUM, nesterov: bool = False,
        beta1: float = BETA1, beta2: float = BETA2, eps: float = EPS, seed: int = 0,
        shuffle: bool = True, init: Mapping[str, float] | None = None,
        mapping: Mapping[str, str] | None = None, drop_nonfinite: bool = False) -> FitResult:
    """Fit `model` (a .gd path, model text, or Kernels) to `data` (a file path or a mapping of
    arrays: 1-D for each scalar data name, 2-D (N, d) for a data vector `x[d]`). Raises
    FitFailed (gdc.fitting.problem) when the loss blows up or is unbounded below, or the start is
    undefined or a saddle; GdcError for bad input. A fit that ran but did not converge is returned,
    `converged` False, its `reason`, `message` and `advice` saying why. `result.params` maps each
    parameter to a float, or to an array of its shape for a vector or matrix parameter;
    `init` gives numbers by name (a number fills a whole vector or matrix)."""
    from gdc.fitting.options import Options, Schedule
    from gdc.fitting.problem import FitFailed
    from gdc.fitting.run import run

    options = Options(method=method, lr=lr, schedule=Schedule(schedule, power_t, step_every, step_factor),
                      epochs=epochs, batch_size=batch_size, momentum=momentum, nesterov=nesterov,
                      beta1=beta1, beta2=beta2, eps=eps, seed=seed, shuffle=shuffle)
    options = options.with_tolerances(tol, gtol).validate()
    problem = prepare(model, data, mapping=mapping, drop_nonfinite=drop_nonfinite)
    result = run(problem, options, init=init)
    if result.reason.failed:
        raise FitFailed(result)
    return result
