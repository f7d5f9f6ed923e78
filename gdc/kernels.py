"""The compiled kernels of one model, as a plain object; the runtime side (no sympy, no lark)."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Kernels:
    """What a caller needs to run a compiled model.

    The calling convention (fixed, see README): `params` is a 1-D float64 array in the order
    of `param_names`; each data name is one positional 1-D float64 array of length N, in the
    order of `data_names`.

    - loss(params, *data) -> float
    - loss_grad(params, *data, grad_out) -> float: one fused pass, fills grad_out
    - loss_grad_parallel(params, *data, grad_out) -> float: same, fixed chunking, bit-identical
      for any thread count
    - sgd_epoch(params, *data, lr, order) -> float: per-sample updates in `order`, in place;
      returns the mean per-sample loss seen during the epoch (before each update)
    - minibatch_epoch(params, *data, lr, batch_size, order) -> float: likewise, per batch
    - predict(params, *inputs) -> ndarray: the model's prediction; `inputs` are the data
      names the prediction uses, in the order of `input_names`

    Second order (None where the model has none, see below):
    - jtj_jtr(params, *data, jtj_out, jtr_out) -> float: for a least-squares loss
      (loss = lsq_scale·Σᵢ rᵢ², or lsq_scale/N·Σᵢ rᵢ² when lsq_mean), one pass that fills
      jtj_out (p×p) with JᵀJ and jtr_out with Jᵀr, J = ∂r/∂θ, and returns Σᵢ rᵢ².
      None when the loss is not least squares.
    - residuals_jacobian(params, *data, r_out, jac_out) -> int: r (N) and J (N×p) written
      out; for least squares only, like jtj_jtr.
    - loss_grad_hess(params, *data, grad_out, hess_out) -> float: the loss, gradient and
      Hessian (p×p) in one pass. None when a second derivative has no kernel form.
    Neither exists for models of more than 50 parameters (gdc.hessian.MAX_SECOND_ORDER).
    """

    param_names: tuple[str, ...]
    data_names: tuple[str, ...]
    input_names: tuple[str, ...]
    initial: np.ndarray
    model_hash: str
    module: ModuleType
    path: str | None  # the generated source file, when it lives on disk

    @property
    def loss(self) -> Callable:
        return self.module.loss

    @property
    def loss_grad(self) -> Callable:
        return self.module.loss_grad

    @property
    def loss_grad_parallel(self) -> Callable:
        return self.module.loss_grad_parallel

    @property
    def sgd_epoch(self) -> Callable:
        return self.module.sgd_epoch

    @property
    def minibatch_epoch(self) -> Callable:
        return self.module.minibatch_epoch

    @property
    def predict(self) -> Callable:
        return self.module.predict

    @property
    def jtj_jtr(self) -> Callable | None:
        return getattr(self.module, "jtj_jtr", None)

    @property
    def residuals_jacobian(self) -> Callable | None:
        return getattr(self.module, "residuals_jacobian", None)

    @property
    def loss_grad_hess(self) -> Callable | None:
        return getattr(self.module, "loss_grad_hess", None)

    @property
    def lsq_scale(self) -> float | None:
        return getattr(self.module, "LSQ_SCALE", None)

    @property
    def lsq_mean(self) -> bool:
        return bool(getattr(self.module, "LSQ_MEAN", False))

    @classmethod
    def from_module(cls, module: ModuleType, path: str | None = None) -> "Kernels":
        """Wrap a generated module (it defines PARAM_NAMES, DATA_NAMES, INPUT_NAMES, INITIAL, MODEL_HASH)."""
        return cls(tuple(module.PARAM_NAMES), tuple(module.DATA_NAMES), tuple(module.INPUT_NAMES),
                   np.array(module.INITIAL, dtype=np.float64), module.MODEL_HASH, module, path)
