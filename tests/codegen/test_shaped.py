"""Kernels of shaped models (codegen_index): numpy oracles and finite differences, at several sizes.

Each model's module is generated and compiled once per test module; the sizes are read at run
time, so the same compiled kernels serve d = 1, 3 and 7.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from gdc.codegen.plan import Plan
from gdc.codegen.shaped import module_body
from gdc.calculus.indexed import collapse_deltas, element_sum, free_indices, index_symbol, shaped, size_symbol
from gdc.calculus.functions import PerSample, mean, sigmoid, softplus
from gdc.runtime import passes
from locations import TESTS

H = 4  # hidden units of the tanh net: a fixed size
SIZES = (1, 3, 7)


# ------------------------------------------------------------------ the plans, by hand

def _partials(expr, params):
    out = []
    for p in params:
        if isinstance(p, sympy.IndexedBase):
            ix = free_indices(p)
            out.append((ix, collapse_deltas(sympy.diff(expr, p[ix]))))
        else:
            out.append(((), collapse_deltas(sympy.diff(expr, p))))
    return tuple(out)


def _vector_data():
    d = size_symbol("d")
    return d, shaped("x", (d,), per_sample=True), PerSample("Y", real=True), index_symbol("k")


def logistic_plan() -> Plan:
    d, x, Y, k = _vector_data()
    w, b = shaped("w", (d,)), sympy.Symbol("b", real=True)
    z = element_sum(w[k] * x[k], k, d) + b
    loss = mean(Y * softplus(-z) + (1 - Y) * softplus(z)) + sympy.Rational(1, 100) * element_sum(w[k] ** 2, k, d)
    return Plan((w, b), (x, Y), (x,), (0.0, 0.0), loss, _partials(loss, (w, b)), sigmoid(z),
                     sizes={"d": ("x", 0)})


def tanh_net_plan(h: int = H) -> Plan:
    d, x, Y, _ = _vector_data()
    W, c, v = shaped("W", (sympy.Integer(h), d)), shaped("c", (sympy.Integer(h),)), shaped("v", (sympy.Integer(h),))
    a = sympy.Symbol("a", real=True)
    l, m = index_symbol("l"), index_symbol("m")
    y = element_sum(v[l] * sympy.tanh(element_sum(W[l, m] * x[m], m, d) + c[l]), l, h) + a
    params = (W, c, v, a)
    return _least_squares(params, x, Y, y)


def linear_plan() -> Plan:
    d, x, Y, k = _vector_data()
    w, b = shaped("w", (d,)), sympy.Symbol("b", real=True)
    return _least_squares((w, b), x, Y, element_sum(w[k] * x[k], k, d) + b)


def _least_squares(params, x, Y, y) -> Plan:
    r = y - Y
    loss = mean(r ** 2)
    initial = tuple(None if isinstance(p, sympy.IndexedBase) else 0.0 for p in params)
    return Plan(params, (x, Y), (x,), initial, loss, _partials(loss, params), y, residual=r,
                     lsq_scale=1.0, lsq_mean=True, residual_partials=_partials(r, params),
                     sizes={"d": ("x", 0)})


# ------------------------------------------------------------------ numpy oracles

def _softplus(z):
    return np.logaddexp(0.0, z)


def logistic_np(theta, x, Y):
    d = x.shape[1]
    w, b = theta[:d], theta[d]
    z = x @ w + b
    return np.mean(Y * _softplus(-z) + (1 - Y) * _softplus(z)) + 0.01 * np.sum(w ** 2), 1 / (1 + np.exp(-z))


def tanh_net_prediction(theta, x):
    d = x.shape[1]
    W = theta[:H * d].reshape(H, d)
    c, v, a = theta[H * d:H * d + H], theta[H * d + H:H * d + 2 * H], theta[-1]
    return np.tanh(x @ W.T + c) @ v + a


def linear_prediction(theta, x):
    return x @ theta[:-1] + theta[-1]


def least_squares_np(prediction):
    def loss(theta, x, Y):
        y = prediction(theta, x)
        return np.mean((y - Y) ** 2), y
    return loss


MODELS = {
    "logistic": (logistic_plan, logistic_np, lambda d: d + 1, None),
    "tanh_net": (tanh_net_plan, least_squares_np(tanh_net_prediction), lambda d: H * d + 2 * H + 1,
                 tanh_net_prediction),
    "linear": (linear_plan, least_squares_np(linear_prediction), lambda d: d + 1, linear_prediction),
}


def fd_gradient(f, theta, step=1e-6):
    """Central differences of a numpy function: the independent oracle."""
    out = np.empty_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = step
        out[j] = (f(theta + e) - f(theta - e)) / (2 * step)
    return out


# ------------------------------------------------------------------ compiling once

@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """name -> the imported generated module (each compiled once, on first use)."""
    folder = tmp_path_factory.mktemp("index-kernels")
    modules = {}

    def get(name):
        if name not in modules:
            path = folder / f"gdc_index_{name}.py"
            path.write_text(module_body(MODELS[name][0](), "# model " + name, "0" * 64), encoding="utf-8")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
            modules[name] = module
        return modules[name]
    return get


def problem(name, d, n=40, seed=0):
    rng = np.random.default_rng(seed + 10 * d)
    x = np.ascontiguousarray(rng.normal(size=(n, d)))
    Y = (rng.random(n) < 0.5).astype(float) if name == "logistic" else rng.normal(size=n)
    theta = rng.normal(size=MODELS[name][2](d)) * 0.7
    return theta, x, Y


# ------------------------------------------------------------------ first order

@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("d", SIZES)
def test_loss_and_gradient_against_finite_differences(compiled, name, d):
    mod, oracle = compiled(name), MODELS[name][1]
    theta, x, Y = problem(name, d)
    grad = np.empty_like(theta)
    value = mod.loss_grad(theta, x, Y, grad)
    expected = oracle(theta, x, Y)[0]
    assert value == pytest.approx(expected, rel=1e-12)
    assert mod.loss(theta, x, Y) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, fd_gradient(lambda t: oracle(t, x, Y)[0], theta), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(MODELS))
def test_parallel_gradient_equals_the_serial_one(compiled, name):
    mod = compiled(name)
    theta, x, Y = problem(name, 7, n=301)
    serial, parallel = np.empty_like(theta), np.empty_like(theta)
    assert mod.loss_grad_parallel(theta, x, Y, parallel) == pytest.approx(mod.loss_grad(theta, x, Y, serial),
                                                                        rel=1e-12)
    np.testing.assert_allclose(parallel, serial, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("d", (1, 3))
def test_sgd_epoch_against_numpy_updates(compiled, name, d):
    mod, oracle = compiled(name), MODELS[name][1]
    theta, x, Y = problem(name, d, n=12)
    order = np.random.default_rng(d).permutation(12)
    mine = theta.copy()
    seen = mod.sgd_epoch(mine, x, Y, 0.05, order)
    total = 0.0
    for i in order:  # the per-sample objective: the loss over one row (the penalty included)
        row = (x[i:i + 1], Y[i:i + 1])
        total += oracle(theta, *row)[0]
        theta = theta - 0.05 * fd_gradient(lambda t: oracle(t, *row)[0], theta)
    assert seen == pytest.approx(total / 12, rel=1e-9)
    np.testing.assert_allclose(mine, theta, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", list(MODELS))
def test_minibatch_epoch_against_numpy_updates(compiled, name):
    mod, oracle = compiled(name), MODELS[name][1]
    theta, x, Y = problem(name, 3, n=11)
    order = np.random.default_rng(5).permutation(11)
    mine = theta.copy()
    seen = mod.minibatch_epoch(mine, x, Y, 0.1, 4, order)
    total = 0.0
    for lo in range(0, 11, 4):
        rows = order[lo:lo + 4]
        batch = (x[rows], Y[rows])
        total += oracle(theta, *batch)[0] * len(rows)
        theta = theta - 0.1 * fd_gradient(lambda t: oracle(t, *batch)[0], theta)
    assert seen == pytest.approx(total / 11, rel=1e-9)
    np.testing.assert_allclose(mine, theta, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("d", SIZES)
def test_predict(compiled, name, d):
    theta, x, Y = problem(name, d)
    expected = MODELS[name][1](theta, x, Y)[1]
    np.testing.assert_allclose(compiled(name).predict(theta, x), expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ a pass alone

@pytest.mark.parametrize("name", ["logistic", "tanh_net"])   # a vector model, a matrix model
@pytest.mark.parametrize("d", (1, 7))
def test_each_pass_states_the_length_of_the_accumulator_it_adds_into(compiled, name, d):
    """The stated length is the pass's own: it writes every entry below it and none past it
    (a sentinel after the end stays), and its finish gives the fused kernel's loss and gradient."""
    mod = compiled(name)
    theta, x, Y = problem(name, d, n=30)
    for kernel, outs in (("loss", ()), ("loss_grad", (np.empty_like(theta),))):
        one_pass, done = passes.PAIRS[kernel]
        length = passes.accumulator(mod, kernel, theta, (x, Y))
        assert length == getattr(mod, one_pass + "_length")(theta, x, Y)
        buffer = np.full(length + 8, 0.0)
        buffer[length:] = 12345.0
        getattr(mod, one_pass)(theta, x, Y, 0, len(Y), buffer[:length])
        assert np.all(buffer[length:] == 12345.0), "the pass wrote past the length stated"
        assert np.all(buffer[:length] != 0.0), "the pass left an entry below the length stated unwritten"
        mine = tuple(np.empty_like(o) for o in outs)
        value = getattr(mod, done)(theta, x, Y, buffer[:length].copy(), 1.0 / len(Y), *mine)
        assert value == pytest.approx(getattr(mod, kernel)(theta, x, Y, *outs), rel=1e-12)
        for got, expected in zip(mine, outs):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
        total = passes.sums(mod, kernel, theta, (x, Y))   # the runtime's path: the same sums
        assert passes.finish(mod, kernel, theta, total, len(Y), mine, (x[:1], Y[:1])) == pytest.approx(value,
                                                                                                   rel=1e-12)


# ------------------------------------------------------------------ least squares

@pytest.mark.parametrize("name", ["tanh_net", "linear"])
@pytest.mark.parametrize("d", SIZES)
def test_jtj_jtr_against_a_finite_difference_jacobian(compiled, name, d):
    mod, prediction = compiled(name), MODELS[name][3]
    theta, x, Y = problem(name, d, n=25)
    r = prediction(theta, x) - Y
    J = np.stack([fd_gradient(lambda t: prediction(t, x[i:i + 1])[0], theta) for i in range(25)])
    p = theta.size
    jtj, jtr = np.full((p, p), np.nan), np.full(p, np.nan)
    assert mod.jtj_jtr(theta, x, Y, jtj, jtr) == pytest.approx(np.sum(r ** 2), rel=1e-12)
    np.testing.assert_allclose(jtj, J.T @ J, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(jtr, J.T @ r, rtol=1e-6, atol=1e-7)
    r_out, jac_out = np.empty(25), np.empty((25, p))
    mod.residuals_jacobian(theta, x, Y, r_out, jac_out)
    np.testing.assert_allclose(r_out, r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jac_out, J, rtol=1e-6, atol=1e-7)
    assert mod.LSQ_SCALE == 1.0 and mod.LSQ_MEAN is True


def test_logistic_has_no_least_squares_kernels(compiled):
    assert not hasattr(compiled("logistic"), "jtj_jtr")


# ------------------------------------------------------------------ refusals

def test_wrong_lengths_raise_value_error(compiled):
    mod = compiled("tanh_net")
    theta, x, Y = problem("tanh_net", 3)
    grad = np.empty_like(theta)
    with pytest.raises(ValueError, match="params"):
        mod.loss(theta[:-1], x, Y)
    with pytest.raises(ValueError, match="params"):
        mod.loss_grad(np.append(theta, 0.0), x, Y, grad)
    with pytest.raises(ValueError, match="grad_out"):
        mod.loss_grad_parallel(theta, x, Y, grad[:-1])
    with pytest.raises(ValueError, match="same length"):
        mod.loss_grad(theta, x, Y[:-1], grad)
    with pytest.raises(ValueError, match="params"):  # a d of 4 needs more parameters than d = 3 gives
        mod.predict(theta, np.zeros((5, 4)))
    with pytest.raises(ValueError, match="jtj_out"):
        mod.jtj_jtr(theta, x, Y, np.empty((3, 3)), np.empty(theta.size))
    with pytest.raises(IndexError):
        mod.sgd_epoch(theta.copy(), x, Y, 0.1, np.array([0, 99]))


# ------------------------------------------------------------------ the module text

def test_constants(compiled):
    mod = compiled("tanh_net")
    assert mod.PARAM_NAMES == ("W", "c", "v", "a")
    assert mod.PARAM_SHAPES == ((H, "d"), (H,), (H,), ())
    assert mod.DATA_NAMES == ("x", "Y") and mod.DATA_SHAPES == (("d",), ())
    assert mod.INPUT_NAMES == ("x",)
    assert mod.SIZES == {"d": ("x", 0)}
    assert mod.INITIAL == (None, None, None, 0.0)
    assert mod.N_CHUNKS == 64 and mod.MODEL_HASH == "0" * 64


def test_source_does_not_grow_with_the_sizes():
    """Sizes are loop bounds: h = 4 and h = 9 give texts of one length, and no element is unrolled."""
    small, large = (module_body(tanh_net_plan(h), "# m", "0" * 64) for h in (4, 9))
    assert len(small) == len(large)
    assert small.replace("4", "9") == large.replace("4", "9")
    for text in (small, module_body(logistic_plan(), "# m", "0" * 64)):
        generated = text.split("def _min(")[1]  # past the fixed helpers
        assert not re.search(r"\b(p|d|g|a|u|b)_\w+\[\d", generated), "an element read at a constant index"
        assert "for ix_" in generated


def test_only_gdc_names_and_imports():
    tree = ast.parse(module_body(logistic_plan(), "# m", "0" * 64))
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert sorted(alias.name for node in imports for alias in node.names) == ["math", "numba", "numpy"]


def test_hoisting_keeps_the_matrix_gradient_one_multiply_per_element():
    """∂J/∂W[j,k] = s·a[j]·x[k]: the inner loop reads a hoisted a[j], tanh is a temp array."""
    text = module_body(tanh_net_plan(), "# m", "0" * 64)
    sums = text.split("def _sums(")[1].split("\ndef ")[0]
    assert sums.count("_tanh(") == 1
    inner = [line for line in sums.splitlines() if "a_2[ix_j, ix_k] +=" in line]
    assert len(inner) == 1 and "tanh" not in inner[0] and inner[0].count("*") == 2


def test_the_scalar_tail_reads_the_first_loops_exp_instead_of_calling_it_again(golden):
    """The logistic pass calls exp(−|z|) once per sample: the sigmoid of the gradient's loop
    makes it, and the loss's vectorized loop reads it from a buffer (it called _exp again). The
    whole module is golden."""
    text = module_body(logistic_plan(), "# logistic", "0" * 64)
    sums = text.split("def _sums(")[1].split("\ndef ")[0]
    first, tail = sums.split("        for i in range(blo, bhi):")[1:]
    assert first.count("_exp(") == 1 and tail.count("_exp(") == 0 and "_log1p(t_" in tail
    golden("codegen/logistic_shaped.py", text)


def test_module_text_is_deterministic_across_hash_seeds():
    script = ("import sys; sys.path[:0] = sys.argv[1:]; import test_shaped as t; "
              "from gdc.codegen.shaped import module_body; "
              "sys.stdout.write(module_body(t.tanh_net_plan(), '# m', '0'))")
    other = subprocess.run([sys.executable, "-c", script, str(TESTS / "codegen"), str(TESTS)], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert other == module_body(tanh_net_plan(), "# m", "0")


def test_predict_reads_a_size_its_inputs_lack_from_the_length_of_params(tmp_path):
    """e is bound by z, which the prediction does not use: predict solves len(params) = d + e + 1."""
    d, x, Y, k = _vector_data()
    e = size_symbol("e")
    z, w, u, a = shaped("z", (e,), per_sample=True), shaped("w", (d,)), shaped("u", (e,)), sympy.Symbol("a", real=True)
    y = element_sum(w[k] * x[k], k, d) + a
    loss = mean((y + element_sum(u[k] * z[k], k, e) - Y) ** 2)
    plan = Plan((w, u, a), (x, z, Y), (x,), (None, None, 0.0), loss, _partials(loss, (w, u, a)), y,
                     sizes={"d": ("x", 0), "e": ("z", 0)})
    text = module_body(plan, "# m", "0")
    predict = "@numba.njit(**_JIT)\ndef predict(" + text.split("def predict(")[1].split("\n\n\n")[0]
    namespace = {}
    exec(text.split("\nimport math")[0] + "\nimport math\nimport numba\nimport numpy as np\n"
         "_JIT = dict(cache=False, error_model='numpy')\n" + predict, namespace)
    theta, xs = np.array([1.0, 2.0, 5.0, 6.0, 7.0, 0.5]), np.array([[1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_allclose(namespace["predict"](theta, xs), [3.5, 4.5])
    with pytest.raises(ValueError, match="params"):
        namespace["predict"](theta[:2], xs)


def test_tanh_helper_within_three_ulps():
    """Shaped modules print tanh as gdc's own _tanh: branch-free, so a loop over a layer vectorizes."""
    import math

    import numba

    from gdc.codegen.loops import LOOP_HELPERS
    from gdc.codegen.printer import HELPERS
    namespace = {"math": math, "np": np, "numba": numba,
                 "_JIT_EXACT": dict(nogil=True, error_model="numpy", fastmath={"contract"})}
    exec(compile(HELPERS + LOOP_HELPERS, "<helpers>", "exec"), namespace)
    tanh = namespace["_tanh"]

    @numba.njit(fastmath={"contract", "reassoc"})
    def over(xs):
        out = np.empty_like(xs)
        for i in range(xs.shape[0]):
            out[i] = tanh(xs[i])
        return out
    xs = np.concatenate([np.logspace(-300, 1.5, 20001), np.linspace(-25, 25, 20001)])
    xs = np.concatenate([xs, -xs])
    want = np.tanh(xs)
    assert np.max(np.abs(over(xs) - want) / np.spacing(np.abs(want))) <= 3
    np.testing.assert_array_equal(over(np.array([np.inf, -np.inf, 0.0, 40.0, -400.0])), [1, -1, 0, 1, -1])
    assert np.isnan(over(np.array([np.nan]))[0])


def test_transposed_reads_and_a_double_sum(tmp_path):
    """Σ_m W[m, l]·x[m] runs as an axpy over l (rows of W read in order), and the penalty
    Σ_l Σ_m W[m, l]² (one sympy SampleSum over two limits) is summed limit by limit."""
    d, x, Y, _ = _vector_data()
    W, v = shaped("W", (d, sympy.Integer(3))), shaped("v", (sympy.Integer(3),))
    l, m = index_symbol("l"), index_symbol("m")
    y = element_sum(v[l] * sympy.tanh(element_sum(W[m, l] * x[m], m, d)), l, 3)
    loss = mean((y - Y) ** 2) + element_sum(element_sum(W[m, l] ** 2, m, d), l, 3) / 10
    plan = Plan((W, v), (x, Y), (x,), (None, None), loss, _partials(loss, (W, v)), y, sizes={"d": ("x", 0)})
    path = tmp_path / "gdc_index_transposed.py"
    path.write_text(module_body(plan, "# m", "0"), encoding="utf-8")
    assert ".fill(0.0)" in path.read_text(encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)

    def oracle(theta, xs, ys):
        Wm, vv = theta[:12].reshape(4, 3), theta[12:]
        return np.mean((np.tanh(xs @ Wm) @ vv - ys) ** 2) + np.sum(Wm ** 2) / 10
    rng = np.random.default_rng(3)
    xs, ys, theta = rng.normal(size=(30, 4)), rng.normal(size=30), rng.normal(size=15) * 0.5
    grad = np.empty(15)
    assert mod.loss_grad(theta, xs, ys, grad) == pytest.approx(oracle(theta, xs, ys), rel=1e-12)
    np.testing.assert_allclose(grad, fd_gradient(lambda t: oracle(t, xs, ys), theta), rtol=1e-6, atol=1e-8)
