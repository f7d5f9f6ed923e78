"""Plan to the second-order kernels: jtj_jtr and residuals_jacobian (least squares), loss_grad_hess.

Built from the straight-line pieces (straight.py): JᵀJ, Jᵀr and Σr² are sums over the samples
like the loss, so they are accumulated in ONE fused pass by the same machinery (cse'd,
numeric factors pulled out); the Hessian's p(p+1)/2 entries likewise, beside the gradient.
"""

from __future__ import annotations

from gdc.calculus.functions import SampleSum
from .plan import Accumulation, Plan, accumulate
from .straight import StraightFunction, StraightGenerator


def _pairs(size: int) -> list[tuple[int, int]]:
    return [(j, k) for j in range(size) for k in range(j, size)]


def _square_targets(out: str, size: int) -> list[list[str]]:
    """Both triangles of a symmetric matrix, one entry (j ≤ k) at a time."""
    return [[f"{out}[{j}, {k}]"] + ([f"{out}[{k}, {j}]"] if j != k else []) for j, k in _pairs(size)]


def _check_square(f: StraightFunction, out: str, size: int) -> None:
    f.emit(f"if {out}.shape[0] != {size} or {out}.shape[1] != {size}:")
    f.emit(f'raise ValueError("{out} must be a square matrix, one row per name in PARAM_NAMES")', 2)


def jtj_accumulation(p: Plan) -> Accumulation:
    """Σr², Σ r·∂r/∂θⱼ and Σ ∂r/∂θⱼ·∂r/∂θₖ (j ≤ k): everything Gauss–Newton needs, one pass."""
    r, jac = p.residual, p.jacobian
    exprs = [SampleSum(r ** 2)] + [SampleSum(r * d) for d in jac] + \
        [SampleSum(jac[j] * jac[k]) for j, k in _pairs(len(jac))]
    return accumulate(exprs)


def _jtj_jtr(gen: StraightGenerator, acc: Accumulation) -> str:
    """jtj_jtr(params, *data, jtj_out, jtr_out) -> Σr²: JᵀJ (both triangles) and Jᵀr, one pass."""
    size = len(gen.plan.params)

    def checks(f: StraightFunction) -> None:
        gen.check(f)
        _check_square(f, "jtj_out", size)
        f.emit(f"if jtr_out.shape[0] != {size}:")
        f.emit('raise ValueError("jtr_out must hold one value per name in PARAM_NAMES")', 2)
    return gen.fused("jtj_jtr", acc, "_jtj_sums", "_jtj_finish", ("jtj_out", "jtr_out"), checks)


def _residuals_jacobian(gen: StraightGenerator) -> str:
    """residuals_jacobian(params, *data, r_out, jac_out): r and ∂r/∂θ per sample (N×p memory;
    for what the fused pass cannot give, e.g. geodesic acceleration's second directional derivative)."""
    p = gen.plan
    size = len(p.params)
    f = gen.function(f"residuals_jacobian(params, {gen.args()}, r_out, jac_out)")
    gen.check(f)
    f.emit(f"if r_out.shape[0] != n or jac_out.shape[0] != n or jac_out.shape[1] != {size}:")
    f.emit('raise ValueError("r_out must hold one value per row, jac_out one row per row of data '
           'and one column per name in PARAM_NAMES")', 2)
    exprs = [p.residual, *p.jacobian]
    f.read_params(exprs)
    f.emit("for i in range(n):")
    f.read_data(exprs, 2)
    values = f.shared(exprs, 2)
    f.emit(f"r_out[i] = {f.text(values[0])}", 2)
    for j, value in enumerate(values[1:]):
        f.emit(f"jac_out[i, {j}] = {f.text(value)}", 2)
    f.emit("return n")
    return f.source()


def _loss_grad_hess(gen: StraightGenerator, acc: Accumulation) -> str:
    """loss_grad_hess(params, *data, grad_out, hess_out) -> loss: one pass."""
    def checks(f: StraightFunction) -> None:
        gen.check(f, ("grad_out",))
        _check_square(f, "hess_out", len(gen.plan.params))
    return gen.fused("loss_grad_hess", acc, "_hess_sums", "_hess_finish", ("grad_out", "hess_out"), checks)


def second_order_parts(gen: StraightGenerator) -> list[str]:
    """The kernels that exist for this model: jtj_jtr (least squares), loss_grad_hess."""
    p = gen.plan
    size = len(p.params)
    parts = []
    if p.residual is not None:
        acc = jtj_accumulation(p)
        targets = [[f"jtr_out[{j}]"] for j in range(size)] + _square_targets("jtj_out", size)
        parts += [gen.sums_function(acc, "_jtj_sums", indexed=False),
                  gen.finish_into(acc, "_jtj_finish", ", jtj_out, jtr_out", targets),
                  _jtj_jtr(gen, acc), _residuals_jacobian(gen)]
    if p.hessian is not None:
        acc = accumulate([p.loss, *p.gradient, *p.hessian])
        targets = [[f"grad_out[{j}]"] for j in range(size)] + _square_targets("hess_out", size)
        parts += [gen.sums_function(acc, "_hess_sums", indexed=False),
                  gen.finish_into(acc, "_hess_finish", ", grad_out, hess_out", targets),
                  _loss_grad_hess(gen, acc)]
    return parts
