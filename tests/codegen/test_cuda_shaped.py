"""The CUDA kernels of shaped models (gdc.codegen.cuda_shaped, gdc.runtime.cuda_shaped) against the
CPU kernels, finite differences and closed-form fits, in numba's CUDA simulator (tests/conftest.py).

Blocks of 4 threads, at most 2 of them (gdc.runtime.cuda): the 30 rows take the grid-stride loop,
and every sum entry goes through the shared-memory tree and the second pass. Three small models,
each compiled once: a line in a vector (least squares: JᵀJ), a hidden layer (matrices, tanh,
temp arrays per thread) and softmax (two sizes, a log-sum-exp, a vector prediction); and a
logistic regression fitted.
"""

from __future__ import annotations

import numpy as np
import pytest

import gdc
from gdc.api import cuda_kernels
from gdc.errors import GdcError
from gdc.runtime import cuda
from locations import EXAMPLES

ROWS = 30
# The examples' texts and one of test_compile_cli's: in a whole run, their CPU modules are compiled once.
LINE = (EXAMPLES / "diabetes.gd").read_text()               # dot(w, x) + b, least squares: JᵀJ
LOGISTIC = (EXAMPLES / "breast_cancer.gd").read_text()     # sigmoid(dot(w, x) + b), cross-entropy, an L2 penalty
SOFTMAX = (EXAMPLES / "softmax.gd").read_text()            # W @ x + c: two sizes, a log-sum-exp, K outputs
LAYER = "data x[d], Y\nparam W[2, d], v[2], a = 0\nmodel y = dot(v, tanh(W @ x)) + a\nloss mean((y - Y)^2)\n"


pytestmark = pytest.mark.usefixtures("quick_simulator")


def _case(text, data, params):
    cpu = gdc.api.compile_text("model.gd", text, ("x", "Y"))
    return cpu, cuda_kernels(cpu, text, "model.gd", ("x", "Y")), data, np.asarray(params, dtype=float)


@pytest.fixture(scope="module")
def rng_data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((ROWS, 3))
    return x, x @ np.array([1.0, 2.0, -1.0]) + 0.5 + 0.1 * rng.standard_normal(ROWS), rng


@pytest.fixture(scope="module")
def line(rng_data):
    x, Y, _ = rng_data
    return _case(LINE, (x, Y), [0.3, -0.2, 0.1, 0.4])


@pytest.fixture(scope="module")
def layer(rng_data):
    x, Y, rng = rng_data
    return _case(LAYER, (x[:, :2], Y), rng.uniform(-0.8, 0.8, 4 + 2 + 1))


@pytest.fixture(scope="module")
def softmax(rng_data):
    x, _, rng = rng_data
    Y = np.eye(3)[rng.integers(0, 3, ROWS)]
    return _case(SOFTMAX, (x[:, :2], Y), rng.uniform(-0.5, 0.5, 3 * 2 + 3))


def _on_device(data, dtype="float64"):
    return tuple(cuda.to_device(column, dtype) for column in data)


@pytest.mark.parametrize("case", ["line", "layer", "softmax"])
def test_every_pass_matches_the_cpu_kernels(case, request):
    cpu, gpu, data, params = request.getfixturevalue(case)
    device, size = _on_device(data), len(params)
    want_grad, got_grad = np.zeros(size), np.zeros(size)
    got = gpu.loss_grad(params, *device, got_grad)
    assert got == pytest.approx(cpu.loss_grad(params, *data, want_grad), rel=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-14)
    assert gpu.loss(params, *device) == pytest.approx(cpu.loss(params, *data), rel=1e-12)
    # the shaped CPU module has no Hessian kernel, so neither has the GPU's; JᵀJ where least squares
    assert cpu.loss_grad_hess is None and gpu.loss_grad_hess is None
    assert (gpu.jtj_jtr is None) == (cpu.jtj_jtr is None) == (case == "softmax")
    if cpu.jtj_jtr is not None:
        want = [np.zeros((size, size)), np.zeros(size)]
        got = [np.zeros((size, size)), np.zeros(size)]
        assert gpu.jtj_jtr(params, *device, *got) == pytest.approx(cpu.jtj_jtr(params, *data, *want), rel=1e-12)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    inputs = [column for name, column in zip(cpu.data_names, data) if name in cpu.input_names]
    predicted = gpu.predict(params, *_on_device(inputs)).copy_to_host()
    np.testing.assert_allclose(predicted, cpu.predict(params, *inputs), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", ["layer", "softmax"])
def test_the_gradient_against_central_differences_of_the_gpu_loss(case, request):
    _, gpu, data, params = request.getfixturevalue(case)
    device = _on_device(data)
    grad = np.zeros(len(params))
    gpu.loss_grad(params, *device, grad)
    for j in range(len(params)):
        up, down = params.copy(), params.copy()
        up[j] += 1e-6
        down[j] -= 1e-6
        slope = (gpu.loss(up, *device) - gpu.loss(down, *device)) / 2e-6
        assert grad[j] == pytest.approx(slope, rel=1e-6, abs=1e-9)


def test_the_same_bits_every_run_and_the_module_per_sizes(layer, kernel_cache):
    cpu, gpu, data, params = layer
    device = _on_device(data)
    first, again = np.zeros(len(params)), np.zeros(len(params))
    assert gpu.loss_grad(params, *device, first) == gpu.loss_grad(params, *device, again)
    assert first.tobytes() == again.tobytes()
    module = gpu.bound(device).module
    assert module.AT_SIZES == {"d": 2} and "range(2)" in open(module.__file__).read()
    assert "atomic" not in open(module.__file__).read()
    wider = (np.random.default_rng(3).standard_normal((5, 3)), data[1][:5])   # d = 3: another module
    params3 = np.linspace(-0.5, 0.5, 6 + 2 + 1)
    want, got = np.zeros(len(params3)), np.zeros(len(params3))
    assert gpu.loss_grad(params3, *_on_device(wider), got) == pytest.approx(
        cpu.loss_grad(params3, *wider, want), rel=1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert gpu.bound(_on_device(wider)).module.AT_SIZES == {"d": 3}


def test_a_closed_form_fit_on_the_gpu(line):
    _, _, (x, Y), _ = line
    result = gdc.fit(LINE, {"x": x, "Y": Y}, device="gpu")
    assert result.converged and result.problem.backend == "cpu"   # the result keeps the host problem
    want = np.linalg.lstsq(np.column_stack([x, np.ones(ROWS)]), Y, rcond=None)[0]
    np.testing.assert_allclose(result.params["w"], want[:3], rtol=1e-8)
    assert result.params["b"] == pytest.approx(want[3], rel=1e-8)


def test_a_logistic_fit_on_the_gpu_is_the_cpu_fit(rng_data):
    x, _, rng = rng_data
    Y = (x @ np.array([1.0, 2.0, -1.0]) + 0.5 * rng.standard_normal(ROWS) > 0).astype(float)
    gpu = gdc.fit(LOGISTIC, {"x": x, "Y": Y}, device="gpu")
    cpu = gdc.fit(LOGISTIC, {"x": x, "Y": Y})
    assert gpu.converged and cpu.converged
    np.testing.assert_allclose(gpu.params["w"], cpu.params["w"], rtol=1e-7, atol=1e-9)
    assert gpu.params["b"] == pytest.approx(cpu.params["b"], rel=1e-7, abs=1e-9)


def test_too_large_a_shape_is_a_clear_error_and_auto_stays_on_the_cpu(capsys, monkeypatch):
    rng = np.random.default_rng(5)
    wide = {"x": rng.standard_normal((4, 1100)), "Y": np.array([0.0, 1.0, 1.0, 0.0])}
    with pytest.raises(GdcError) as info:
        gdc.fit(LOGISTIC, wide, device="gpu", epochs=1)
    assert "at d = 1100 needs" in info.value.message and "more than the 1,024" in info.value.message
    assert "--device cpu" in info.value.hint
    monkeypatch.setattr("gdc.fitting.device.AUTO_MIN_ROWS", 2)
    gdc.fit(LOGISTIC, wide, device="auto", method="gd", epochs=1)
    err = capsys.readouterr().err
    assert "--device auto: on the CPU (" in err and "at d = 1100 needs 1,100 doubles per thread" in err, err
    assert "--device auto: on the GPU" not in err


def test_compiled_kernels_and_gdc_compile_cuda_take_shaped_models(line, tmp_path, capsys):
    from gdc.cli import main
    kernels = gdc.compile(LINE)
    (x, Y), params = line[2], line[3]
    assert kernels.cuda.loss(params, *_on_device((x, Y))) == pytest.approx(kernels.loss(params, x, Y), rel=1e-12)
    model = tmp_path / "line.gd"
    model.write_text(LINE)
    assert main(["compile", "--cuda", "--size", "d=3", str(model)]) == 0
    out = capsys.readouterr().out
    assert "def _grad_blocks(params, d_x, d_Y, partial):" in out and "for ix_k in range(3):" in out
    assert "AT_SIZES = {'d': 3}" in out and "jtj_out = cuda.local.array((10,), numba.float64)" in out
    assert main(["compile", "--cuda", str(model)]) == 1
    assert "no value for d" in capsys.readouterr().err


def test_wrong_sizes_are_clear_errors(capsys):
    """--size and the sizes of gdc.api.cuda_source: only a positive whole number for each size the
    data give is printed into a module (and its cache key), for a shaped model and a scalar one."""
    from gdc.cli import main
    shaped, scalar = str(EXAMPLES / "diabetes.gd"), str(EXAMPLES / "linear.gd")
    bad = "--size takes NAME=N with N a positive whole number, not "
    for args, message in [(["--size", "d=x", shaped], bad + "'d=x'"),
                          (["--size", "d=²", shaped], bad + "'d=²'"),
                          (["--size", "d=0", shaped], bad + "'d=0'"),
                          (["--size", "d=3", "--size", "K=2", shaped], "the model has no size K read from the data "
                                                                      "(its sizes: d)"),
                          (["--size", "d=3", scalar], "the model has no size d read from the data (its sizes: none)"),
                          (["--size", "d=3", "--size", "d=4", shaped], "--size gives d twice, 3 and 4")]:
        assert main(["compile", "--cuda", *args]) == 1
        err = capsys.readouterr().err
        assert "--size: error: " + message in err and "Traceback" not in err, err
    for value in (2.5, "3", True, -1):
        with pytest.raises(GdcError) as info:
            gdc.api.cuda_source(shaped, sizes={"d": value})
        assert info.value.message == f"a size is a positive whole number, not {value!r} (d)"


def test_jtj_too_wide_for_a_thread_and_predict_without_its_sizes_are_clear_errors(softmax):
    from gdc.runtime.cuda_shaped import ShapedCudaKernels
    kernels = gdc.compile(LINE)   # d = 45: 46 parameter values, JᵀJ's 1,081 sums past LOCAL_LIMIT
    x = np.random.default_rng(4).standard_normal((6, 45))
    device = _on_device((x, x[:, 0]))
    with pytest.raises(GdcError) as info:
        kernels.cuda.jtj_jtr(np.zeros(46), *device, np.zeros((46, 46)), np.zeros(46))
    assert "JᵀJ of this many parameter values does not fit in a GPU thread's local arrays" in info.value.message
    assert "use loss_grad (gd, lbfgs) on the GPU" in info.value.hint
    cpu, _, (x2, _), params = softmax   # K from the count of 9 values; 8 give no K and nothing came before
    fresh = ShapedCudaKernels(cpu, lambda sizes: pytest.fail(f"made a module for {sizes}"))
    with pytest.raises(GdcError) as info:
        fresh.predict(params[:-1], *_on_device((x2,)))
    assert info.value.message == "the sizes K are not given by these inputs" and info.value.where == "predict"
