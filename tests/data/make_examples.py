"""Write examples/diabetes.csv and examples/breast_cancer.csv from scikit-learn's bundled data.

Run from anywhere: `python tests/data/make_examples.py`. The files are committed; this script
says exactly how they were made, so they can be made again.

- diabetes.csv: 442 rows; x1..x10 are scikit-learn's ten features as `load_diabetes()` gives
  them (age, sex, bmi, bp, s1..s6, each centred and scaled to unit Euclidean norm), Y the
  disease progression one year later.
- breast_cancer.csv: 569 rows; x1..x30 are the thirty features of `load_breast_cancer()`
  standardized to z-scores (mean 0, standard deviation 1 over the rows, so that gradient
  methods converge without a tiny step), Y = 1 for a benign tumour, 0 for a malignant one
  (scikit-learn's target).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    header = ",".join([f"x{j}" for j in range(1, x.shape[1] + 1)] + ["Y"])
    rows = (",".join(repr(float(v)) for v in (*row, target)) for row, target in zip(x, y))
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def main() -> None:
    diabetes = load_diabetes()
    write(EXAMPLES / "diabetes.csv", diabetes.data, diabetes.target)
    cancer = load_breast_cancer()
    x = cancer.data
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    write(EXAMPLES / "breast_cancer.csv", z, cancer.target)


if __name__ == "__main__":
    main()
