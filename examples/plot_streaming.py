"""
Training on a stream with partial_fit
=====================================

A data set too large to load at once, here a memory-mapped file on disk, is
read in chunks; each chunk trains the map with ``partial_fit``, whose
schedule continues across calls. Progress is printed after each pass over
the data.
"""

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
from _paths import output_path
from sklearn.datasets import make_blobs

from sklearn_som import SelfOrganizingMap
from sklearn_som.metrics import quantization_error, topographic_error
from sklearn_som.plotting import HitMapDisplay

n_samples, n_features, chunk_size, n_epochs = 200_000, 20, 20_000, 3
n_chunks = n_samples // chunk_size

with tempfile.TemporaryDirectory() as folder:
    # Write the data set to disk chunk by chunk; it is never in memory whole.
    path = Path(folder) / "stream.dat"
    data = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_samples, n_features))
    centers = np.random.RandomState(0).uniform(-10, 10, size=(8, n_features))
    for k in range(n_chunks):
        chunk, _ = make_blobs(chunk_size, n_features, centers=centers, random_state=k)
        data[k * chunk_size : (k + 1) * chunk_size] = chunk
    data.flush()
    del data

    stream = np.memmap(path, dtype=np.float32, mode="r", shape=(n_samples, n_features))
    # One schedule step per partial_fit call: max_iter counts the calls.
    som = SelfOrganizingMap(12, 12, max_iter=n_chunks * n_epochs, random_state=0)
    probe = np.asarray(stream[:5000])
    for epoch in range(n_epochs):
        for k in range(n_chunks):
            som.partial_fit(stream[k * chunk_size : (k + 1) * chunk_size])
        print(
            f"pass {epoch + 1}/{n_epochs}: {som.n_iter_} chunks, "
            f"quantization error {quantization_error(som, probe):.4f}, "
            f"topographic error {topographic_error(som, probe):.4f}"
        )
    display = HitMapDisplay.from_estimator(som, probe)
    display.figure_.savefig(output_path("streaming_hit_map.png"), dpi=90)
    del stream
print(f"prototypes kept in {som.cluster_centers_.dtype}; pictures in {output_path('').resolve()}")
