"""A Problem on a GPU (`--device gpu`): its data copied to the device once, its kernels the CUDA ones.

The fit loops call `kernels.<fn>(params, *problem.data, outs...)`; here `problem.data` are
device arrays and the kernels' module is a proxy with the same calling convention whose loss,
loss_grad, jtj_jtr and loss_grad_hess launch the CUDA passes (gdc.runtime.cuda) and bring back
only the sums. So gd (automatic steps), lm, newton, lbfgs, the bundle method and full-batch
momentum and adam run unchanged,
and so do the checks of every answer that run on sums (gdc.fitting.verdict: the certificate
from JᵀJ, the Hessian or the gradient, the rays, the saturated columns). What needs the rows on
the host is not offered: the per-sample methods (sgd, minibatch, any --batch-size; `run`
refuses them, naming --device), `--sigma`, and the Gauss–Newton decrement from an SVD of J
(its JᵀJ form is used instead). The negative-weight check of a least-squares form
(weights.least_squares_holds) runs on the host before the copy.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Callable

import numpy as np

from gdc.errors import GdcError, notice
from gdc.runtime import cuda
from gdc.runtime.kernels import module_constants
from .problem import Problem
from .weights import least_squares_holds

DEVICES = ("cpu", "gpu", "auto")
DTYPES = tuple(cuda.DTYPES)
# --device auto takes the GPU from this many rows on: below, copying the data and launching
# two passes per call (some 20 µs) costs more than the CPU's fused pass (gdc's own measure
# on 2 cores: 10⁶ rows of a line in 0.4 ms); see the README's GPU section.
AUTO_MIN_ROWS = 1_000_000

# Data the GPU backend does not take, in words (gdc.scale's backends).
_PARTITIONED = {"stream": "streamed from disk", "dask": "held by Dask workers"}



def checked_device(device: str, dtype: str = "float64") -> None:
    """Refuse an unknown --device or --dtype, float32 data on the CPU, or --device gpu where
    there is none (before any data are read)."""
    if device not in DEVICES:
        raise GdcError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}", where="--device")
    if dtype not in DTYPES:
        raise GdcError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}", where="--dtype")
    if dtype != "float64" and device == "cpu":
        raise GdcError("--dtype float32 stores the data on the GPU in single precision; the CPU "
                       "kernels read float64", where="--dtype", hint="add --device gpu, or leave --dtype out")
    if device == "gpu":
        cuda.require("--device gpu")


def wants_gpu(problem: Problem, device: str, per_sample: bool = False,
              beyond: Callable[[], str | None] | None = None) -> bool:
    """Whether a fit of `problem` runs on the GPU: `gpu` (an error when there is none), or
    `auto` with a GPU, a fit the GPU kernels can do (full batches, no --sigma)
    and rows enough to pay for the copy, and kernels that fit a GPU thread (`beyond` says why
    not: a shaped model too large); said in a note either way."""
    if device == "cpu":
        return False
    if device == "gpu":
        cuda.require("--device gpu")
        return True
    why = cuda.missing() or _beyond_the_gpu(problem, per_sample)
    if why is not None:
        notice(f"--device auto: on the CPU ({why})")
        return False
    if problem.n_rows < AUTO_MIN_ROWS:
        notice(f"--device auto: on the CPU ({problem.n_rows} rows; the GPU pays for its copy from "
               f"{AUTO_MIN_ROWS:,} rows)")
        return False
    why = beyond() if beyond is not None else None   # last: it makes the CUDA kernels
    if why is not None:
        notice(f"--device auto: on the CPU ({why})")
        return False
    notice(f"--device auto: on the GPU ({problem.n_rows} rows)")
    return True


def _beyond_the_gpu(problem: Problem, per_sample: bool) -> str | None:
    """Why the GPU kernels cannot do this fit (None when they can)."""
    if problem.backend != "cpu":
        return f"the data are {_PARTITIONED.get(problem.backend, problem.backend)}"
    if per_sample:
        return "the method updates from samples, which the GPU kernels do not do"
    if problem.sigma is not None:
        return "--sigma weighs the residuals on the host"
    return None


def on_gpu(problem: Problem, kernels, dtype: str = "float64") -> Problem:
    """`problem` with its data on the device (copied once, as `dtype`) and `kernels` (a
    gdc.runtime.cuda.CudaKernels of its model) in a module proxy the fit loops call."""
    if problem.sigma is not None:
        raise GdcError("--sigma weighs each row's residual on the host; the GPU kernels add sums "
                       "over the rows", where="--sigma", hint="fit on the CPU (--device cpu)")
    if problem.backend != "cpu":
        raise GdcError(f"--device gpu copies data held in memory to the GPU; these are "
                       f"{_PARTITIONED.get(problem.backend, problem.backend)}", where="--device",
                       hint="fit them on the CPU (leave --device out), or load a part that fits on the GPU")
    host = problem.kernels
    kernels = kernels.bound(problem.data)   # a shaped model's: the module of these data's sizes
    keep_lsq = host.residuals_jacobian is None or least_squares_holds(
        host, problem.data, host.layout(problem.data).initial())
    # A row of a data vector is read element by element: stored column by column (Fortran
    # order), the threads of a warp read neighbouring values (one transaction), not a stride apart.
    data = tuple(cuda.to_device(np.asarray(column, dtype=cuda.DTYPES[dtype], order="F"), dtype)
                 for column in problem.data)
    module = _proxy(host.module, kernels, keep_lsq, problem.n_rows)
    return dataclasses.replace(problem, kernels=dataclasses.replace(host, module=module), data=data,
                               backend="gpu")


def _proxy(source, kernels, keep_lsq: bool, rows: int) -> SimpleNamespace:
    """The CPU module's constants, with the CUDA kernels in place of its kernels."""
    copied = module_constants(source)
    if not keep_lsq:   # a negative weight in Σ W·(y − Y)²: not least squares (as weights.without_least_squares)
        copied = {name: value for name, value in copied.items() if name not in ("LSQ_SCALE", "LSQ_MEAN")}

    def predict(params, *inputs):
        """The predictions, brought back to the host (the verdict's loss scale sums their squares)."""
        placed = tuple(cuda.to_device(column) for column in inputs)
        return kernels.predict(params, *placed, rows=rows).copy_to_host()

    extra = {}
    if keep_lsq and kernels.jtj_jtr is not None:
        extra["jtj_jtr"] = kernels.jtj_jtr
    if kernels.loss_grad_hess is not None:
        extra["loss_grad_hess"] = kernels.loss_grad_hess
    return SimpleNamespace(**copied, **extra, loss=kernels.loss, loss_grad=kernels.loss_grad,
                           loss_grad_parallel=kernels.loss_grad, predict=predict)


def refuse_per_sample(problem: Problem, method: str, stochastic: bool) -> None:
    """The per-sample methods need the rows one by one on the host: say so, naming --device."""
    if problem.backend == "gpu" and stochastic:
        raise GdcError(f"--method {method} updates from one sample or batch at a time, which the GPU "
                       "kernels do not do: they add sums over all rows", where="--device",
                       hint="use --device cpu for it, or a full-batch method on the GPU: gd, lm, newton, lbfgs")
