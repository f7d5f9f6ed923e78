"""Class labels to one-hot rows: `data Y[K] from label` reads a column of integers 0..K−1 (issue 14)."""

from __future__ import annotations

import numpy as np

from gdc.errors import GdcError


def one_hot(labels: np.ndarray, classes: int | None, name: str, column: str, where: str) -> np.ndarray:
    """An (N, K) float64 array with a 1 in each row at its label. `classes` is K when the model
    fixes it (`Y[3]`), else None: then K is the largest label + 1."""
    values = np.asarray(labels, dtype=np.float64)
    if values.ndim == 2:   # already one row per sample: it must be one-hot (the gradient is p − Y)
        check_one_hot(values, name, column, where)
        return np.ascontiguousarray(values)
    whole = np.isfinite(values) & (values == np.round(values)) & (values >= 0)
    if not whole.all():
        row = int(np.argmin(whole))
        raise GdcError(f"the class label {values[row]!r} in row {row + 1} of {column!r} is not a whole "
                       "number from 0", where=where,
                       hint=f"`data {name}[K] from {column}` reads labels 0, 1, …, K−1; number the classes so")
    count = int(values.max()) + 1 if classes is None else classes
    if values.max() >= count:
        row = int(np.argmax(values >= count))
        raise GdcError(f"the class label {int(values[row])} in row {row + 1} of {column!r} is out of "
                       f"range: the model has {count} classes, 0 to {count - 1}", where=where)
    if count < 2:
        raise GdcError(f"the labels in {column!r} hold only one class", where=where,
                       hint="a classifier needs at least two classes")
    out = np.zeros((len(values), count))
    out[np.arange(len(values)), values.astype(np.int64)] = 1.0
    return out


def check_one_hot(rows: np.ndarray, name: str, labels: str, where: str) -> None:
    """`data Y[K] from labels`: the derivation's gradient is (p − Y)·x, which holds where each row
    of Y is one-hot (a single 1, the rest 0); any other Y is refused, naming its first bad row."""
    ok = ((rows == 0.0) | (rows == 1.0)).all(axis=1) & (rows.sum(axis=1) == 1.0)
    if not ok.all():
        row = int(np.argmin(ok))
        raise GdcError(f"the data {name!r} is read from the class labels {labels!r}, so each row must be "
                       f"one-hot (a single 1, the rest 0); row {row + 1} is {rows[row].tolist()}",
                       where=where, hint=f"pass the labels {labels!r} (0 … K−1), or one-hot rows such as "
                                         f"np.eye(K)[labels]; for probabilities declare `data {name}[K]` without `from`")
