"""The mission's use cases: Pipeline, GridSearchCV, features for a classifier."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_som import SelfOrganizingMap
from sklearn_som.metrics import (
    combined_scorer,
    quantization_error,
    quantization_error_scorer,
    topographic_error_scorer,
)


@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_grid_search_over_learning_rate_and_sigma_changes_the_score(algorithm):
    X, _ = load_iris(return_X_y=True)
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("som", SelfOrganizingMap(6, 6, algorithm=algorithm, random_state=0)),
        ]
    )
    grid = {"som__learning_rate": [0.1, 0.5, 1.0], "som__sigma": [1.0, 2.0, 3.0]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X)
    scores = search.cv_results_["mean_test_score"].reshape(3, 3)  # rate x sigma
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    # Each parameter changes the score with the other held fixed.
    for k in range(3):
        assert np.ptp(scores[k, :]) > 1e-3, "sigma made no difference"
        assert np.ptp(scores[:, k]) > 1e-3, "learning_rate made no difference"
    assert search.best_estimator_.named_steps["som"].n_features_in_ == 4


def test_grid_search_with_the_metrics_scorers():
    X, _ = load_iris(return_X_y=True)
    pipe = make_pipeline(MinMaxScaler(), SelfOrganizingMap(6, 6, random_state=0))
    scoring = {
        "qe": quantization_error_scorer,
        "te": topographic_error_scorer,
        "combined": combined_scorer,
    }
    search = GridSearchCV(
        pipe, {"selforganizingmap__sigma": [0.5, 3.0]}, scoring=scoring, refit="combined", cv=3
    ).fit(X)
    qe = search.cv_results_["mean_test_qe"]
    te = search.cv_results_["mean_test_te"]
    # A tiny radius fits the data more closely but orders the map worse.
    assert qe[0] > qe[1] and te[0] < te[1]
    # The scorer reaches the map through the pipeline's scaler.
    best = search.best_estimator_
    assert quantization_error_scorer(best, X) == pytest.approx(
        -quantization_error(best[-1], best[0].transform(X))
    )


def test_som_features_before_logistic_regression_on_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("som", SelfOrganizingMap(10, 10, random_state=0)),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )
    search = GridSearchCV(pipe, {"som__sigma": [2.0, 5.0], "clf__C": [1.0, 10.0]}, cv=3)
    search.fit(X_train, y_train)
    assert search.score(X_test, y_test) > 0.9
    assert search.best_estimator_["som"].transform(X_test[:2]).shape == (2, 100)


def test_new_rows_map_to_cells_through_a_pipeline():
    X, _ = load_iris(return_X_y=True)
    pipe = make_pipeline(MinMaxScaler(), SelfOrganizingMap(5, 4, random_state=0)).fit(X[:100])
    cells = pipe.predict(X[100:])
    assert cells.shape == (50,) and cells.min() >= 0 and cells.max() < 20
