"""Time candidate CSV readers side by side on an N x 3 float CSV (how gdc.io.data chose pyarrow).

    python benchmarks/bench_csv.py [--rows N] [--repeat 3]

Every reader is timed end to end, from path to one float64 NumPy array per column;
the gdc row is `gdc.io.data.read_table`, header checks and NaN/inf validation included.
The file lives in a temporary directory and is read once before timing, so every reader
finds it in the page cache. Readers that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

COLUMNS = ("x", "y", "z")


def write_csv(path: Path, rows: int, chunk: int = 200_000) -> None:
    """N rows of 3 normal floats, 9 significant digits, like measured data."""
    rng = np.random.default_rng(0)
    line = ",".join(["%.9g"] * len(COLUMNS)) + "\n"
    with open(path, "w") as f:
        f.write(",".join(COLUMNS) + "\n")
        for start in range(0, rows, chunk):
            block = rng.standard_normal((min(chunk, rows - start), len(COLUMNS)))
            f.write((line * len(block)) % tuple(block.ravel().tolist()))


def numpy_loadtxt(path: Path) -> list[np.ndarray]:
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return [np.ascontiguousarray(column) for column in table.T]


def pyarrow_csv(path: Path) -> list[np.ndarray]:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(COLUMNS, pa.float64()))
    return [column.to_numpy() for column in pacsv.read_csv(path, convert_options=convert).columns]


def polars_csv(path: Path) -> list[np.ndarray]:
    import polars as pl

    frame = pl.read_csv(path, schema=dict.fromkeys(COLUMNS, pl.Float64))
    return [frame[name].to_numpy() for name in COLUMNS]


def pandas_csv(path: Path) -> list[np.ndarray]:
    import pandas as pd

    frame = pd.read_csv(path, dtype=np.float64)
    return [frame[name].to_numpy() for name in COLUMNS]


def gdc_read_table(path: Path) -> list[np.ndarray]:
    from gdc.io.data import read_table

    return list(read_table(path).columns.values())


CANDIDATES: list[tuple[str, str | None, Callable[[Path], list[np.ndarray]]]] = [
    ("numpy.loadtxt", None, numpy_loadtxt),
    ("pyarrow.csv.read_csv", "pyarrow", pyarrow_csv),
    ("polars.read_csv", "polars", polars_csv),
    ("pandas.read_csv (C engine)", "pandas", pandas_csv),
    ("gdc.io.data.read_table", "gdc.io.data", gdc_read_table),
]


def available(module: str | None) -> bool:
    """Whether a candidate's library can be imported (gdc needs `pip install -e .`)."""
    try:
        return module is None or importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def median_time(reader: Callable[[Path], list[np.ndarray]], path: Path, rows: int,
                repeat: int) -> float:
    """Median wall time of `repeat` runs, checking each result has the right shape."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        columns = reader(path)
        times.append(time.perf_counter() - start)
        assert len(columns) == len(COLUMNS) and all(len(c) == rows for c in columns)
        del columns
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        write_csv(path, args.rows)
        path.read_bytes()  # warm the page cache for every reader alike
        size = path.stat().st_size / 1e6
        print(f"{args.rows:,} rows x {len(COLUMNS)} float columns, {size:.0f} MB, "
              f"median of {args.repeat} runs")
        results = {}
        for name, module, reader in CANDIDATES:
            if not available(module):
                print(f"  (skipped {name}: {module} not importable)")
                continue
            reader(path)  # untimed: imports and first-touch costs are not the reader's speed
            results[name] = median_time(reader, path, args.rows, args.repeat)
    fastest = min(results.values())
    print(f"{'reader':<28} {'median s':>9} {'x fastest':>10}")
    for name, seconds in sorted(results.items(), key=lambda item: item[1]):
        print(f"{name:<28} {seconds:>9.3f} {seconds / fastest:>10.2f}")


if __name__ == "__main__":
    main()
