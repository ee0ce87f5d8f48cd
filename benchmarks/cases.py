"""Benchmark cases: data, map size, epochs. Every library trains on the same ones."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str
    data: str
    n_rows: int
    n_columns: int
    epochs: int
    dtype: str

    @property
    def label(self):
        return f"{self.data} {self.n_rows}x{self.n_columns} {self.epochs} ep {self.dtype}"


def load(data, dtype):
    """Rows (and labels, or None) of a named data set, deterministic."""
    from sklearn.datasets import load_digits, load_iris, make_blobs
    from sklearn.preprocessing import MinMaxScaler

    y = None
    if data == "rgb":
        X = np.random.RandomState(0).uniform(size=(3000, 3))
    elif data == "iris":
        X, y = load_iris(return_X_y=True)
        X = MinMaxScaler().fit_transform(X)
    elif data == "digits":
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
    elif data == "blobs":
        X, y = make_blobs(100_000, 50, centers=20, random_state=0)
        X = MinMaxScaler().fit_transform(X)
    elif data == "mnist_sized":
        # MNIST's shape and range (70,000 x 784 in [0, 1]), made here: no download.
        rng = np.random.RandomState(0)
        centres = rng.uniform(size=(10, 784)) ** 3
        y = rng.randint(0, 10, size=70_000)
        X = np.clip(centres[y] + rng.normal(scale=0.15, size=(70_000, 784)), 0, 1)
    else:
        raise ValueError(f"unknown data set {data!r}")
    return np.ascontiguousarray(X, dtype=dtype), y


CASES = [
    Case(f"{data}-{rows}x{cols}-{dtype}", data, rows, cols, 10, dtype)
    for data, rows, cols in [
        ("rgb", 10, 10),
        ("rgb", 30, 30),
        ("iris", 10, 10),
        ("digits", 20, 20),
    ]
    for dtype in ["float64", "float32"]
] + [
    Case("blobs-20x20-float64", "blobs", 20, 20, 10, "float64"),
    Case("mnist_sized-20x20-float32", "mnist_sized", 20, 20, 1, "float32"),
]
CASES_BY_NAME = {case.name: case for case in CASES}
