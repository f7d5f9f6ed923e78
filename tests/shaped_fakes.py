"""Stand-ins for generated modules of shaped models: the module constants of the calling
convention (gdc/kernels.py) and plain NumPy kernels with the generated signatures.

`linear()` is `data x[d], Y; param w[d], b; model y = dot(w, x) + b; loss mean((y - Y)^2)`,
a least-squares model with jtj_jtr and residuals_jacobian. `two_layer(h)` is
`data x[d], Y; param W[h, d], v[h], a = 0; model y = dot(v, tanh(W @ x)) + a;
loss mean((y - Y)^2)` without second-order kernels, for the matrix layout and random starts.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def _common(loss_of, grad_of, predict, **constants) -> SimpleNamespace:
    """A module from loss/gradient functions of (params, *data); `size(d)` is the flat length."""
    size = constants.pop("size")

    def checked(params, x, Y):
        if x.ndim != 2 or len(Y) != len(x):
            raise ValueError("the data disagree in shape")
        if len(params) != size(x.shape[1]):
            raise ValueError("params has the wrong length")

    def loss(params, x, Y):
        checked(params, x, Y)
        return float(loss_of(params, x, Y))

    def loss_grad(params, x, Y, grad_out):
        checked(params, x, Y)
        if len(grad_out) != len(params):
            raise ValueError("grad_out has the wrong length")
        grad_out[:] = grad_of(params, x, Y)
        return float(loss_of(params, x, Y))

    def sgd_epoch(params, x, Y, lr, order):
        total = 0.0
        for i in order:
            row = slice(i, i + 1)
            total += loss_of(params, x[row], Y[row])
            params -= lr * grad_of(params, x[row], Y[row])
        return total / len(order)

    def minibatch_epoch(params, x, Y, lr, batch_size, order):
        total = 0.0
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            total += loss_of(params, x[rows], Y[rows])
            params -= lr * grad_of(params, x[rows], Y[rows])
        return total / -(-len(order) // batch_size)

    return SimpleNamespace(GDC_VERSION="test", N_CHUNKS=1, LSQ_SCALE=1.0, LSQ_MEAN=True,
                             DATA_NAMES=("x", "Y"), INPUT_NAMES=("x",), loss=loss, loss_grad=loss_grad,
                             loss_grad_parallel=loss_grad, sgd_epoch=sgd_epoch,
                             minibatch_epoch=minibatch_epoch, predict=predict, **constants)


def linear(initial=(None, 0.0), fixed: int | None = None) -> SimpleNamespace:
    """w[d] (or w[fixed]) and b: y = x·w + b."""
    size = "d" if fixed is None else fixed

    def residual(params, x, Y):
        return x @ params[:-1] + params[-1] - Y

    def grad(params, x, Y):
        r = residual(params, x, Y)
        return 2.0 / len(Y) * np.append(x.T @ r, r.sum())

    def jacobian(x):
        return np.column_stack([x, np.ones(len(x))])

    def jtj_jtr(params, x, Y, jtj_out, jtr_out):
        r, j = residual(params, x, Y), jacobian(x)
        jtj_out[:, :] = j.T @ j
        jtr_out[:] = j.T @ r
        return float(r @ r)

    def residuals_jacobian(params, x, Y, r_out, jac_out):
        r_out[:] = residual(params, x, Y)
        jac_out[:, :] = jacobian(x)
        return len(Y)

    module = _common(lambda p, x, Y: np.mean(residual(p, x, Y) ** 2), grad,
                     lambda params, x: x @ params[:-1] + params[-1],
                     size=lambda d: d + 1, MODEL_HASH="fake-linear", MODEL_NAME="y", PARAM_NAMES=("w", "b"),
                     PARAM_SHAPES=((size,), ()), DATA_SHAPES=((size,), ()),
                     SIZES={} if fixed is not None else {"d": ("x", 0)}, INITIAL=tuple(initial))
    module.jtj_jtr, module.residuals_jacobian = jtj_jtr, residuals_jacobian
    return module


def two_layer(h: int = 3) -> SimpleNamespace:
    """W[h, d], v[h], a: y = v·tanh(W x) + a."""

    def split(params, d):
        return params[:h * d].reshape(h, d), params[h * d:h * d + h], params[-1]

    def predict(params, x):
        w, v, a = split(params, x.shape[1])
        return np.tanh(x @ w.T) @ v + a

    def grad(params, x, Y):
        w, v, a = split(params, x.shape[1])
        hidden = np.tanh(x @ w.T)
        r = hidden @ v + a - Y
        scale = 2.0 / len(Y)
        g_v = scale * hidden.T @ r
        g_w = scale * ((r[:, None] * (1 - hidden ** 2) * v).T @ x)
        return np.concatenate([g_w.ravel(), g_v, [scale * r.sum()]])

    return _common(lambda p, x, Y: np.mean((predict(p, x) - Y) ** 2), grad, predict,
                   size=lambda d: h * d + h + 1, MODEL_HASH="fake-two-layer", MODEL_NAME="y",
                   PARAM_NAMES=("W", "v", "a"), PARAM_SHAPES=((h, "d"), (h,), ()),
                   DATA_SHAPES=(("d",), ()), SIZES={"d": ("x", 0)}, INITIAL=(None, None, 0.0))
