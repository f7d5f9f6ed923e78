"""Pictures of fits: each panel appears when it applies, files are PNGs, matplotlib loads only on demand."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gdc.api import prepare
from gdc.fitting.options import Options
from gdc.fitting.run import run
from gdc.fitting.plot import plot_fit, plot_sweep
from locations import TESTS, EXAMPLES

STUDENTS = EXAMPLES / "students.csv"
DIABETES = TESTS / "data" / "diabetes.csv"
LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"
MAP = {"x": "height", "Y": "weight"}


@pytest.fixture(scope="module")
def students():
    return prepare(LINEAR, STUDENTS, mapping=MAP)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def figures(monkeypatch):
    """Every matplotlib figure saved during the test, in order (the file is written as usual)."""
    from matplotlib.figure import Figure
    saved, save = [], Figure.savefig

    def record(fig, *args, **kwargs):
        saved.append(fig)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return saved


def panels(fig) -> list:
    """The figure's panels: its axes, less colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_one_input_two_parameters_gives_three_panels(students, tmp_path, figures):
    result = run(students, Options())
    plot_fit(result, students, tmp_path / "fit.png")
    width, height = png_size(tmp_path / "fit.png")
    (fig,) = figures
    loss, data, surface = panels(fig)        # loss curve, data and fitted line, loss surface
    assert loss.get_title().startswith("loss per") and loss.lines
    assert data.collections and data.lines   # the data points and the fitted line
    assert surface.collections               # the contours (and the path)
    assert width > 3.5 * height


def test_many_parameters_give_the_loss_curve_alone(tmp_path, figures):
    model = ("model y = w0 + w1*age + w2*sex + w3*bmi + w4*bp + w5*s1 + w6*s2 + w7*s3"
             " + w8*s4 + w9*s5 + w10*s6\nloss mean((y - progression)^2)\n")
    problem = prepare(model, DIABETES)
    result = run(problem, Options())
    assert result.path is None
    plot_fit(result, problem, tmp_path / "fit.png")
    width, height = png_size(tmp_path / "fit.png")
    (fig,) = figures
    assert len(panels(fig)) == 1 and panels(fig)[0].get_title().startswith("loss per")
    assert width < 1.5 * height


def test_a_diverged_fit_still_shows_its_loss_curve(students, tmp_path, figures):
    result = run(students, Options(lr=0.01))
    assert result.reason == "diverged"
    assert not np.isfinite(result.history).all() or result.history[-1] > 1e8 * result.history[0]
    plot_fit(result, students, tmp_path / "diverged.png")
    png_size(tmp_path / "diverged.png")
    (fig,) = figures
    assert len(panels(fig)) == 1 and panels(fig)[0].lines   # the loss curve alone


def test_sweep_puts_one_panel_per_rate(students, tmp_path, figures):
    results = [run(students, Options(lr=lr, epochs=200)) for lr in (1e-6, 1e-5, 1e-3)]
    assert [r.reason for r in results][-1] == "diverged"
    plot_sweep(results, students, tmp_path / "sweep.png")
    width, height = png_size(tmp_path / "sweep.png")
    (fig,) = figures
    assert [ax.get_title().split("\n")[0] for ax in panels(fig)] == ["lr = 1e-06", "lr = 1e-05", "lr = 0.001"]
    assert width > 2 * height


def test_fitting_without_plot_never_imports_matplotlib():
    code = ("import sys, gdc, gdc.fitting.run, gdc.fitting.report, gdc.cli.fit; "
            "print(sorted(m for m in ('matplotlib', 'sympy', 'lark', 'tqdm') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
