"""How long a person waits for gdc to start: each row a fresh process, side by side in one run.

    python benchmarks/bench_startup.py [--repeat 5] [--only NAME,NAME]

Rows (each command run --repeat times, the rows interleaved round by round, so that the
machine's other work falls on all of them alike; medians, minima, and the ratio of each
median to the scipy script's):

- `python -c pass`, `python -c "import numba"`, and a cached one-line numba function imported
  and called once (numba's own start-up: its import, the set-up of its compiler, one load
  from its cache): the floors.
- scipy: a script that reads examples/students.csv and fits y = m*x + b with curve_fit.
- warm fit: `gdc fit examples/linear.gd examples/students.csv --map x=height,Y=weight`,
  the kernels already in the cache (a private cache filled before the first round).
- cold exp: the first `gdc fit examples/exp_decay.gd examples/exp_decay.csv`, an empty
  kernel cache (GDC_CACHE_DIR, a new folder each run; numba's code for the generated module
  lives beside it, so it is cold too; gdc's own few numba helpers are warm, as after the
  first use of an install).
- cold network: the first `gdc fit examples/network.gd examples/diabetes.csv --epochs 100`
  (385 parameters; 100 epochs keep the fit itself near 0.02 s), an empty kernel cache.
- cold shaped: benchmarks/bench_shaped.py's first compile of logistic regression (d = 10):
  gdc.compile and the first call of loss_grad, loss_grad_parallel, sgd_epoch and predict.
- derive: `gdc derive examples/linear.gd`.

gdc runs from this checkout (`python -m gdc`, the current folder first on the path), with
its bytecode compiled before the first round, as after `pip install`. With --baseline, each
gdc row runs a second time from another checkout (say `git worktree add /tmp/base main`), in
the same rounds: the fairest before/after on a machine shared with other work.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

SCIPY = textwrap.dedent("""
    import csv, sys
    import numpy as np
    from scipy.optimize import curve_fit
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([float(r["height"]) for r in rows])
    Y = np.array([float(r["weight"]) for r in rows])
    (m, b), cov = curve_fit(lambda x, m, b: m * x + b, x, Y, p0=(0.0, 0.0))
    print(f"m = {m:.6g}, b = {b:.6g}, se = {np.sqrt(np.diag(cov))}")
""")

SHAPED = textwrap.dedent("""
    import numpy as np
    import gdc
    k = gdc.compile("data x[10], Y\\nparam w[10], b\\nmodel p = sigmoid(dot(w, x) + b)\\n"
                    "loss mean(-Y*log(p) - (1 - Y)*log(1 - p))\\n")
    x, Y = np.zeros((4, 10)), np.zeros(4)
    p, g = np.zeros(11), np.empty(11)
    k.loss_grad(p, x, Y, g); k.loss_grad_parallel(p, x, Y, g)
    k.sgd_epoch(p, x, Y, 0.1, np.arange(4)); k.predict(p, x)
""")


TINY = "import numba\n\n\n@numba.njit(cache=True)\ndef f(x):\n    return x.sum()\n"
TINY_CALL = "import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import tiny; tiny.f(np.ones(3))"


def rows(work: Path) -> dict[str, tuple[list[str], bool]]:
    """name -> (the command, whether it needs an empty kernel cache); gdc's rows name "gdc"."""
    py = sys.executable
    gdc = [py, "-m", "gdc"]
    (work / "tiny.py").write_text(TINY)
    return {
        "python -c pass": ([py, "-c", "pass"], False),
        "python -c 'import numba'": ([py, "-c", "import numba"], False),
        "a cached one-line numba function, called once": ([py, "-c", TINY_CALL, str(work)], False),
        "scipy curve_fit script": ([py, "-c", SCIPY, str(EXAMPLES / "students.csv")], False),
        "warm gdc fit linear": (gdc + ["fit", str(EXAMPLES / "linear.gd"), str(EXAMPLES / "students.csv"),
                                       "--map", "x=height,Y=weight"], False),
        "cold gdc fit exp_decay": (gdc + ["fit", str(EXAMPLES / "exp_decay.gd"),
                                          str(EXAMPLES / "exp_decay.csv")], True),
        "cold gdc fit network": (gdc + ["fit", str(EXAMPLES / "network.gd"), str(EXAMPLES / "diabetes.csv"),
                                        "--epochs", "100"], True),
        "cold gdc shaped compile": ([py, "-c", SHAPED], True),
        "gdc derive linear": (gdc + ["derive", str(EXAMPLES / "linear.gd")], False),
    }


def run_once(command: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the process and its threads)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed:\n{done.stderr}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def with_baseline(chosen: dict, baseline: Path | None) -> dict[str, tuple[list[str], bool, Path]]:
    """Each row with the checkout it runs in; with a baseline, each gdc row twice, the second
    from the baseline checkout (another version of gdc, on the same example files)."""
    out = {}
    for name, (command, cold) in chosen.items():
        out[name] = (command, cold, ROOT)
        if baseline is not None and "gdc" in name:
            out[f"{name} (baseline)"] = (command, cold, baseline)
    return out


def measure(chosen: dict, repeat: int, work: Path) -> dict[str, list[tuple[float, float]]]:
    warm = work / "warm"
    env = dict(os.environ, GDC_CACHE_DIR=str(warm))
    env.pop("NUMBA_CACHE_DIR", None)
    for root in {cwd for _, _, cwd in chosen.values()}:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "gdc")], check=True)
    for command, _, cwd in chosen.values():   # fills the warm cache and gdc's own numba helpers
        run_once(command, env, cwd)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
    for round_ in range(repeat):
        for name, (command, cold, cwd) in chosen.items():
            cache = work / f"cold-{round_}-{len(times[name])}-{abs(hash(name))}"
            times[name].append(run_once(command, dict(env, GDC_CACHE_DIR=str(cache)) if cold else env, cwd))
            if cold:
                shutil.rmtree(cache, ignore_errors=True)
    return times


def table(times: dict[str, list[tuple[float, float]]]) -> str:
    """Wall seconds (median, min, max), the median's ratio to the scipy script's, and the median
    CPU seconds (less disturbed by other work on the machine than the wall clock)."""
    scipy = times.get("scipy curve_fit script")
    base = statistics.median(w for w, _ in scipy) if scipy else None
    lines = ["| command, in a fresh process | median s | min s | max s | × scipy script | median CPU s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, runs in times.items():
        wall = [w for w, _ in runs]
        med = statistics.median(wall)
        ratio = f"{med / base:.2f}" if base else "-"
        cpu = statistics.median(c for _, c in runs)
        lines.append(f"| {name} | {med:.2f} | {min(wall):.2f} | {max(wall):.2f} | {ratio} | {cpu:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="comma-separated row names (substrings) to run")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also run each gdc row from this checkout of another version, interleaved")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="gdc-startup-") as work:
        chosen = rows(Path(work))
        if args.only:
            wanted = [w.strip() for w in args.only.split(",")]
            chosen = {n: c for n, c in chosen.items() if n == "scipy curve_fit script" or any(w in n for w in wanted)}
        times = measure(with_baseline(chosen, args.baseline), args.repeat, Path(work))
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.repeat} runs each, interleaved; load average {load:.1f} before, {load_after:.1f} after\n")
    print(table(times))
    print("\nraw seconds:")
    for name, runs in times.items():
        print(f"  {name}: wall {', '.join(f'{w:.2f}' for w, _ in runs)}; CPU {', '.join(f'{c:.2f}' for _, c in runs)}")


if __name__ == "__main__":
    main()
