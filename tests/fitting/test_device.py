"""Fits on the GPU (`device="gpu"`, `--device gpu`) in numba's CUDA simulator, against the same fits
on the CPU; and the clear errors where there is no GPU, no numba-cuda, or a method it cannot run."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import gdc
from gdc.errors import GdcError
from locations import EXAMPLES, ROOT

LINE = "model y = m*x + b\nloss mean((y - Y)^2)\n"
LOGISTIC = EXAMPLES / "logistic.gd"


pytestmark = pytest.mark.usefixtures("quick_simulator")


@pytest.fixture(scope="module")
def line():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 3.0, 60)
    return {"x": x, "Y": 2.0 * x + 0.5 + 0.1 * rng.standard_normal(60)}


@pytest.fixture(scope="module")
def classes():
    rng = np.random.default_rng(4)
    x1, x2 = rng.standard_normal(60), rng.standard_normal(60)
    return {"x1": x1, "x2": x2, "Y": (x1 - 0.5 * x2 + 0.8 * rng.standard_normal(60) > 0).astype(float)}


@pytest.mark.parametrize("method", ["lm", "gd", "lbfgs"])
def test_a_line_fitted_on_the_gpu_as_on_the_cpu(line, method):
    gpu = gdc.fit(LINE, line, method=method, device="gpu")
    cpu = gdc.fit(LINE, line, method=method)
    slope, intercept = np.polyfit(line["x"], line["Y"], 1)   # the closed form
    assert gpu.converged, gpu.message
    assert "of a minimum" in gpu.message   # the certificate ran, on sums from the device
    assert gpu.params["m"] == pytest.approx(slope, rel=1e-7)
    assert gpu.params["b"] == pytest.approx(intercept, rel=1e-6)
    assert gpu.params["m"] == pytest.approx(cpu.params["m"], rel=1e-7)
    assert gpu.iterations == pytest.approx(cpu.iterations, abs=1)
    assert gpu.std_errors["m"] == pytest.approx(cpu.std_errors["m"], rel=1e-6)
    np.testing.assert_allclose(gpu.predict(line), cpu.predict(line), rtol=1e-7)   # on the host problem


def test_bounds_and_kinks_on_the_gpu(line):
    kw = dict(bounds={"b": (1.0, 2.0)}, init={"b": 1.5})
    gpu, cpu = gdc.fit(LINE, line, device="gpu", **kw), gdc.fit(LINE, line, **kw)
    assert gpu.converged and gpu.held == ("", "at lower bound 1")
    assert gpu.params["m"] == pytest.approx(cpu.params["m"], rel=1e-9)
    huber = EXAMPLES / "huber.gd"   # kinks: the bundle method, its certificate from device sums
    gpu, cpu = gdc.fit(huber, line, device="gpu"), gdc.fit(huber, line)
    assert gpu.method == "bundle" and gpu.converged, gpu.message
    assert gpu.params["b"] == pytest.approx(cpu.params["b"], rel=1e-8)


def test_compiled_kernels_fit_on_the_gpu(line):
    kernels = gdc.compile(LINE)
    gpu, cpu = gdc.fit(kernels, line, method="lm", device="gpu"), gdc.fit(kernels, line, method="lm")
    assert gpu.converged and gpu.params["m"] == pytest.approx(cpu.params["m"], rel=1e-9)


def test_newton_on_a_logistic_loss(classes):
    gpu = gdc.fit(LOGISTIC, classes, method="newton", device="gpu")
    cpu = gdc.fit(LOGISTIC, classes, method="newton")
    assert gpu.converged, gpu.message
    assert "Hessian" in gpu.message
    for name in ("w1", "w2", "b"):
        assert gpu.params[name] == pytest.approx(cpu.params[name], rel=1e-8, abs=1e-10)


def test_per_sample_methods_and_sigma_are_refused_naming_the_device(line):
    for method, batch in (("sgd", None), ("minibatch", None), ("adam", 10)):
        with pytest.raises(GdcError, match="GPU kernels") as info:
            gdc.fit(LINE, line, method=method, batch_size=batch, device="gpu")
        assert info.value.where == "--device" and "--device cpu" in info.value.hint
    with pytest.raises(GdcError, match="--sigma"):
        gdc.fit(LINE, {**line, "dY": np.full(60, 0.1)}, device="gpu", sigma="dY")
    with pytest.raises(GdcError, match="float32"):
        gdc.fit(LINE, line, dtype="float32")
    with pytest.raises(GdcError, match="--device must be"):
        gdc.fit(LINE, line, device="tpu")


def test_auto_chooses_and_says_so(line, capsys, monkeypatch):
    result = gdc.fit(LINE, line, device="auto")
    assert result.converged
    assert "--device auto: on the CPU (60 rows; the GPU pays for its copy from 1,000,000 rows)" in capsys.readouterr().err
    monkeypatch.setattr("gdc.fitting.device.AUTO_MIN_ROWS", 50)
    gdc.fit(LINE, line, method="sgd", lr=0.01, epochs=2, device="auto")   # per sample: the CPU's
    assert "on the CPU (the method updates from samples" in capsys.readouterr().err
    result = gdc.fit(LINE, line, method="lm", device="auto")
    assert result.converged and "--device auto: on the GPU (60 rows)" in capsys.readouterr().err


def _cli(*args, env=None, prelude=""):
    code = f"import sys\n{prelude}\nfrom gdc.cli import main\nsys.argv = ['gdc', *sys.argv[1:]]\nsys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=120)


def test_device_gpu_without_a_gpu_is_a_clear_error(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,Y\n1,2\n2,4.1\n3,5.9\n")
    model = str(EXAMPLES / "linear.gd")
    # no simulator, no visible device: what a machine without a GPU sees, even one with a GPU
    done = _cli("fit", model, str(data), "--device", "gpu",
                env={"NUMBA_ENABLE_CUDASIM": "0", "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "--device gpu: error: numba-cuda finds no CUDA GPU" in done.stderr, done.stderr
    assert "--device cpu" in done.stderr
    # numba-cuda not installed at all
    done = _cli("fit", model, str(data), "--device", "gpu", prelude="sys.modules['numba.cuda'] = None")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "numba-cuda is not installed" in done.stderr and "gdc[gpu]" in done.stderr, done.stderr


def test_gdc_fit_device_gpu_from_the_command_line(tmp_path, line, capsys):
    from gdc.cli import main
    data = tmp_path / "line.csv"
    data.write_text("x,Y\n" + "".join(f"{x:.17g},{y:.17g}\n" for x, y in zip(line["x"], line["Y"])))
    model = tmp_path / "line.gd"
    model.write_text(LINE)
    assert main(["fit", str(model), str(data), "--device", "gpu", "--dtype", "float32", "--json"]) == 0
    out = capsys.readouterr()
    assert "device      gpu (the data copied there once, float32)" in out.err
    import json
    found = json.loads(out.out)
    slope, _ = np.polyfit(line["x"].astype(np.float32), line["Y"].astype(np.float32), 1)
    assert found["converged"] is True
    assert found["params"]["m"] == pytest.approx(slope, rel=1e-9)   # the fit of the rounded data


def test_a_shaped_model_from_the_command_line_and_too_large_a_one(tmp_path, capsys):
    """data x[d]: the columns x1..x3 feed x; the data go to the device column by column, as float32."""
    from gdc.cli import main
    rng = np.random.default_rng(6)
    x = rng.standard_normal((30, 3))
    Y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.05 * rng.standard_normal(30)
    data = tmp_path / "three.csv"
    data.write_text("x1,x2,x3,Y\n" + "".join(",".join(f"{v:.17g}" for v in (*row, y)) + "\n" for row, y in zip(x, Y)))
    model = str(EXAMPLES / "diabetes.gd")   # data x[d], Y; param w[d] = 0, b = 0; least squares
    assert main(["fit", model, str(data), "--device", "gpu", "--dtype", "float32", "--json"]) == 0
    import json
    found = json.loads(capsys.readouterr().out)
    rounded = np.column_stack([x.astype(np.float32), np.ones(30)]).astype(float)
    want = np.linalg.lstsq(rounded, Y.astype(np.float32).astype(float), rcond=None)[0]
    assert found["converged"] is True
    np.testing.assert_allclose(found["params"]["w"], want[:3], rtol=1e-8)
    wide = tmp_path / "wide.csv"   # d = 1100: more than a GPU thread's local arrays hold
    wide.write_text(",".join(f"x{j}" for j in range(1, 1101)) + ",Y\n" + ("0.5," * 1100 + "1\n") * 3)
    assert main(["fit", str(EXAMPLES / "breast_cancer.gd"), str(wide), "--device", "gpu"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "at d = 1100 needs" in err and "--device cpu" in err, err


def test_the_gpu_kernels_of_model_text_share_the_cpu_modules_plan(line):
    """on_device asks for the CUDA kernels under the name the CPU compile gave the model text
    (read_model's "<string>"), so codegen.planned's per-process plan is derived once, not twice."""
    from gdc.gpu import on_device
    from gdc.io.source import read_model
    seen = []

    def spy(kernels, text, where, names, origin):
        seen.append(where)
        return gdc.api.cuda_kernels(kernels, text, where, names, origin)
    problem = gdc.api.prepare(LINE, line)
    assert on_device(problem, "gpu", "float64", False, spy).backend == "gpu"
    assert seen == [read_model(LINE)[0]]
