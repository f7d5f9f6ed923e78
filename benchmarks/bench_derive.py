"""How long `derive` takes on each example and on logistic regression with d inputs.

    python benchmarks/bench_derive.py [--sizes 10,20,50] [--repeat 3] [--no-cli]

Each row is the median of --repeat runs of `gdc.calculus.derive.derive` on an already-built symbolic
model, every run starting cold (sympy's cache and the derivation's caches cleared), as in a
fresh process. The logistic rows use scalar weights w1..wd; their last column is the time
over d = 10's, which grows like d when the per-parameter work is linear. Last, the wall
time of the command `gdc derive examples/linear.gd` in a new process (median of 5).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sympy.core.cache import clear_cache

from gdc.calculus import derive as derive_module
from gdc.calculus import rules
from gdc.calculus import simplify
from gdc.calculus import verify
from gdc.calculus.derive import derive
from gdc.language.frontend import check_source
from gdc.calculus.symbolic import symbolic

ROOT = Path(__file__).resolve().parent.parent


def logistic(d: int) -> str:
    """Logistic regression with d inputs and a log-loss, written out weight by weight."""
    z = " + ".join(f"w{k}*x{k}" for k in range(1, d + 1)) + " + b"
    return f"model p = sigmoid({z})\nloss mean(-Y*log(p) - (1 - Y)*log(1 - p))\n"


def cold() -> None:
    """Forget what an earlier run remembered: sympy's cache and each cache of the derivation."""
    clear_cache()
    verify.clear_caches()
    for module in (derive_module, rules, simplify):
        for obj in vars(module).values():
            if callable(getattr(obj, "cache_clear", None)):
                obj.cache_clear()


def seconds(source, repeat: int) -> float:
    model = symbolic(check_source(source))
    times = []
    for _ in range(repeat):
        cold()
        start = time.perf_counter()
        derive(model)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_seconds(repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gdc", "derive", str(ROOT / "examples" / "linear.gd")],
                       check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,20,50", help="numbers of logistic inputs d")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="skip the `gdc derive` command")
    args = parser.parse_args()
    print(f"| model | derive s (median of {args.repeat}) | / d=10 |")
    print("| --- | ---: | ---: |")
    for path in sorted((ROOT / "examples").glob("*.gd")):
        print(f"| {path.stem} | {seconds(path, args.repeat):.3f} | |", flush=True)
    base = None
    for d in (int(s) for s in args.sizes.split(",")):
        t = seconds(logistic(d), args.repeat)
        base = t if d == 10 else base
        ratio = f"{t / base:.1f}" if base else ""
        print(f"| logistic d={d} | {t:.3f} | {ratio} |", flush=True)
    if not args.no_cli:
        print(f"\n`gdc derive examples/linear.gd`, new process, median of 5: {cli_seconds():.2f} s")


if __name__ == "__main__":
    main()
