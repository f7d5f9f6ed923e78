"""The Python face of gdc: `compile`, `derive`, `fit` (and `prepare` + `run`, its two halves).

The compiler runs here, one stage after another, only when the cache has no module for the
model (`gdc.runtime.cache` stores what this module generates; it never calls back). Heavy
imports (sympy, lark, numba) happen inside the functions, so `import gdc` stays cheap.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from gdc.errors import GdcError
from gdc.fitting.options import BETA1, BETA2, EPS, MOMENTUM, POWER_T, STEP_EVERY, STEP_FACTOR

if TYPE_CHECKING:
    from gdc.calculus.derivation import Derivation
    from gdc.fitting.problem import FitResult, Problem
    from gdc.fitting.sweep import Sweep
    from gdc.runtime.kernels import Kernels


def compile(source: str | os.PathLike, data_names: Iterable[str] | None = None, *,  # noqa: A001
            data_origin: str = "--data", cache_dir: str | os.PathLike | None = None) -> Kernels:
    """The compiled kernels of a model, given as a `.gd` path or as model text (cached on disk);
    their functions check and convert their arguments (`.raw`: the same without the checks).

    `data_names` says which names are data columns (a CSV header, say); `cache_dir` overrides
    the cache directory ($GDC_CACHE_DIR, else ~/.cache/gdc)."""
    from gdc.io.source import read_model
    from gdc.runtime.checked import checked

    where, text = read_model(source)
    return checked(_compile_text(where, text, data_names, data_origin, cache_dir))


def _compile_text(where: str, text: str, data_names: Iterable[str] | None, data_origin: str,
                  cache_dir: str | os.PathLike | None = None) -> Kernels:
    """The cache's module for the model text, generated and stored first on a miss."""
    from gdc.runtime import cache
    from gdc.runtime.keys import model_key

    names = None if data_names is None or _as_the_rule_says(text, data_names) else tuple(data_names)
    key = model_key(text, names)
    directory = None if cache_dir is None else Path(cache_dir)
    kernels, reason = cache.cached(key, directory)
    if kernels is None:
        module_text = generate_source(text, where, names, data_origin, key)
        kernels = cache.store(key, module_text, reason, directory)
    from gdc.runtime.cuda import register
    register(key, lambda: cuda_kernels(kernels, text, where, names, data_origin, cache_dir))   # kernels.cuda
    return kernels


def cuda_kernels(kernels: Kernels, text: str, where: str, data_names: Iterable[str] | None,
                 data_origin: str = "--data", cache_dir: str | os.PathLike | None = None):
    """The CUDA kernels (gdc.runtime.cuda.CudaKernels) beside `kernels`, the CPU kernels of the
    model text compiled with these data names: their module is cached beside the CPU one
    (generated on a miss), checked as it is, and finished by its `_finish` functions. A shaped
    model's (gdc.runtime.cuda_shaped.ShapedCudaKernels) make a module per set of sizes (gdc.gpu)."""
    from gdc.gpu import cuda_kernels_of
    names = None if data_names is None or _as_the_rule_says(text, data_names) else tuple(data_names)
    return cuda_kernels_of(kernels, text, where, names, data_origin, cache_dir)


def cuda_source(source: str | os.PathLike, data_names: Iterable[str] | None = None,
                data_origin: str = "--data", sizes: dict[str, int] | None = None) -> str:
    """The CUDA module's text (`gdc compile --cuda`): what `Kernels.cuda` and `--device gpu` run
    (a shaped model's at `sizes`, which its data would give: {"d": 30})."""
    from gdc.gpu import cuda_module_text
    from gdc.io.source import read_model
    from gdc.runtime.keys import model_key

    where, text = read_model(source)
    names = None if data_names is None else tuple(data_names)
    return cuda_module_text(text, where, names, data_origin, model_key(text, names), sizes or {})


def _as_the_rule_says(text: str, data_names: Iterable[str]) -> bool:
    """Whether the data's names make every name of the text data exactly where the naming rule
    would: then the kernels are those of the text alone, and `gdc.compile(model)` and a fit of
    it to a CSV share one cache entry instead of compiling the same module twice."""
    from gdc.language.vocabulary import looks_like_data
    from gdc.runtime.keys import mentioned_names

    mentioned = mentioned_names(text)
    return {n for n in mentioned if looks_like_data(n)} == set(data_names) & mentioned


def compile_text(where: str, text: str, data_names: Iterable[str] | None = None,
                 data_origin: str = "--data") -> Kernels:
    """The kernels of model text read from `where` (for messages), unchecked: for code that
    calls them in loops, such as gdc.sklearn."""
    return _compile_text(where, text, data_names, data_origin)


def source(source: str | os.PathLike, data_names: Iterable[str] | None = None,
           data_origin: str = "--data") -> str:
    """The generated module's text: what `gdc compile` writes and `compile` imports."""
    from gdc.io.source import read_model
    from gdc.runtime.keys import model_key

    where, text = read_model(source)
    names = None if data_names is None else tuple(data_names)
    return generate_source(text, where, names, data_origin, model_key(text, names))


def generate_source(text: str, where: str, data_names: Iterable[str] | None, data_origin: str,
                    model_hash: str) -> str:
    """Model text to module text, through every stage of the compiler."""
    from gdc.codegen.planned import planned, symbolic_model
    from gdc.codegen.scalar import generate

    key = (text, where, None if data_names is None else tuple(data_names), data_origin)
    model = symbolic_model(*key)                                 # parse, lower, check; sympy expressions
    try:
        return generate(model, model_hash, planned(*key))        # derive, stabilize, print
    except OverflowError:
        # The checks keep the model's own numbers in float64's range; a derivative can still
        # multiply them past it (the second derivative of 1e306*x^1000, say).
        raise GdcError("a constant in the derivatives of this model is past float64's range "
                       "(about 1.8e308)", where=where,
                       hint="rescale the model so that its constants and powers are of moderate size") from None


def derive(source: str | os.PathLike, wrt: Iterable[str] | None = None,
           data_names: Iterable[str] | None = None, data_origin: str = "--data") -> Derivation:
    """The verified derivation of a model (`gdc derive`): print() shows its steps as text, a
    notebook as rendered math; `gdc.explain.render(d, fmt)` gives text, latex, markdown, json, html."""
    from gdc.calculus.derive import derive as derive_model
    from gdc.calculus.symbolic import symbolic
    from gdc.explain.display import shown
    from gdc.language.frontend import check_source

    model = symbolic(check_source(source, data_names, data_origin))
    return shown(derive_model(model, None if wrt is None else list(wrt)))


def prepare(model: str | os.PathLike | Kernels, data, *, mapping: Mapping[str, str] | None = None,
            drop_nonfinite: bool = False, sigma: str | None = None, absolute_sigma: bool = False,
            stream: bool = False, client=None) -> Problem:
    """Read the data, settle which model names are data (those among its columns), compile;
    `sigma` names a column of measurement errors (see `fit`). Partitioned data (a glob, a
    folder, a Dask DataFrame; `stream`, `client`: see `fit`) go to gdc.scale."""
    from gdc.fitting.problem import bind, read_data
    from gdc.scale.dask_source import is_dask_frame
    from gdc.scale.files import is_partitioned

    if stream or client is not None or is_partitioned(data) or is_dask_frame(data):
        from gdc.scale.problem import prepare_parts
        compiled = functools.partial(_model_kernels, model)
        return prepare_parts(compiled, data, dict(mapping or {}), drop=drop_nonfinite, sigma=sigma,
                             absolute_sigma=absolute_sigma, stream=stream, client=client)
    mapping = dict(mapping or {})
    data_in = read_data(data, drop_nonfinite)
    known = data_in.names + tuple(name for name in mapping if name not in data_in.names)
    origin = data_in.origin + (" or --map" if mapping else "")
    kernels, text, model_source = _model_kernels(model, known, origin, data_in.names, data_in.source, mapping)
    return bind(kernels, data_in, mapping, model_source=model_source, text=text,
                classified_by=(known, origin), sigma=sigma, absolute_sigma=absolute_sigma)


def _model_kernels(model, known: tuple[str, ...], origin: str, names: tuple[str, ...], source: str,
                   mapping: Mapping[str, str]):
    """(kernels, model text or None, the model file or None), compiled for data named `known`."""
    from gdc.io.source import looks_like_path, read_model
    from gdc.runtime.checked import unchecked
    from gdc.runtime.kernels import Kernels

    if isinstance(model, Kernels):
        kernels, text = unchecked(model), None   # the fit loops call the kernels unchecked
    else:
        where, text = read_model(model)
        if not mapping:
            _some_column_is_named(where, text, names, source)
        kernels = _compile_text(where, text, known, origin)
    model_source = os.fspath(model) if isinstance(model, os.PathLike) or (
        isinstance(model, str) and looks_like_path(model)) else None
    return kernels, text, model_source


def _some_column_is_named(where: str, text: str, names: tuple[str, ...], source: str) -> None:
    """Fail early, with the --map to write, when no column shares a name with the model text."""
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
        mapping: Mapping[str, str] | None = None, drop_nonfinite: bool = False,
        plot: str | os.PathLike | None = None, save: str | os.PathLike | None = None,
        history: str | os.PathLike | None = None, bounds: Mapping[str, object] | None = None,
        fixed: Mapping[str, float] | None = None, sigma: str | None = None,
        absolute_sigma: bool = False, ci: float | str | None = None, device: str = "cpu",
        dtype: str = "float64", stream: bool = False, client=None, certify: bool = True) -> FitResult:
    """Fit `model` (a .gd path, model text, or Kernels) to `data`: a file path, a DataFrame
    (pandas, polars, a pyarrow Table) or a mapping of arrays (1-D for each scalar data name,
    2-D (N, d) for a data vector `x[d]`); columns are found by name, `mapping` as `--map`.
    Raises FitFailed (gdc.fitting.problem) when the loss blows up or is unbounded below, or the
    start is undefined or a saddle; GdcError for bad input. A fit that ran but did not converge
    is returned, `converged` False, its `reason`, `message` and `advice` saying why. A converged
    fit is certified by a gap estimate at its answer (a few passes); `certify=False` skips it.
    `result.params` maps each parameter to a float, or to an array of its shape for a vector or
    matrix parameter; `init` gives numbers by name (a number fills a whole vector or matrix).
    `plot`, `save` and `history` write the files of `gdc fit --plot/--save/--history`.

    `bounds` keeps parameters in intervals: {"k": (0, 10)} (closed; None or ±inf for no end),
    or the text of --bound, {"k": "(0, 10]"} with open ends; a name is a parameter (every
    element of a vector or matrix) or one element, "W[1, 2]". They narrow the model's own
    bounds (`param k in (0, inf)`): the fit keeps to both. `fixed` holds parameters (or
    elements) at values, {"b": 0}, without recompiling: the fit equals that of the model with
    b replaced by 0. Every method but bundle keeps to them (lbfgs with L-BFGS-B's semantics).
    A parameter that ends on a bound, or is fixed, has no standard error
    (`result.held` says which and why).

    Measurement errors (`--sigma`): `sigma` names a data column of errors σᵢ > 0, and each
    residual of a least-squares loss is divided by its σ (the loss becomes c·Σ((y − Y)/σ)²), as
    scipy's curve_fit(sigma=...). With absolute_sigma=False (curve_fit's default) σ gives only
    relative weights and the covariance is s²(JᵀJ)⁻¹, s² = χ²/(N − p); with True, σ are the
    errors themselves and the covariance is (JᵀJ)⁻¹.
    A least-squares fit has `covariance`, `correlation`, `std_errors` (by name) and
    `conf_int(level)`; `ci` (`--ci`) computes intervals for the report: a level such as 0.95
    (asymptotic: value ± t·standard error, Student's t with N − p degrees of freedom), or
    "profile" / "profile:0.95" (profile likelihood, lmfit's; `result.intervals.notes` say why an end is NaN).

    `device` (`--device`): "cpu"; "gpu" copies the data to an NVIDIA GPU once and runs every
    pass there (numba-cuda, `pip install 'gdc[gpu]'`; the full-batch methods:
    not sgd, minibatch or a batch_size); "auto" takes the GPU when there is one and the data have at least
    gdc.fitting.device.AUTO_MIN_ROWS rows, and says which. `dtype="float32"` stores the data
    on the GPU in single precision (half the memory traffic; the sums stay float64).

    Larger data: `data` may name several files, a glob ('data/*.parquet') or a folder of
    Parquet or CSV files, loaded into memory when they fit; `stream=True` reads them from disk
    on every pass instead, in bounded batches. A Dask DataFrame, or `client` (a
    distributed.Client, or "local:N" / "tcp://host:8786", started and closed here) fits on
    Dask workers that hold the partitions. Either way the full-batch methods give the in-memory
    answer; the stochastic ones are refused, and the report says how many passes were made."""
    import dataclasses

    from gdc.fitting.intervals import parse_ci, with_intervals
    from gdc.fitting.out_of_core import plot_allowed
    from gdc.fitting.problem import FitFailed
    from gdc.fitting.run import run

    options = fit_options(method, lr, epochs=epochs, tol=tol, gtol=gtol, batch_size=batch_size, schedule=schedule,
                          power_t=power_t, step_every=step_every, step_factor=step_factor, momentum=momentum,
                          nesterov=nesterov, beta1=beta1, beta2=beta2, eps=eps, seed=seed, shuffle=shuffle,
                          certify=certify)
    _check_outputs(model, data, {"plot": plot, "save": save, "history": history})
    wanted = None if ci is None else parse_ci(ci)
    closing = []
    if stream and client is not None:
        from gdc.scale.problem import refuse_stream_with_dask
        refuse_stream_with_dask(stream, True)
    if isinstance(client, str):   # "local:N" or an address: a client for this fit alone
        from gdc.scale.dask_source import connect
        client, cluster = connect(client)
        closing = [part for part in (client, cluster) if part is not None]
    try:
        problem = prepare(model, data, mapping=mapping, drop_nonfinite=drop_nonfinite, sigma=sigma,
                          absolute_sigma=absolute_sigma, stream=stream, client=client)
        if plot is not None:
            plot_allowed(problem.backend)
        fitted = on_device(problem, device, dtype, options.stochastic)   # the result keeps the host problem: predict, save, plot
        result = dataclasses.replace(run(fitted, options, init=init, bounds=bounds, fixed=fixed), problem=problem)
        if problem.backend != "cpu":
            from gdc.scale.problem import with_passes
            result = with_passes(result, problem)
        if wanted is not None and not result.reason.failed:   # before closing: a profile refits on the workers
            result = with_intervals(result, *wanted)
    finally:
        for part in closing:
            part.close()
    _write_outputs(result, plot, history)
    if result.reason.failed:
        raise FitFailed(result)
    if save is not None:
        result.save(save)
    return result


def on_device(problem: Problem, device: str = "cpu", dtype: str = "float64", per_sample: bool = False) -> Problem:
    """The problem a fit runs on `device` (`--device cpu|gpu|auto`): itself on the CPU; on the
    GPU its data copied there and its CUDA kernels (gdc.gpu, gdc.fitting.device). `per_sample`:
    the fit updates from samples (sgd, minibatch), which `auto` leaves on the CPU, as it does a
    shaped model too large for a GPU thread's local arrays."""
    from gdc.gpu import on_device as placed
    return placed(problem, device, dtype, per_sample, cuda_kernels)


def fit_options(method: str, lr: float | None, *, tol: float | None = None, gtol: float | None = None,
             schedule: str = "constant", power_t: float = POWER_T, step_every: int = STEP_EVERY,
             step_factor: float = STEP_FACTOR, **given):
    """The fit's keyword options (those of `fit`) as checked Options (`gdc.fitting.options`)."""
    from gdc.fitting.options import Options, Schedule
    options = Options(method=method, lr=lr, schedule=Schedule(schedule, power_t, step_every, step_factor),
                      **given)
    return options.with_tolerances(tol, gtol).validate()


def input_files(model, data) -> list:
    """The files a fit reads, which no output may overwrite."""
    from gdc.io.source import looks_like_path
    files = [model] if isinstance(model, os.PathLike) or (isinstance(model, str) and looks_like_path(model)) else []
    return files + ([data] if isinstance(data, (str, os.PathLike)) else [])


def _check_outputs(model, data, outputs: Mapping[str, str | os.PathLike | None]) -> None:
    """Refuse an output over an input or in a missing folder before the fit, not after it."""
    from gdc.io.files import guard_output
    for option, path in outputs.items():
        if path is not None:
            guard_output(path, input_files(model, data), f"{option}=")


def _write_outputs(result: FitResult, plot, history) -> None:
    from gdc.io.files import guard_output, write_atomic
    if history is not None:   # streamed, as the command line writes it
        from gdc.fitting.report import history_lines
        write_atomic(guard_output(history, [], "history="), history_lines(result, result.problem.kernels.param_names))
    if plot is not None:
        result.plot(plot)


def sweep(model, data, lr: Iterable[float], method: str = "gd", *, init: Mapping[str, float] | None = None,
          mapping: Mapping[str, str] | None = None, drop_nonfinite: bool = False,
          plot: str | os.PathLike | None = None, bounds: Mapping[str, object] | None = None,
          fixed: Mapping[str, float] | None = None, **options) -> Sweep:
    """The learning-rate experiment of `gdc lr-sweep`: one fit per rate (a diverged one is kept,
    not raised). `options` are those of `fit`, and `bounds` and `fixed` too (every fit keeps to
    them); the Sweep prints as a table and draws its curves."""
    from gdc.fitting.sweep import rates_of, run_sweep

    rates = rates_of(lr)
    base = fit_options(method, rates[0], **options)
    _check_outputs(model, data, {"plot": plot})
    problem = prepare(model, data, mapping=mapping, drop_nonfinite=drop_nonfinite)
    result = run_sweep(problem, base, rates, init, bounds, fixed)
    if plot is not None:
        result.plot(plot)
    return result


def load_result(path: str | os.PathLike, model: str | os.PathLike | None = None) -> FitResult:
    """A FitResult read back from a parameters file (`result.save`, `gdc fit --save`): it
    predicts, saves and reports as the fit did (without the loss history). `model` overrides
    the model the file names (a path, or the text)."""
    from gdc.fitting.problem import model_identity
    from gdc.fitting.report import load_params
    from gdc.fitting.saved import restore
    from gdc.io.source import looks_like_path, read_model

    doc = load_params(path)
    given = model if model is not None else doc.get("model") or doc.get("model_text")
    if given is None:
        raise GdcError("the file does not say which model it belongs to", where=os.fspath(path),
                       hint="pass model=PATH or the model text")
    where, text = read_model(given)
    known = doc.get("classified_by") or {}
    kernels = _compile_text(where, text, known.get("names"), known.get("origin", "--data"))
    if doc.get("model_hash") not in (model_identity(text, kernels), kernels.model_hash):
        raise GdcError(f"these parameters were fitted to another model (or another version of "
                       f"{where}): the model hash differs", where=os.fspath(path),
                       hint="pass model= the model they were fitted to, or fit again")
    source = os.fspath(given) if isinstance(given, os.PathLike) or looks_like_path(given) else None
    return restore(doc, kernels, os.fspath(path), source, text)
