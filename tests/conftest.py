"""Shared test fixtures: golden files and the --update-golden option."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
GOLDEN = TESTS / "golden"


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory):
    """The test session's own kernel cache: each run compiles what it uses, as CI does."""
    return tmp_path_factory.mktemp("gdc-kernels")


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
