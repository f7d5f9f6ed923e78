"""What a Dask worker does with the kernels a client sends: it stores and runs them only when
they are sealed by gdc, for the model they claim, by the worker's own gdc version."""

from __future__ import annotations

import pytest

from gdc.api import source
from gdc.errors import GdcError
from gdc.runtime.keys import model_key
from gdc.runtime.sealed import FIRST_LINE
from gdc.scale import work

from scale_models import LINE


@pytest.fixture(scope="module")
def sent():
    """(key, text) as a client sends them: the sealed module of the line."""
    return model_key(LINE, None), source(LINE)


def test_a_sealed_module_is_accepted(sent):
    work._check_sealed(*sent)   # no error: the module and its key agree


@pytest.mark.parametrize("change, why", [
    (lambda key, text: (key, text.replace("def loss(", "def lost(", 1)), "damaged"),
    (lambda key, text: ("0" * len(key), text), "another model"),
    (lambda key, text: (key, text.replace(FIRST_LINE, FIRST_LINE.replace("gdc ", "gdc 0.0.0-other ", 1), 1)),
     "another gdc version"),
])
def test_a_module_not_sealed_for_the_worker_is_refused_before_it_is_stored(sent, change, why, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("GDC_CACHE_DIR", str(tmp_path))
    key, text = change(*sent)
    with pytest.raises(GdcError, match=why):
        work.load(key, text)
    assert not list(tmp_path.glob("gdc_*.py"))   # nothing was written, nothing run
