"""Property-based tests: random shapes, dtypes, parameters and data."""

import pickle

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_som import SelfOrganizingMap

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run and in CI
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def problems(draw):
    n_samples = draw(st.integers(1, 40))
    n_features = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    exponent = draw(st.integers(-30, 30))
    elements = st.floats(-1.0, 1.0, allow_nan=False, width=32)
    X = draw(arrays(np.float64, (n_samples, n_features), elements=elements))
    X = (X * 10.0**exponent).astype(dtype)
    params = dict(
        n_rows=draw(st.integers(1, 5)),
        n_columns=draw(st.integers(1, 5)),
        topology=draw(st.sampled_from(["rectangular", "hexagonal"])),
        periodic=draw(st.booleans()),
        neighborhood=draw(st.sampled_from(["gaussian", "bubble", "triangle", "mexican_hat"])),
        decay=draw(st.sampled_from(["exponential", "linear", "inverse"])),
        algorithm=draw(st.sampled_from(["batch", "online"])),
        init=draw(st.sampled_from(["pca", "random", "sample"])),
        max_iter=draw(st.integers(1, 4)),
        random_state=draw(st.integers(0, 2**16)),
    )
    if params["algorithm"] == "online" and params["neighborhood"] == "mexican_hat":
        # The classic online rule with a Mexican hat pushes far units away
        # geometrically; a small learning rate keeps it bounded (see the docs).
        params["learning_rate"] = 0.05
    weights = draw(
        st.none() | arrays(np.float64, n_samples, elements=st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    )
    if weights is not None and not np.any(weights > 0):
        weights[0] = 1.0
    return X, weights, params


@SETTINGS
@given(problems())
def test_any_fit_gives_a_usable_map(problem):
    X, weights, params = problem
    som = SelfOrganizingMap(**params).fit(X, sample_weight=weights)
    n_units = params["n_rows"] * params["n_columns"]
    assert som.cluster_centers_.shape == (n_units, X.shape[1])
    assert som.cluster_centers_.dtype == X.dtype
    assert np.all(np.isfinite(som.cluster_centers_))
    labels = som.predict(X)
    assert labels.min() >= 0 and labels.max() < n_units
    distances = som.transform(X)
    assert distances.dtype == X.dtype and np.all(np.isfinite(distances))
    assert_array_equal(labels, distances.argmin(axis=1))
    assert np.isfinite(som.score(X))
    assert 0 <= som.topographic_error_ <= 1
    restored = pickle.loads(pickle.dumps(som))
    assert_array_equal(restored.predict(X), labels)
    assert_array_equal(restored.transform(X), distances)


@SETTINGS
@given(problems(), st.integers(1, 17))
def test_batch_map_does_not_depend_on_batch_size(problem, batch_size):
    X, weights, params = problem
    params = dict(params, algorithm="batch")
    reference = SelfOrganizingMap(**params).fit(X, sample_weight=weights)
    chunked = SelfOrganizingMap(**params, batch_size=batch_size).fit(X, sample_weight=weights)
    scale = max(float(np.abs(X).max()), np.finfo(X.dtype).tiny)
    tolerance = 1e-4 if X.dtype == np.float32 else 1e-9
    assert_allclose(
        chunked.cluster_centers_ / scale, reference.cluster_centers_ / scale, atol=tolerance
    )
