"""What a fit over partitioned data (gdc.scale: streamed from files, or held by Dask workers)
can do: every full-batch method, whose passes are sums over rows; not the stochastic ones."""

from __future__ import annotations

from gdc.errors import GdcError

from .options import Options

PARTITIONED = ("stream", "dask")


def check_partitioned(backend: str, options: Options) -> None:
    """Refuse the methods that update from single rows or batches: their epochs walk the rows in
    one shuffled order, which parts read one after another cannot give."""
    if backend in PARTITIONED and options.stochastic:
        what = f"--method {options.method}" + (f" --batch-size {options.batch_size}" if options.batch_size else "")
        raise GdcError(f"{what} updates from samples of rows; a fit over partitioned data "
                       "(streamed, or on Dask) runs full-batch methods only", where="--method",
                       hint="use --method auto (or lm, newton, lbfgs, gd), which give the same "
                            "answer as in memory")


def plot_allowed(backend: str) -> None:
    """--plot draws the data's rows: refused where the fit does not hold them."""
    if backend in PARTITIONED:
        raise GdcError("--plot draws the data's rows, which a streamed or Dask fit does not hold",
                       where="--plot", hint="plot a sample of the data, fitted in memory")
