"""The GPU's side of the Python face (gdc.api): a model's CUDA module made, cached and loaded
beside its CPU module, and the problem a fit runs on the device.

The CUDA module of a scalar model is one (key: sha256("cuda:" + the CPU key)); a shaped model's
kernels are made for the sizes the data give (gdc.codegen.cuda_shaped), one module per set of
sizes (key: the CPU key and the sizes), made when a call first meets them
(gdc.runtime.cuda_shaped). Every module is checked, sealed and cached as the CPU one is.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from gdc.errors import InternalError

if TYPE_CHECKING:
    from gdc.fitting.problem import Problem
    from gdc.runtime.kernels import Kernels


def cuda_kernels_of(kernels: "Kernels", text: str, where: str, names: tuple[str, ...] | None,
                    data_origin: str = "--data", cache_dir: str | os.PathLike | None = None):
    """The CUDA kernels beside `kernels`, the CPU kernels of the text compiled with the data
    `names` (None: the naming rule's): a gdc.runtime.cuda.CudaKernels, or for a shaped model a
    gdc.runtime.cuda_shaped.ShapedCudaKernels that makes one per set of sizes."""
    from gdc.runtime import cache, cuda
    from gdc.runtime.keys import model_key
    from gdc.runtime.passes import shaped

    cuda.require("the GPU kernels")
    cpu_key = model_key(text, names)
    if cpu_key != kernels.model_hash:
        raise InternalError("the CPU kernels do not belong to this model text and these data names")
    directory = None if cache_dir is None else Path(cache_dir)

    def at(sizes: dict[str, int]):
        key = cuda_key(cpu_key, sizes)
        module_text, path, reason = cache.cached_text(key, directory)
        if module_text is None:
            module_text = cuda_module_text(text, where, names, data_origin, cpu_key, sizes)
            path = cache.store_text(key, module_text, reason, directory)
        return cuda.CudaKernels(kernels, cuda.load(str(path), module_text))
    if not shaped(kernels.module):
        return at({})
    from gdc.runtime.cuda_shaped import ShapedCudaKernels
    return ShapedCudaKernels(kernels, at)


def cuda_key(cpu_key: str, sizes: dict[str, int]) -> str:
    """The CUDA module's cache key: the CPU module's, whose finish functions it needs, and the
    sizes a shaped model's kernels are made for (none for a scalar model: its key as before)."""
    at = "".join(f":{name}={int(value)}" for name, value in sorted(sizes.items()))
    return hashlib.sha256(f"cuda:{cpu_key}{at}".encode("utf-8")).hexdigest()


def cuda_module_text(text: str, where: str, names: tuple[str, ...] | None, data_origin: str, cpu_key: str,
                     sizes: dict[str, int]) -> str:
    """The sealed CUDA module of the model (a shaped model's at `sizes`)."""
    from gdc.codegen.cuda import generate_cuda
    from gdc.codegen.cuda_shaped import check_sizes
    from gdc.codegen.planned import planned, symbolic_model

    key = (text, where, names, data_origin)
    sm = symbolic_model(*key)
    sizes = check_sizes(sm, sizes)   # before the derivation (seconds); a scalar model has none
    return generate_cuda(sm, cuda_key(cpu_key, sizes), cpu_key, sizes, planned(*key))


def on_device(problem: "Problem", device: str, dtype: str, per_sample: bool,
              cuda_kernels: Callable) -> "Problem":
    """gdc.api.on_device: the problem on the CPU, or on the GPU with its CUDA kernels
    (`cuda_kernels`: gdc.api's, which reads the data names as the compile did)."""
    from gdc.fitting.device import checked_device, on_gpu, wants_gpu

    checked_device(device, dtype)
    kernels = functools.cache(lambda: _cuda_of(problem, cuda_kernels))
    if not wants_gpu(problem, device, per_sample, lambda: _too_large(kernels)):
        return problem
    return on_gpu(problem, kernels(), dtype)


def _cuda_of(problem: "Problem", cuda_kernels: Callable):
    """The CUDA kernels of the problem's model, for its data's sizes."""
    if problem.model_text is None:   # gdc.fit(gdc.compile(...), ...): their text is known to .cuda
        found = problem.kernels.cuda
    else:
        known, origin = problem.classified_by
        # where as the CPU compile had it (gdc.io.source.read_model's name for model text): the
        # same key of codegen.planned, so the plan derived for the CPU module serves this one
        where = problem.model_source or "<string>"
        found = cuda_kernels(problem.kernels, problem.model_text, where, known, origin)
    return found.bound(problem.data)


def _too_large(kernels: Callable) -> str | None:
    """Why the CUDA kernels cannot be made for these sizes (None when they can): `--device auto`
    then stays on the CPU."""
    from gdc.codegen.cuda_shaped import TooLarge
    try:
        kernels()
    except TooLarge as exc:
        return exc.message
    return None
