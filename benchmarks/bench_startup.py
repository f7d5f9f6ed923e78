"""How long a person waits for gdc to start: each row a fresh process, side by side in one run.

    python benchmarks/bench_startup.py [--repeat 5] [--only NAME,NAME]

Rows (each command run --repeat times, the rows interleaved round by round, so that the
machine's other work falls on all of them alike; medians, minima, and the ratio of each
median to the scipy script's):

- `python -c pass` and `python -c "import numba"`: the floors.
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
its bytecode compiled before the first round, as after `pip install`.
"""

from __future__ import annotations

import argparse
import os
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


def rows() -> dict[str, tuple[list[str], bool]]:
    """name -> (the command, whether it needs an empty kernel cache)."""
    py = sys.executable
    gdc = [py, "-m", "gdc"]
    return {
        "python -c pass": ([py, "-c", "pass"], False),
        "python -c 'import numba'": ([py, "-c", "import numba"], False),
        "scipy curve_fit script": ([py, "-c", SCIPY, str(EXAMPLES / "students.csv")], False),
        "warm gdc fit linear": (gdc + ["fit", str(EXAMPLES / "linear.gd"), str(EXAMPLES / "students.csv"),
                                       "--map", "x=height,Y=weight"], False),
        "cold gdc fit exp_decay": (gdc + ["fit", str(EXAMPLES / "exp_decay.gd"),
                                          str(EXAMPLES / "exp_decay.csv")], True),
        "cold gdc fit network": (gdc + ["fit", str(EXAMPLES / "network.gd"), str(EXAMPLES / "diabetes.csv"),
                                        "--epochs", "100"], True),
        "cold shaped compile": ([py, "-c", SHAPED], True),
        "gdc derive linear": (gdc + ["derive", str(EXAMPLES / "linear.gd")], False),
    }


def run_once(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed:\n{done.stderr}")
    return seconds


def measure(chosen: dict, repeat: int, work: Path) -> dict[str, list[float]]:
    warm = work / "warm"
    env = dict(os.environ, GDC_CACHE_DIR=str(warm))
    env.pop("NUMBA_CACHE_DIR", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "gdc")], check=True)
    for command, _ in chosen.values():   # fills the warm cache and gdc's own numba helpers
        run_once(command, env)
    times: dict[str, list[float]] = {name: [] for name in chosen}
    for round_ in range(repeat):
        for name, (command, cold) in chosen.items():
            cache = work / f"cold-{round_}-{len(times[name])}-{abs(hash(name))}"
            times[name].append(run_once(command, dict(env, GDC_CACHE_DIR=str(cache)) if cold else env))
            if cold:
                shutil.rmtree(cache, ignore_errors=True)
    return times


def table(times: dict[str, list[float]]) -> str:
    base = statistics.median(times["scipy curve_fit script"]) if "scipy curve_fit script" in times else None
    lines = ["| command, in a fresh process | median s | min s | max s | × scipy script |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, ts in times.items():
        med = statistics.median(ts)
        ratio = f"{med / base:.2f}" if base else "-"
        lines.append(f"| {name} | {med:.2f} | {min(ts):.2f} | {max(ts):.2f} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="comma-separated row names (substrings) to run")
    args = parser.parse_args()
    chosen = rows()
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        chosen = {n: c for n, c in chosen.items() if n == "scipy curve_fit script" or any(w in n for w in wanted)}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="gdc-startup-") as work:
        times = measure(chosen, args.repeat, Path(work))
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.repeat} runs each, interleaved; load average {load:.1f} before, {load_after:.1f} after\n")
    print(table(times))
    print("\nraw seconds:")
    for name, ts in times.items():
        print(f"  {name}: {', '.join(f'{t:.2f}' for t in ts)}")


if __name__ == "__main__":
    main()
