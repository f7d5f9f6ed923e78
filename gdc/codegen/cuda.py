"""Plan to the source of one module of CUDA kernels (numba-cuda): the GPU backend of codegen.

The same sums as the CPU module's passes (the same `accumulate` of the same plan, so the
sums come in the same order and the CPU module's `_finish` functions assemble the loss, the
gradient, JᵀJ or the Hessian from them), computed on the device in two launches:

1. `_<pass>_blocks`: a grid-stride loop over the rows, each thread keeping its own partial
   sums in registers; then, one sum at a time, a tree reduction of the block's threads in
   shared memory; thread 0 writes the block's sums to row `blockIdx` of `partial`.
2. `_add_blocks`: one thread per sum adds the rows of `partial` in block order.

No atomics: for a given row count and grid, every addition happens in the same order, so a
run gives the same bits every time on the same GPU (the grid depends on the row count and the
device alone, gdc.runtime.cuda). The module imports math, numba and numba.cuda only, and every
name in it is gdc's or a checked, mangled user name (the check of codegen.module).
"""

from __future__ import annotations

from gdc.calculus.symbolic import SymbolicModel
from gdc.runtime.sealed import seal
from .cuda_device import (CUDA_ATTRIBUTES, CUDA_FIXED, CUDA_HELPERS, HELPER_DEVICE_NAMES, KERNEL,
                          cuda_head)
from .cuda_shaped import check_sizes, shaped_body
from .module import check_module, join, model_comment
from .plan import Accumulation, Plan, accumulate, plan
from .printer import DATA_ARRAY, DATA_VALUE
from .second_order import jtj_accumulation
from .straight import MANGLED, StraightFunction

def generate_cuda(sm: SymbolicModel, model_hash: str, cpu_hash: str, sizes: dict[str, int] | None = None,
                  planned: Plan | None = None) -> str:
    """The complete, sealed CUDA module for one model (`planned`: its plan, when made already);
    `cpu_hash` names its CPU module. A shaped model's kernels are made for the `sizes` its data
    give (codegen.cuda_shaped)."""
    where = sm.checked.program.where
    comment = model_comment(sm.checked.program.source, where)
    sizes = check_sizes(sm, sizes or {})   # before the plan's derivation (seconds); none for a scalar model
    if not sm.shaped:
        return seal(cuda_body(plan(sm) if planned is None else planned, comment, model_hash, cpu_hash), model_hash)
    p = plan(sm) if planned is None else planned
    return seal(shaped_body(p, cuda_head(p, comment, model_hash, cpu_hash), sizes, where), model_hash)


def passes(p: Plan) -> dict[str, Accumulation]:
    """The CPU module's fused passes, by the name of their sums kernel here (the same order)."""
    found = {"_loss_blocks": accumulate([p.loss]), "_grad_blocks": accumulate([p.loss, *p.gradient])}
    if p.residual is not None:
        found["_jtj_blocks"] = jtj_accumulation(p)
    if p.hessian is not None:
        found["_hess_blocks"] = accumulate([p.loss, *p.gradient, *p.hessian])
    return found


def cuda_body(p: Plan, comment: str, model_hash: str, cpu_hash: str) -> str:
    """The module text (unsealed) of a scalar model's CUDA kernels."""
    found = passes(p)
    sums = {name: len(acc.sums) for name, acc in found.items()}
    head = cuda_head(p, comment, model_hash, cpu_hash) + f"SUMS = {sums!r}\n"
    parts = [head, CUDA_HELPERS.lstrip("\n"), *(blocks_kernel(p, name, acc) for name, acc in found.items()),
             predict_kernel(p)]
    body = join(parts)
    check_module(body, CUDA_FIXED, MANGLED, CUDA_ATTRIBUTES, HELPER_DEVICE_NAMES)
    return body


def _arrays(p: Plan, inputs_only: bool = False) -> str:
    return ", ".join(DATA_ARRAY + d.name for d in (p.inputs if inputs_only else p.data))


def blocks_kernel(p: Plan, name: str, acc: Accumulation) -> str:
    """`name`(params, *data, partial): the first pass, each block's sums into its row of partial."""
    f = StraightFunction(p, f"{name}(params, {_arrays(p)}, partial)", KERNEL)
    f.emit("shared = cuda.shared.array(THREADS, numba.float64)")
    f.read_params(acc.bodies)
    for s in acc.sums:
        f.emit(f"{s.name} = 0.0")
    f.emit(f"n = {DATA_ARRAY}{p.data[0].name}.shape[0]")
    f.emit("for i in range(cuda.grid(1), n, cuda.gridsize(1)):")
    read_data(f, acc.bodies)
    for s, body in zip(acc.sums, f.shared(acc.bodies, 2)):
        f.emit(f"{s.name} += {f.text(body)}", 2)
    for j, s in enumerate(acc.sums):
        f.emit(f"total = _block_sum(shared, {s.name})")
        f.emit("if cuda.threadIdx.x == 0:")
        f.emit(f"partial[cuda.blockIdx.x, {j}] = total", 2)
    return f.source()


def read_data(f: StraightFunction, exprs) -> None:
    """Each value the loop uses, read as a float64 (float32 data: only their storage is rounded;
    a product of two data values is not)."""
    used = set().union(*(e.free_symbols for e in exprs))
    for d in f.plan.data:
        if d in used:
            f.emit(f"{DATA_VALUE}{d.name} = float({DATA_ARRAY}{d.name}[i])", 2)


def predict_kernel(p: Plan) -> str:
    """_predict(params, *inputs, out): the model's value per row (one value when it has no inputs)."""
    inputs = _arrays(p, inputs_only=True)
    f = StraightFunction(p, f"_predict(params{', ' + inputs if inputs else ''}, out)", KERNEL)
    f.read_params([p.prediction])
    f.emit("n = out.shape[0]")
    f.emit("for i in range(cuda.grid(1), n, cuda.gridsize(1)):")
    read_data(f, [p.prediction])
    (value,) = f.shared([p.prediction], 2)
    f.emit(f"out[i] = {f.text(value)}", 2)
    return f.source()
