"""The CUDA kernels (gdc.codegen.cuda, gdc.runtime.cuda) against the CPU kernels and finite differences.

They run in numba's CUDA simulator (tests/conftest.py sets NUMBA_ENABLE_CUDASIM=1; =0 runs them
on a GPU), where the runtime makes its blocks tiny (4 threads, at most 2 blocks): rows beyond
8 take the grid-stride loop, and every sum goes through the shared-memory tree and the second
pass. The simulator runs a Python thread per GPU thread, so the data are small and the two
models are compiled once per module.
"""

from __future__ import annotations

import numpy as np
import pytest

import gdc
from gdc.api import cuda_kernels
from gdc.runtime import cache, cuda
from numba import cuda as numba_cuda
from locations import EXAMPLES

EXP_DECAY = (EXAMPLES / "exp_decay.gd").read_text()   # least squares, with exp: jtj_jtr and the Hessian
LOGISTIC = (EXAMPLES / "logistic.gd").read_text()      # cross-entropy: sigmoid, log, stable softplus forms
ROWS = 150


pytestmark = pytest.mark.usefixtures("quick_simulator")


def _pair(text, where, names):
    cpu = gdc.api.compile_text(where, text, names)
    return cpu, cuda_kernels(cpu, text, where, names)


@pytest.fixture(scope="module")
def decay():
    rng = np.random.default_rng(1)
    t = rng.uniform(0.0, 3.0, ROWS)
    Y = 2.0 * np.exp(-1.3 * t) + 0.5 + 0.02 * rng.standard_normal(ROWS)
    cpu, gpu = _pair(EXP_DECAY, "exp_decay.gd", ("t", "Y"))
    return cpu, gpu, (t, Y), np.array([1.5, 0.9, 0.2])


@pytest.fixture(scope="module")
def logistic():
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal(ROWS), rng.standard_normal(ROWS)
    Y = (x1 - 0.5 * x2 + 0.3 * rng.standard_normal(ROWS) > 0).astype(float)
    cpu, gpu = _pair(LOGISTIC, "logistic.gd", ("x1", "x2", "Y"))
    return cpu, gpu, (x1, x2, Y), np.array([0.7, -0.4, 0.1])


def _on_device(data, dtype="float64"):
    return tuple(cuda.to_device(column, dtype) for column in data)


@pytest.mark.parametrize("case", ["decay", "logistic"])
def test_loss_and_gradient_match_the_cpu_kernels(case, request):
    cpu, gpu, data, params = request.getfixturevalue(case)
    device = _on_device(data)
    size = len(params)
    want_grad, got_grad = np.zeros(size), np.zeros(size)
    want = cpu.loss_grad(params, *data, want_grad)
    got = gpu.loss_grad(params, *device, got_grad)
    assert got == pytest.approx(want, rel=1e-13)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-14)
    assert gpu.loss(params, *device) == pytest.approx(cpu.loss(params, *data), rel=1e-13)
    # and against the definition: central differences of the GPU's own loss
    for j in range(size):
        h = 1e-6 * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        slope = (gpu.loss(up, *device) - gpu.loss(down, *device)) / (2 * h)
        assert got_grad[j] == pytest.approx(slope, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("case", ["decay", "logistic"])
def test_second_order_kernels_match_the_cpu_kernels(case, request):
    cpu, gpu, data, params = request.getfixturevalue(case)
    device, size = _on_device(data), len(params)
    assert (gpu.jtj_jtr is None) == (cpu.jtj_jtr is None)
    assert (gpu.loss_grad_hess is None) == (cpu.loss_grad_hess is None) is False
    want = [np.zeros(size), np.zeros((size, size))]
    got = [np.zeros(size), np.zeros((size, size))]
    assert gpu.loss_grad_hess(params, *device, *got) == pytest.approx(
        cpu.loss_grad_hess(params, *data, *want), rel=1e-13)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    if cpu.jtj_jtr is not None:
        want = [np.zeros((size, size)), np.zeros(size)]
        got = [np.zeros((size, size)), np.zeros(size)]
        assert gpu.jtj_jtr(params, *device, *got) == pytest.approx(cpu.jtj_jtr(params, *data, *want), rel=1e-13)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_predict_and_device_outputs(decay):
    cpu, gpu, data, params = decay
    device = _on_device(data)
    (t,) = (data[cpu.data_names.index(name)] for name in cpu.input_names)
    got = gpu.predict(params, cuda.to_device(t)).copy_to_host()
    np.testing.assert_allclose(got, cpu.predict(params, t), rtol=1e-14)
    grad_out = numba_cuda.device_array(3)   # an output on the device is filled there
    want = np.zeros(3)
    cpu.loss_grad(params, *data, want)
    gpu.loss_grad(params, *device, grad_out)
    np.testing.assert_allclose(grad_out.copy_to_host(), want, rtol=1e-12)


def test_the_same_bits_every_run_and_every_row_count(decay):
    cpu, gpu, data, params = decay
    device = _on_device(data)
    first, again = np.zeros(3), np.zeros(3)
    assert gpu.loss_grad(params, *device, first) == gpu.loss_grad(params, *device, again)
    assert first.tobytes() == again.tobytes()
    for rows in (1, 3, 9):   # fewer rows than threads, than the grid, just past it
        part = tuple(column[:rows] for column in data)
        want, got = np.zeros(3), np.zeros(3)
        assert gpu.loss_grad(params, *_on_device(part), got) == pytest.approx(
            cpu.loss_grad(params, *part, want), rel=1e-13)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_float32_data_within_their_rounding(logistic):
    cpu, gpu, data, params = logistic
    rounded = tuple(column.astype(np.float32).astype(np.float64) for column in data)
    want, got = np.zeros(3), np.zeros(3)
    loss = gpu.loss_grad(params, *_on_device(data, "float32"), got)
    # float32 storage is the only rounding: the CPU kernels on the rounded data agree closely,
    assert loss == pytest.approx(cpu.loss_grad(params, *rounded, want), rel=1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    exact = np.zeros(3)   # and the float64 answer within float32's relative 6e-8 per value
    assert loss == pytest.approx(cpu.loss_grad(params, *data, exact), rel=1e-6)


def test_wrong_arguments_are_refused(decay):
    _, gpu, data, params = decay
    device = _on_device(data)
    with pytest.raises(ValueError, match="same length"):
        gpu.loss(params, device[0], _on_device((data[1][:5],))[0])
    with pytest.raises(ValueError, match="PARAM_NAMES"):
        gpu.loss(params[:2], *device)
    with pytest.raises(ValueError, match="2 data arrays"):
        gpu.loss(params, device[0])


def test_the_module_is_cached_sealed_and_rebuilt_when_damaged(decay, kernel_cache):
    cpu = decay[0]
    gpu = cuda_kernels(cpu, EXP_DECAY, "exp_decay.gd", ("t", "Y"))
    path = gpu.module.__file__
    text, found, reason = cache.cached_text(gpu.module.MODEL_HASH)
    assert text is not None and str(found) == path and reason == ""
    assert "atomic" not in text and "numba.njit" not in text   # sums in a fixed order, device code only
    with open(path, "a", encoding="utf-8") as f:
        f.write("\nraise SystemExit('an edit is never run')\n")
    assert "checksum mismatch" in cache.cached_text(gpu.module.MODEL_HASH)[2]
    again = cuda_kernels(cpu, EXP_DECAY, "exp_decay.gd", ("t", "Y"))   # rebuilt, and it works
    assert cache.cached_text(gpu.module.MODEL_HASH)[2] == ""
    data, params = decay[2], decay[3]
    assert again.loss(params, *_on_device(data)) == pytest.approx(cpu.loss(params, *data), rel=1e-13)


def test_compiled_kernels_have_a_cuda_counterpart(decay):
    cpu, _, data, params = decay
    kernels = gdc.compile(EXP_DECAY)
    gpu = kernels.cuda
    assert gpu is kernels.cuda and gpu.param_names == kernels.param_names
    device = _on_device(data)
    assert gpu.loss(params, *device) == pytest.approx(kernels.loss(params, *data), rel=1e-13)


def test_the_cuda_module_of_a_line_is_golden(golden):
    """The generated text is reviewed like code: a grid-stride loop, the block tree, no atomics."""
    from gdc.calculus.symbolic import symbolic
    from gdc.codegen.cuda import generate_cuda
    from gdc.language.frontend import check_text

    text = "# the linear example\nmodel y = m*x + b\nloss mean((y - Y)^2)\n"
    golden("codegen/linear_cuda.py", generate_cuda(symbolic(check_text(text, "model.gd")), "0" * 64, "1" * 64))


def test_gdc_compile_cuda_prints_the_module_and_asks_a_shaped_model_its_sizes(capsys):
    from gdc.cli import main
    assert main(["compile", "--cuda", str(EXAMPLES / "linear.gd")]) == 0
    out = capsys.readouterr().out
    assert "def _grad_blocks(params, d_x, d_Y, partial):" in out and "_block_sum(shared, s_2)" in out
    assert main(["compile", "--cuda", str(EXAMPLES / "softmax.gd")]) == 1   # before any derivation
    assert "--size: error: the GPU kernels of a model with vectors or matrices are made for the sizes" in \
        capsys.readouterr().err
    assert main(["compile", "--size", "d=3", str(EXAMPLES / "linear.gd")]) == 1
    assert "--size is for --cuda" in capsys.readouterr().err
