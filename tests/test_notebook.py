"""examples/tour.ipynb runs from top to bottom in a real kernel (nbclient), and shows what it says:
the derivation as MathML, the fits as tables, the pictures as SVG."""

from __future__ import annotations

import os

import pytest

from locations import EXAMPLES, ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("pandas")


def test_the_tour_runs_and_shows_math_tables_and_pictures(monkeypatch):
    # The kernel is a new process: it imports this checkout's gdc and shares the tests' kernel cache.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    notebook = nbformat.read(EXAMPLES / "tour.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "the notebook is stored without outputs"
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute()   # raises CellExecutionError, with the cell and its traceback, if a cell fails
    shown = [output.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
             for output in cell.outputs]
    assert not [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
                if o.output_type == "error"]
    assert any("<math" in data.get("text/html", "") for data in shown)             # the derivation
    assert sum('class="gdc-fit"' in data.get("text/html", "") for data in shown) >= 2   # fit, sweep
    assert sum("<svg" in data.get("image/svg+xml", "") for data in shown) == 2      # the pictures
