"""Two promises of the kernels' calling convention (README), checked in one fresh process:
`loss_grad_parallel` gives the same bits for 1, 2, 3 and 4 threads, scalar and shaped; and a
warm kernel makes no temporary of size N (its peak memory does not grow with the data)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from locations import EXAMPLES, ROOT

# Models other tests compile too: in the session's kernel cache, the process loads them.
SCALAR = str(EXAMPLES / "tanh.gd")
SHAPED = str(EXAMPLES / "network.gd")


def run(code: str, **env) -> dict:
    """Run code in a fresh interpreter on this tree's gdc; it prints one JSON document."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def measured() -> dict:
    """Both measurements from one process: 4 numba threads, and a fixed mmap threshold, so
    that glibc maps every large block afresh and unmaps it when freed, instead of reusing
    pages that are resident already (which no peak would show)."""
    code = "\n".join([THREADS % (SCALAR, SHAPED), MEMORY % (3_000_000, SCALAR, SHAPED),
                      "    print(json.dumps({'threads': threads, 'memory': memory}))"])
    return run(code, NUMBA_NUM_THREADS="4", MALLOC_MMAP_THRESHOLD_="131072")


THREADS = """
    import hashlib, json
    import numba, numpy as np, gdc
    rng = np.random.default_rng(1)
    rows = 64 * 37 + 11     # several rows per chunk, unevenly split between threads
    threads = {}
    for name, model in (("scalar", %r), ("shaped", %r)):
        k = gdc.compile(model)
        if name == "scalar":
            data = (rng.uniform(-2, 2, rows), rng.uniform(-2, 2, rows))
            theta = rng.uniform(-1, 1, 4)
        else:
            data = (np.ascontiguousarray(rng.normal(size=(rows, 10))), rng.normal(150, 50, rows))
            theta = k.layout(data).initial(seed=3)
        digests = []
        for count in (1, 2, 3, 4, 1):
            numba.set_num_threads(count)
            grad = np.zeros(theta.size)
            value = k.loss_grad_parallel(theta, *data, grad)
            digests.append(hashlib.sha256(np.append(grad, value).tobytes()).hexdigest())
        serial = np.zeros(theta.size)
        value = k.loss_grad(theta, *data, serial)
        grad = np.zeros(theta.size)
        k.loss_grad_parallel(theta, *data, grad)
        scale = np.maximum(np.abs(serial), 1e-12 * abs(value))
        threads[name] = {"digests": digests, "threads": numba.config.NUMBA_NUM_THREADS,
                         "vs_serial": float(np.max(np.abs(grad - serial) / scale))}
"""


def test_the_parallel_kernel_gives_the_same_bits_for_1_to_4_threads(measured):
    found = measured["threads"]
    for name in ("scalar", "shaped"):
        assert found[name]["threads"] == 4
        assert len(set(found[name]["digests"])) == 1, (name, found[name]["digests"])
        assert found[name]["vs_serial"] < 1e-11, name   # the same sums, in another order


MEMORY = """
    import json
    import numpy as np, gdc
    big = %d

    def peak_mib_since_reset(call, data):
        # Linux: writing 5 to clear_refs sets the peak resident size (VmHWM) to the current one
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        call(data)
        with open("/proc/self/status") as f:
            status = dict(line.split(":", 1) for line in f)
        return int(status["VmHWM"].split()[0]) / 1024 - int(status["VmRSS"].split()[0]) / 1024

    rng = np.random.default_rng(0)

    def filled(shape, low, high):   # no temporaries here either: they would raise the peak
        out = np.empty(shape)
        rng.random(out=out)
        out *= high - low
        out += low
        return out

    memory = {}
    for name, model in (("scalar", %r), ("shaped", %r)):
        k = gdc.compile(model)
        def data_of(rows):
            if name == "scalar":
                return (filled(rows, -2, 2), filled(rows, -2, 2))
            return (filled((rows, 10), -2, 2), filled(rows, 50, 250))
        small = data_of(100)
        theta = (k.layout(small).initial(seed=3) if k.shaped else rng.uniform(-1, 1, 4))
        grad = np.zeros(theta.size)
        calls = {
            "loss": lambda data: k.loss(theta, *data),
            "loss_grad": lambda data: k.loss_grad(theta, *data, grad),
            "loss_grad_parallel": lambda data: k.loss_grad_parallel(theta, *data, grad),
            "control": lambda data: float((data[-1] * 2).sum()),   # one temporary of size N
        }
        for call in calls.values():     # compiled, and the thread pool started, on small data
            call(small)
        data = data_of(big)
        column_mib = big * 8 / 2**20
        memory[name] = {label: peak_mib_since_reset(call, data) / column_mib for label, call in calls.items()}
        del data
"""


def test_a_warm_kernel_makes_no_temporary_of_size_n(measured):
    """The peak memory of a fresh process during each call on N = 3·10⁶ rows, above what it
    held before, in units of one column of N float64 (23 MiB): the control, which makes one
    temporary of size N, shows about 1; the kernels must show nothing of the kind."""
    found = measured["memory"]
    for name, grown in found.items():
        assert 0.9 < grown.pop("control") < 1.5, (name, "the measurement cannot see a temporary")
        for kernel, columns in grown.items():
            assert columns < 0.1, (name, kernel, columns)
