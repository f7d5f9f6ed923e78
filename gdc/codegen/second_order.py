"""Plan to the second-order kernels: jtj_jtr and residuals_jacobian (least squares), loss_grad_hess.

An extension of codegen.py, with its emitters: JᵀJ, Jᵀr and Σr² are sums over the samples
like the loss, so they are accumulated in ONE fused pass by the same machinery (cse'd,
numeric factors pulled out); the Hessian's p(p+1)/2 entries likewise, beside the gradient.
"""

from __future__ import annotations

from .scalar import (Accumulation, Plan, _arrays, _data_args, _finish_into, _Function, _sums_function,
                      accumulate)
from gdc.calculus.symbolic import Sum


def _pairs(size: int) -> list[tuple[int, int]]:
    return [(j, k) for j in range(size) for k in range(j, size)]


def _square_targets(out: str, size: int) -> list[list[str]]:
    """Both triangles of a symmetric matrix, one entry (j ≤ k) at a time."""
    return [[f"{out}[{j}, {k}]"] + ([f"{out}[{k}, {j}]"] if j != k else []) for j, k in _pairs(size)]


def _check_square(f: _Function, out: str, size: int) -> None:
    f.emit(f"if {out}.shape[0] != {size} or {out}.shape[1] != {size}:")
    f.emit(f'raise ValueError("{out} must be a square matrix, one row per name in PARAM_NAMES")', 2)


def jtj_accumulation(p: Plan) -> Accumulation:
    """Σr², Σ r·∂r/∂θⱼ and Σ ∂r/∂θⱼ·∂r/∂θₖ (j ≤ k): everything Gauss–Newton needs, one pass."""
    r, jac = p.residual, p.residual_partials
    exprs = [Sum(r ** 2)] + [Sum(r * d) for d in jac] + [Sum(jac[j] * jac[k]) for j, k in _pairs(len(jac))]
    return accumulate(exprs)


def _jtj_jtr(p: Plan, acc: Accumulation) -> str:
    """jtj_jtr(params, *data, jtj_out, jtr_out) -> Σr²: JᵀJ (both triangles) and Jᵀr, one pass."""
    size = len(p.params)
    f = _Function(p, f"jtj_jtr(params, {_data_args(p)}, jtj_out, jtr_out)")
    f.check_sizes(_arrays(p))
    _check_square(f, "jtj_out", size)
    f.emit(f"if jtr_out.shape[0] != {size}:")
    f.emit('raise ValueError("jtr_out must hold one value per name in PARAM_NAMES")', 2)
    f.emit(f"return _jtj_finish(params, _jtj_sums(params, {_data_args(p)}, 0, n), 1.0 / n, jtj_out, jtr_out)")
    return f.source()


def _residuals_jacobian(p: Plan) -> str:
    """residuals_jacobian(params, *data, r_out, jac_out): r and ∂r/∂θ per sample (N×p memory;
    for what the fused pass cannot give, e.g. geodesic acceleration's second directional derivative)."""
    size = len(p.params)
    f = _Function(p, f"residuals_jacobian(params, {_data_args(p)}, r_out, jac_out)")
    f.check_sizes(_arrays(p))
    f.emit(f"if r_out.shape[0] != n or jac_out.shape[0] != n or jac_out.shape[1] != {size}:")
    f.emit('raise ValueError("r_out must hold one value per row, jac_out one row per row of data '
           'and one column per name in PARAM_NAMES")', 2)
    exprs = [p.residual, *p.residual_partials]
    f.read_params(exprs)
    f.emit("for i in range(n):")
    f.read_data(exprs, 2)
    values = f.shared(exprs, 2)
    f.emit(f"r_out[i] = {f.text(values[0])}", 2)
    for j, value in enumerate(values[1:]):
        f.emit(f"jac_out[i, {j}] = {f.text(value)}", 2)
    f.emit("return n")
    return f.source()


def _loss_grad_hess(p: Plan) -> str:
    """loss_grad_hess(params, *data, grad_out, hess_out) -> loss: one pass."""
    f = _Function(p, f"loss_grad_hess(params, {_data_args(p)}, grad_out, hess_out)")
    f.check_sizes(_arrays(p), grad_out=True)
    _check_square(f, "hess_out", len(p.params))
    f.emit(f"return _hess_finish(params, _hess_sums(params, {_data_args(p)}, 0, n), 1.0 / n, "
           "grad_out, hess_out)")
    return f.source()


def second_order_parts(p: Plan) -> list[str]:
    """The kernels that exist for this model: jtj_jtr (least squares), loss_grad_hess."""
    size = len(p.params)
    parts = []
    if p.residual is not None:
        acc = jtj_accumulation(p)
        targets = [[f"jtr_out[{j}]"] for j in range(size)] + _square_targets("jtj_out", size)
        parts += [_sums_function(p, acc, "_jtj_sums", indexed=False),
                  _finish_into(p, acc, "_jtj_finish", ", jtj_out, jtr_out", targets),
                  _jtj_jtr(p, acc), _residuals_jacobian(p)]
    if p.hessian is not None:
        acc = accumulate([p.loss, *p.partials, *p.hessian])
        targets = [[f"grad_out[{j}]"] for j in range(size)] + _square_targets("hess_out", size)
        parts += [_sums_function(p, acc, "_hess_sums", indexed=False),
                  _finish_into(p, acc, "_hess_finish", ", grad_out, hess_out", targets),
                  _loss_grad_hess(p)]
    return parts
