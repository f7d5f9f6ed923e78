"""The flat parameter vector of shaped models (gdc.runtime.layout) and its wiring into Kernels.

The modules are stand-ins (tests/shaped_fakes.py) with the constants of the calling
convention, so these tests need neither the front end nor the kernel generator.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import shaped_fakes
from oracles import central_differences

from gdc.errors import GdcError
from gdc.runtime.kernels import Kernels
from gdc.runtime.layout import Layout, layout, resolve_sizes


def scalar_module() -> SimpleNamespace:
    """What a scalar model's module holds: no PARAM_SHAPES, DATA_SHAPES or SIZES."""
    return SimpleNamespace(PARAM_NAMES=("m", "b"), DATA_NAMES=("x", "Y"), INPUT_NAMES=("x",),
                           INITIAL=(1.5, 0.0), MODEL_HASH="scalar")


def network(d: int = 4) -> Layout:
    return layout(("W", "v", "a"), ((3, "d"), (3,), ()), (None, None, 0.25), {"d": d})


def test_a_scalar_module_works_as_before():
    k = Kernels.from_module(scalar_module())
    np.testing.assert_array_equal(k.initial, [1.5, 0.0])
    assert k.initial.dtype == np.float64 and not k.shaped
    plan = k.layout([np.zeros(3), np.zeros(3)])
    assert plan.size == 2 and plan.element_names == ("m", "b") and not plan.shaped
    assert k.flat(plan) is k
    assert plan.unflatten(np.array([2.0, 3.0])) == {"m": 2.0, "b": 3.0}
    with pytest.raises(GdcError, match=r"the data 'x' must be a 1-D array \(one value per sample\)"):
        k.layout([np.zeros((3, 2)), np.zeros(3)], where="gdc.fit")


def test_offsets_sizes_and_element_names_are_row_major():
    plan = network(4)
    assert plan.shapes == ((3, 4), (3,), ())
    assert plan.size == 16 and plan.offsets == (0, 12, 15)
    names = plan.element_names
    assert names[:5] == ("W[0, 0]", "W[0, 1]", "W[0, 2]", "W[0, 3]", "W[1, 0]")
    assert names[12:] == ("v[0]", "v[1]", "v[2]", "a")
    assert plan.sizes == (("d", 4),)
    assert plan.span("v") == slice(12, 15)


def test_unflatten_and_flatten_round_trip():
    plan = network(4)
    theta = np.arange(16.0)
    values = plan.unflatten(theta)
    np.testing.assert_array_equal(values["W"], np.arange(12.0).reshape(3, 4))
    assert values["W"][0, 1] == theta[1]     # C order: the last index varies fastest
    np.testing.assert_array_equal(values["v"], [12.0, 13.0, 14.0])
    assert values["a"] == 15.0 and isinstance(values["a"], float)
    np.testing.assert_array_equal(plan.flatten(values), theta)
    lists = {"W": values["W"].tolist(), "v": values["v"].tolist(), "a": 15}
    np.testing.assert_array_equal(plan.flatten(lists), theta)
    values["W"][0, 0] = 99.0                 # a copy, not a view of theta
    assert theta[0] == 0.0


def test_flatten_refuses_a_wrong_shape_with_the_sizes():
    plan = network(4)
    values = plan.unflatten(np.zeros(16))
    values["v"] = [1.0, 2.0]
    with pytest.raises(GdcError) as info:
        plan.flatten(values, where="params.json")
    text = info.value.render()
    assert text.startswith("params.json: error: 'v' has shape [2] here, but the model with this "
                           "data needs [3]")
    del values["v"]
    with pytest.raises(GdcError, match="no value for the parameter 'v'"):
        plan.flatten(values)


def test_initial_values_numbers_fill_and_none_draws_within_the_fan_in_bound():
    plan = network(4)
    theta = plan.initial(seed=0)
    w, v, a = theta[:12], theta[12:15], theta[15]
    assert a == 0.25
    assert np.all(np.abs(w) <= 1 / np.sqrt(4)) and np.all(np.abs(v) <= 1 / np.sqrt(3))
    assert len(set(w.tolist())) == 12        # symmetry broken
    np.testing.assert_array_equal(plan.initial(seed=0), theta)
    assert not np.array_equal(plan.initial(seed=1)[:12], w)
    filled = layout(("w", "b"), (("d",), ()), (0.5, None), {"d": 3}).initial()
    assert filled[:3].tolist() == [0.5, 0.5, 0.5] and abs(filled[3]) <= 1.0


def test_kernels_of_a_shaped_module_bind_to_the_data():
    k = Kernels.from_module(shaped_fakes.two_layer(3))
    assert k.shaped and k.initial.size == 0   # d comes from the data
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 7)), rng.normal(size=5)
    plan = k.layout((x, y))
    assert plan.shapes == ((3, 7), (3,), ()) and plan.size == 25
    flat = k.flat(plan)
    assert flat.param_names == plan.element_names and len(flat.initial) == 25
    assert flat.module is k.module and flat.data_names == k.data_names
    # the flat vector is W row-major, then v, then a: the loss and gradient of y = v·tanh(W x) + a
    def loss(theta):
        W, v, a = theta[:21].reshape(3, 7), theta[21:24], theta[24]
        return np.mean((np.tanh(x @ W.T) @ v + a - y) ** 2)

    theta = flat.initial + rng.uniform(-0.5, 0.5, 25)
    grad = np.zeros(25)
    assert flat.loss_grad(theta, x, y, grad) == pytest.approx(loss(theta), rel=1e-12)
    np.testing.assert_allclose(grad, central_differences(loss, theta), rtol=1e-6, atol=1e-9)
    assert plan.unflatten(theta)["W"][2, 6] == theta[20] and plan.unflatten(theta)["a"] == theta[24]
    # a fixed size needs no data
    fixed = Kernels.from_module(shaped_fakes.linear(initial=(0.0, 1.0), fixed=3))
    np.testing.assert_array_equal(fixed.initial, [0.0, 0.0, 0.0, 1.0])


def test_sizes_from_the_data_and_their_disagreements():
    names, shapes, sizes = ("x", "z", "Y"), (("d",), ("d",), ()), {"d": ("x", 0)}
    assert resolve_sizes(names, shapes, sizes, (np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(4))) == {"d": 3}
    with pytest.raises(GdcError, match="the data 'z' has 2 columns, but 'x' has 3: both give the size d"):
        resolve_sizes(names, shapes, sizes, (np.zeros((4, 3)), np.zeros((4, 2)), np.zeros(4)))
    with pytest.raises(GdcError, match=r"the data 'x' must be a 2-D array \(one row of d values"):
        resolve_sizes(names, shapes, sizes, (np.zeros(4), np.zeros((4, 2)), np.zeros(4)))
    with pytest.raises(GdcError, match=r"the data 'Y' must be a 1-D array"):
        resolve_sizes(names, shapes, sizes, (np.zeros((4, 3)), np.zeros((4, 3)), np.zeros((4, 1))))
    with pytest.raises(GdcError, match=r"the data 'x' has 4 columns, but the model declares x\[3\]"):
        resolve_sizes(("x",), ((3,),), {}, (np.zeros((2, 4)),))
    # predict has the inputs only: a mapping, and the sizes it can give
    assert resolve_sizes(names, shapes, sizes, {"z": np.zeros((4, 5))}) == {}


def test_a_size_no_data_gives_is_an_error():
    with pytest.raises(GdcError, match="the size 'h' of the parameter 'W' is not known"):
        layout(("W",), (("h", 2),), (None,), {})
