"""Shared test fixtures: golden files and the --update-golden option."""

from __future__ import annotations

import os
import sys

import pytest

from locations import GOLDEN

# numba's CUDA simulator stands in for a GPU in the tests of the CUDA kernels (it must be on
# before numba.cuda is first imported); NUMBA_ENABLE_CUDASIM=0 runs them on a real GPU.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")


@pytest.fixture(scope="module")
def quick_simulator():
    """The simulator's threads meet at every syncthreads; Python's default 5 ms between thread
    switches makes each meeting slow (5× in test_cuda), so the CUDA tests' modules switch sooner
    (`pytestmark = pytest.mark.usefixtures("quick_simulator")`)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(before)


@pytest.fixture(scope="session")
def kernel_dir(request, tmp_path_factory):
    """The kernel cache the tests compile into, shared by the xdist workers.

    It lives in pytest's cache folder and is kept between runs: every key holds a digest of
    gdc's compiler sources and the numba version, so an edit never reuses stale kernels, and
    the modules are sealed. `GDC_TEST_COLD=1` compiles everything afresh, as CI's new machine
    does (tests/runtime/test_cache.py compiles into empty folders of its own either way)."""
    if os.environ.get("GDC_TEST_COLD") or getattr(request.config, "cache", None) is None:
        shared = tmp_path_factory.getbasetemp()
        if os.environ.get("PYTEST_XDIST_WORKER"):   # one folder for all workers of this run
            shared = shared.parent
        folder = shared / "gdc-kernels"
        folder.mkdir(exist_ok=True)
        return folder
    return request.config.cache.mkdir("gdc-kernels")


@pytest.fixture(scope="session", autouse=True)
def kernel_cache(kernel_dir):
    """Every test compiles into the session's cache, never into the user's ~/.cache/gdc."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GDC_CACHE_DIR", str(kernel_dir))
        yield kernel_dir


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files from the current output (review the diff!)")


@pytest.fixture
def golden(request):
    """golden(relative_path, text): compare text with tests/golden/<relative_path>, or rewrite it."""
    update = request.config.getoption("--update-golden")

    def check(relative: str, text: str) -> None:
        path = GOLDEN / relative
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run pytest --update-golden and review it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"output differs from {path}; if the change is deliberate, run --update-golden"

    return check
