"""`gdc fit`, `gdc predict` and `gdc lr-sweep`: train a model on data, use it, compare rates."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from gdc.errors import GdcError, printable
from gdc.fitting.options import (BATCH_SIZE, BETA1, BETA2, EPS, FTOL, FULL_BATCH_EPOCHS, GTOL,
                                 LBFGS_GTOL, LBFGS_TOL,
                                 MAX_BUNDLE, MAX_SECOND_ORDER, MAX_STATISTICS, METHODS, MOMENTUM,
                                 PATIENCE, POWER_T, SCHEDULES, STEP_EVERY, STEP_FACTOR,
                                 STOCHASTIC_EPOCHS, TOL, XTOL, Schedule)
from .derive import count, positive_number

FIT_HELP = """\
Fit the parameters of a gd model to a data file. By default (--method auto) gdc looks at
the loss: a loss with kinks (abs, max, min) is fitted by a bundle method, a sum of squared
residuals by Levenberg–Marquardt, another loss of a few parameters by Newton's method
(damped), another smooth loss by L-BFGS, anything else by gradient descent. A fit is reported
converged only when a certificate holds at its answer (the gap to a minimum the curvature
predicts; past 50 parameters without a Hessian kernel, estimated from a few Hessian-vector
products); otherwise the report says why not, and what to try.

The model's undeclared names that are columns of the data file are data; the others are
parameters. --map NAME=COLUMN feeds a model data name from a column of another name.
A data vector `data x[d]` takes the columns x1, x2, … (or x_1, …, x0, …) of the file, or
those given as --map x=COL1:COL2:…; d is their number.

Bounds and fixed parameters: --bound k=0:10 keeps k in [0, 10] (k=0: for k ≥ 0, k=:10,
inf and -inf; 'k=(0, 10]' for open ends); --fix b=0 holds b at 0 without recompiling. A name
is a parameter (all of a vector or matrix) or one element, 'W[1, 2]'. Both repeat, or take a
comma list. --bound narrows the model's own bounds (`param k = 1 in (0, inf)`), never widens
them. Every method keeps to the box (lm and newton by projected steps, lbfgs by projected
quasi-Newton steps with L-BFGS-B's semantics, the first-order methods by projecting after each
update; bundle takes none); a parameter that ends on a bound or is fixed is marked in the
report and has no standard error.

On an NVIDIA GPU (--device gpu; numba-cuda, pip install 'gdc[gpu]'): the data are copied to
the device once, and each step moves only the parameters there and the sums back. Every
full-batch method (sgd, minibatch and --batch-size update from samples on the CPU only);
vectors and matrices up to what a GPU thread's local arrays hold (logistic regression on
1024 inputs; an error says so past it). --device auto takes the GPU when there is one, the
data have a million rows or more and the model fits, and says which. --dtype float32 stores
the data on the GPU in single precision (half the traffic; sums in float64; each value then
carries a relative rounding of about 6e-8).

Larger data: DATA may be a glob ('data/*.parquet', quoted) or a folder of Parquet or CSV
files with the same columns. They are loaded into memory when they fit in a quarter of the
free memory; otherwise, or with --stream, every pass over the data reads them from disk in
bounded batches (memory stays small whatever their size). --dask local:N fits on N worker
processes of this machine, --dask tcp://HOST:8786 on a running Dask scheduler's workers,
which hold the data in memory. Both run the full-batch methods (auto, lm, newton, lbfgs,
gd, momentum, adam, bundle) with the in-memory answer; sgd, minibatch and --batch-size are
refused. The report says how many passes over the data the fit made."""

SWEEP_HELP = """\
Fit once per learning rate and compare: epochs to converge, or 'diverged' — the
learning-rate experiment of every gradient-descent tutorial."""


def add_parser(sub) -> None:
    fit = sub.add_parser("fit", help="fit a model's parameters to data by gradient descent",
                         description=FIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(fit)
    fit.add_argument("--lr", type=float, metavar="RATE",
                     help="learning rate (default: chosen by gdc so that the fit does not diverge)")
    _box_arguments(fit)
    fit.add_argument("--json", action="store_true", help="print the result as one JSON object "
                     "(with the covariance and correlation matrices of a least-squares fit)")
    u = fit.add_argument_group("measurement errors and uncertainties (least-squares losses)")
    u.add_argument("--sigma", metavar="COLUMN",
                   help="a data column of measurement errors σ > 0: each residual is divided by its "
                        "σ, the loss becomes c·Σ((y − Y)/σ)² (scipy curve_fit's sigma)")
    u.add_argument("--absolute-sigma", action="store_true",
                   help="σ are the errors themselves: covariance (JᵀJ)⁻¹, not scaled by χ²/(N − p) "
                        "(curve_fit's absolute_sigma=True; default: σ are relative weights)")
    u.add_argument("--ci", metavar="LEVEL|profile",
                   help="confidence intervals in the report: a level such as 0.95 (value ± t·standard "
                        "error, Student's t with N − p degrees of freedom), or profile / profile:0.9 "
                        "(profile likelihood: each parameter held, the others refitted within the "
                        "bounds, as lmfit's conf_interval; default level 0.95). An end may be a bound, "
                        "or unknown where a refit does not converge; the report says which")
    fit.add_argument("--save", metavar="PARAMS.json", help="write the fitted parameters (for gdc predict)")
    fit.add_argument("--history", metavar="LOSS.csv", help="write the loss after every epoch")
    fit.add_argument("--plot", metavar="FIT.png",
                     help="draw the loss curve, the data and fitted curve (one input), "
                          "and the loss surface with the optimizer's path (two parameters)")
    g = fit.add_argument_group("device")
    g.add_argument("--device", default="cpu", choices=("cpu", "gpu", "auto"),
                   help="where the kernels run: cpu (default), gpu (NVIDIA, numba-cuda), or auto "
                        "(the GPU when there is one, the data have ≥ 10⁶ rows and the model fits a GPU "
                        "thread's arrays; it says which)")
    g.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                   help="how the data are stored on the GPU (default float64; float32: half the "
                        "memory traffic, values rounded to about 6e-8 relative)")
    scale = fit.add_argument_group("larger data (a glob or folder of Parquet or CSV files)")
    scale.add_argument("--stream", action="store_true",
                       help="read the files from disk on every pass, in bounded batches, instead of "
                            "loading them (the default when they do not fit in memory)")
    scale.add_argument("--dask", metavar="local:N|tcp://HOST:PORT",
                       help="fit on Dask workers: N new worker processes on this machine (at most one "
                            "per core), or those of a running scheduler (pip install 'gdc[dask]')")
    fit.set_defaults(run=run_fit, command_name="fit")

    sweep = sub.add_parser("lr-sweep", help="fit with several learning rates and compare",
                           description=SWEEP_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(sweep)
    _box_arguments(sweep)
    sweep.add_argument("--lr", required=True, type=_rates, metavar="R1,R2,...",
                       help="the learning rates to try, e.g. 0.001,0.01,0.1,1")
    sweep.add_argument("--json", action="store_true", help="print one JSON object per rate, in a list")
    sweep.add_argument("--plot", metavar="SWEEP.png", help="draw the loss curves side by side")
    sweep.set_defaults(run=run_sweep, command_name="lr-sweep")

    predict = sub.add_parser("predict", help="write a fitted model's predictions for a data file "
                                             "(a vector model's as columns p1 … pK)")
    predict.add_argument("model", help="the model file (.gd)")
    predict.add_argument("params", help="the parameters written by gdc fit --save")
    predict.add_argument("data", help="the data file (.csv, .npy, .npz, .parquet)")
    predict.add_argument("-o", "--output", metavar="OUT.csv", help="write here (default: standard output)")
    predict.add_argument("--map", metavar="NAME=COLUMN,...",
                         help="read model input NAME from COLUMN (default: as when fitting)")
    predict.add_argument("--drop-nonfinite", action="store_true", help="skip rows holding NaN or inf")
    predict.set_defaults(run=run_predict)


def _common(p) -> None:
    p.add_argument("model", help="the model file (.gd)")
    p.add_argument("data", help="the data file (.csv, .npy, .npz, .parquet), or a quoted glob or a folder "
                                "of .parquet or .csv files")
    d = p.add_argument_group("data")
    d.add_argument("--map", metavar="NAME=COLUMN,...",
                   help="feed model data NAME from COLUMN, e.g. Y=weight,x=height; a data vector "
                        "from several columns: x=age:sex:bmi")
    d.add_argument("--drop-nonfinite", action="store_true",
                   help="skip rows holding NaN, inf or an empty cell (refused by default)")
    m = p.add_argument_group("method")
    m.add_argument("--method", choices=tuple(METHODS),
                   help=f"auto (the default of fit: bundle for a loss with kinks of up to {MAX_BUNDLE} "
                        f"parameter values, lm for a sum of squared residuals of up to {MAX_STATISTICS}, "
                        f"else newton for a scalar model of up to {MAX_SECOND_ORDER}, else lbfgs for a "
                        "smooth loss, else gd), "
                        "lm (Levenberg–Marquardt), newton (damped), bundle (a proximal bundle method, "
                        "for losses with kinks), lbfgs (L-BFGS with a strong Wolfe line search; stops "
                        "on --gtol, the largest |∂J/∂θ|, or --tol; with --bound or --fix, L-BFGS-B's "
                        "semantics by projected steps), gd (full batch), sgd (one row at a time), "
                        "minibatch, momentum, adam (lr-sweep's default: gd)")
    m.add_argument("--batch-size", type=int, metavar="N",
                   help=f"rows per update: minibatch (default {BATCH_SIZE}), momentum and adam (default: all)")
    m.add_argument("--schedule", default="constant", choices=SCHEDULES,
                   help="learning-rate schedule (default: constant; sgd and minibatch without --lr "
                        "decay their probed rate)")
    m.add_argument("--power-t", type=float, default=POWER_T, metavar="P",
                   help=f"invscaling: lr / (1 + epoch)^P (default {POWER_T:g})")
    m.add_argument("--step-every", type=int, default=STEP_EVERY, metavar="N",
                   help=f"step: every N epochs (default {STEP_EVERY})")
    m.add_argument("--step-factor", type=float, default=STEP_FACTOR, metavar="F",
                   help=f"step: multiply the rate by F (default {STEP_FACTOR:g})")
    m.add_argument("--momentum", type=float, default=MOMENTUM, metavar="MU",
                   help=f"momentum: MU (default {MOMENTUM:g})")
    m.add_argument("--nesterov", action="store_true", help="momentum: Nesterov's variant")
    m.add_argument("--beta1", type=float, default=BETA1, help=f"adam: β1 (default {BETA1:g})")
    m.add_argument("--beta2", type=float, default=BETA2, help=f"adam: β2 (default {BETA2:g})")
    m.add_argument("--eps", type=float, default=EPS, help=f"adam: ε (default {EPS:g})")
    m.add_argument("--seed", type=count(0), default=0,
                   help="seed of the row shuffling and of random initial values (default 0)")
    m.add_argument("--no-shuffle", action="store_true", help="visit the rows in file order")
    m.add_argument("--init", action="append", metavar="NAME=VALUE,...",
                   help="initial parameter values, e.g. m=1,b=0; w=0 sets every element of a "
                        "vector or matrix w (default: the model's values; elements without one "
                        "start small and random, drawn with --seed); repeat, or a comma list")
    s = p.add_argument_group("stopping")
    s.add_argument("--epochs", "--max-iter", dest="epochs", type=int, metavar="N",
                   help="at most N epochs, i.e. passes over the data; for gd, steps "
                        f"(default {FULL_BATCH_EPOCHS}, or {STOCHASTIC_EPOCHS} for sgd, minibatch "
                        "and --batch-size)")
    s.add_argument("--tol", type=float,
                   help="first-order methods: stop when the loss changes by less than this, "
                        f"relatively (below 1), {PATIENCE} epochs in a row (default {TOL:g}). lm and newton stop "
                        f"at full precision: a relative step of {XTOL:g} or a relative loss change of "
                        f"{FTOL:g}; with auto, giving --tol or --gtol chooses gd. Either way the fit "
                        "is called converged only when the curvature puts its loss near a minimum")
    s.add_argument("--gtol", type=float,
                   help=f"first-order methods: stop when the gradient norm falls to this (default "
                        f"{GTOL:g}); lbfgs: when the largest |∂J/∂θ| does, as scikit-learn's tol "
                        f"(default {LBFGS_GTOL:g}, with --tol {LBFGS_TOL:.3g})")
    s.add_argument("--no-certify", action="store_true",
                   help="skip the curvature estimate that certifies a converged fit (a few passes over "
                        "the data); the report then says that only the stop rule vouches for it")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display and no preamble")


def _box_arguments(parser) -> None:
    """--bound and --fix, for fit and lr-sweep."""
    b = parser.add_argument_group("bounds and fixed parameters")
    b.add_argument("--bound", action="append", metavar="NAME=LOW:HIGH",
                   help="keep a parameter in [LOW, HIGH], e.g. k=0:10, k=0: (k ≥ 0), k=-inf:0, or "
                        "'k=(0, 10]' with open ends; repeat, or give a comma list")
    b.add_argument("--fix", action="append", metavar="NAME=VALUE",
                   help="hold a parameter (or an element, 'w[0]') at VALUE, e.g. b=0; repeat, or a comma list")


def _box(args, problem):
    """The --bound and --fix of the command line, checked against the model (an unknown name
    fails here, before any output)."""
    from gdc.fitting.bounds import make_box, parse_bounds, parse_fixed
    bounds = parse_bounds(args.bound) if args.bound else None
    fixed = parse_fixed(args.fix) if args.fix else None
    make_box(problem.kernels, problem.params_layout, bounds, fixed)
    return bounds, fixed


def _rates(text: str) -> list[float]:
    rates = [positive_number(part) for part in text.split(",") if part.strip()]
    if not rates:
        raise argparse.ArgumentTypeError("give at least one learning rate")
    return rates


def _options(args, lr: float | None):
    from gdc.fitting.options import Options
    schedule = Schedule(args.schedule, args.power_t, args.step_every, args.step_factor)
    method = args.method or ("gd" if args.command_name == "lr-sweep" else "auto")
    options = Options(method=method, lr=lr, schedule=schedule, epochs=args.epochs,
                      batch_size=args.batch_size, momentum=args.momentum, nesterov=args.nesterov,
                      beta1=args.beta1, beta2=args.beta2, eps=args.eps, seed=args.seed,
                      shuffle=not args.no_shuffle, certify=not args.no_certify)
    return options.with_tolerances(args.tol, args.gtol).validate()


def _prepare(args, outputs: list[tuple[str | None, str]], client=None):
    """Check the options and outputs, then read the data and compile (the slow part, last)."""
    from gdc.io.data import parse_mapping
    from gdc.api import prepare
    from gdc.fitting.run import initial_params, parse_init
    from gdc.io.files import distinct_outputs, guard_output
    from gdc.runtime.numba_start import start_numba
    init = parse_init(args.init) if args.init else None
    distinct_outputs(outputs)
    for path, option in outputs:
        if path is not None:
            guard_output(path, [args.model, args.data], option)
    mapping = parse_mapping(args.map) if args.map else None
    weights = dict(sigma=getattr(args, "sigma", None), absolute_sigma=getattr(args, "absolute_sigma", False))
    start_numba()
    problem = prepare(args.model, args.data, mapping=mapping, drop_nonfinite=args.drop_nonfinite, **weights,
                      stream=getattr(args, "stream", False), client=client)
    initial_params(problem.kernels, init, problem.params_layout)   # unknown names fail here, before any output
    return problem, init


def _say(args, text: str) -> None:
    """Informational lines: on stdout in text mode, on stderr beside --json, never with --quiet.
    Column names come from the data file: they are printed with control characters escaped."""
    if not args.quiet:
        print(printable(text), file=sys.stderr if args.json else sys.stdout)


def run_fit(args) -> int:
    from gdc.fitting.intervals import parse_ci
    from gdc.fitting.device import checked_device
    options = _options(args, args.lr)
    checked_device(args.device, args.dtype)
    outputs = [(args.save, "--save"), (args.history, "--history"), (args.plot, "--plot")]
    wanted = parse_ci(args.ci) if args.ci is not None else None
    if args.absolute_sigma and args.sigma is None:
        raise GdcError("--absolute-sigma says how to read the errors of --sigma", where="--absolute-sigma",
                       hint="give the column of errors: --sigma COLUMN")
    if args.dask is not None:   # the cluster lives as long as the command
        from gdc.scale.dask_source import connect
        from gdc.scale.problem import refuse_stream_with_dask
        refuse_stream_with_dask(args.stream, True)
        client, cluster = connect(args.dask)
        try:
            return _fit_with(args, options, outputs, wanted, client)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return _fit_with(args, options, outputs, wanted)


def _fit_with(args, options, outputs, wanted, client=None) -> int:
    from gdc.fitting.problem import FitFailed
    from gdc.fitting.run import run
    from gdc.fitting.progress import progress_bar
    from gdc.io.files import write_atomic
    from gdc.fitting.report import dumps, history_lines, preamble, result_json, result_text, save_params
    from gdc.io.files import guard_output
    from gdc.fitting.intervals import with_intervals
    from gdc.api import on_device
    problem, init = _prepare(args, outputs, client)
    if args.plot:
        from gdc.fitting.out_of_core import plot_allowed
        plot_allowed(problem.backend)
    bounds, fixed = _box(args, problem)   # unknown names fail here, before any output
    fitted = on_device(problem, args.device, args.dtype, options.stochastic)   # the host problem stays for plot, save, --ci
    where = "" if fitted.backend != "gpu" else f"\n  device      {fitted.backend} (the data copied there once, {args.dtype})"
    _say(args, preamble(problem, options) + where + "\n")
    progress = progress_bar(options.max_epochs, options.method, args.quiet)
    try:
        result = run(fitted, options, init=init, progress=progress, bounds=bounds, fixed=fixed)
    finally:
        if progress is not None:
            progress.close()
    if problem.backend != "cpu":
        from gdc.scale.problem import with_passes
        result = with_passes(result, problem)
    if args.history:
        path = guard_output(args.history, [args.model, args.data], "--history")
        write_atomic(path, history_lines(result, problem.kernels.param_names))
    if args.plot:
        from gdc.fitting.plot import plot_fit
        plot_fit(result, problem, args.plot)
    if result.reason.failed:
        if args.json:
            print(dumps(result_json(result)))
        raise FitFailed(result)
    result = dataclasses.replace(result, problem=problem)
    if wanted is not None:
        result = with_intervals(result, *wanted)
    if args.save:
        save_params(args.save, result, problem)
    print(dumps(result_json(result)) if args.json else printable(result_text(result)))
    for path, what in ((args.save, "parameters"), (args.history, "loss history"), (args.plot, "plot")):
        if path:
            _say(args, f"wrote the {what} to {path}")
    return 130 if result.reason == "interrupted" else 0


def run_sweep(args) -> int:
    from gdc.fitting.run import run
    from gdc.fitting.report import dumps, result_json, sweep_text
    problem, init = _prepare(args, [(args.plot, "--plot")])
    bounds, fixed = _box(args, problem)
    base = _options(args, args.lr[0])
    _say(args, preamble_for_sweep(problem, base, args.lr))
    results = [run(problem, dataclasses.replace(base, lr=lr), init=init, bounds=bounds, fixed=fixed)
               for lr in args.lr]
    if args.plot:
        from gdc.fitting.plot import plot_sweep
        plot_sweep(results, problem, args.plot)
    print(dumps([result_json(r) for r in results]) if args.json else printable(sweep_text(results)))
    if args.plot:
        _say(args, f"wrote the plot to {args.plot}")
    return 0


def preamble_for_sweep(problem, options, rates) -> str:
    from gdc.fitting.report import preamble
    text = preamble(problem, options).rsplit("\n", 1)[0]   # the method line names one rate
    method = options.method + (" (nesterov)" if options.nesterov else "")
    return f"{text}\n  method      {method}, lr {', '.join(f'{r:g}' for r in rates)}\n"


def run_predict(args) -> int:
    import numpy as np

    from gdc.io.data import parse_mapping, read_table, select_columns
    from gdc.api import compile as compile_model
    from gdc.fitting.problem import model_identity
    from gdc.io.source import read_model
    from gdc.io.files import write_atomic
    from gdc.fitting.report import predictions_csv
    from gdc.io.params_file import load_params
    from gdc.io.files import guard_output
    from gdc.runtime.numba_start import start_numba
    doc = load_params(args.params)
    out = guard_output(args.output, [args.model, args.params, args.data], "-o") if args.output else None
    known = doc.get("classified_by") or {}
    start_numba()
    kernels = compile_model(args.model, known.get("names"),
                           data_origin=known.get("origin", "--data"))
    _, text = read_model(args.model)
    if model_identity(text, kernels) != doc.get("model_hash"):
        raise GdcError(f"these parameters were fitted to another model (or another version of "
                       f"{args.model}): the model hash differs", where=args.params,
                       hint=f"fit again: gdc fit {args.model} DATA --save {args.params}")
    table = read_table(args.data, drop_nonfinite=args.drop_nonfinite)
    shapes = dict(zip(kernels.data_names, kernels.data_shapes))
    if args.map:
        mapping = parse_mapping(args.map)
    else:   # the columns of the fit, where this file has them (a vector's: COL1:COL2:…)
        saved = doc.get("columns") or {}
        mapping = {n: c for n, c in saved.items() if n in kernels.input_names and (
            c in table.names or (shapes.get(n) and all(p in table.names for p in c.split(":"))))}
    inputs = select_columns(table, kernels.input_names, mapping, shapes)
    layout = kernels.layout(inputs, args.data, known=doc.get("sizes") or {})
    params = layout.flatten(doc["params"], where=args.params)
    prediction = kernels.predict(params, *(inputs[name] for name in kernels.input_names))
    finite = np.isfinite(prediction).reshape(len(prediction), -1).all(axis=1)
    if not finite.all():
        bad = int(np.argmin(finite))
        print(f"gdc predict: warning: the prediction is not finite for record {bad + 1} "
              f"(and {int((~finite).sum()) - 1} others)", file=sys.stderr)
    name = kernels.model_name or "prediction"
    # A vector model (softmax) gives one column per output: p1, p2, …, pK.
    outputs = [f"{name}{k + 1}" for k in range(prediction.shape[1])] if prediction.ndim == 2 else [name]
    outputs = [n + "_predicted" if n in table.names else n for n in outputs]
    predicted = list(prediction.T) if prediction.ndim == 2 else [prediction]
    if len(prediction) != table.n_rows:   # a model without inputs: one value
        names, columns = outputs, predicted
    else:
        names = list(table.names) + outputs
        columns = [table.columns[n] for n in table.names] + predicted
    name = ", ".join(outputs) if len(outputs) <= 3 else f"{outputs[0]} … {outputs[-1]}"
    text_out = predictions_csv(names, columns)
    if out is None:
        sys.stdout.write(text_out)
    else:
        write_atomic(out, text_out)
        print(f"wrote {len(prediction)} predictions ({name}) to {args.output}", file=sys.stderr)
    return 0
