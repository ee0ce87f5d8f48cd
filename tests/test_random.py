"""The fit's random generator: ``random_state_from`` is ``check_random_state``."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from sklearn_som import SelfOrganizingMap, _random
from sklearn_som._random import random_state_from


def _states_equal(a, b):
    a, b = a.get_state(), b.get_state()
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31, 2**32 - 1, np.int64(7), np.uint32(9), True])
def test_integer_seed_gives_randomstate_of_that_seed(seed):
    made, reference = random_state_from(seed), np.random.RandomState(seed)
    assert _states_equal(made, reference)
    # The same draws, including the normal generator's cached second value.
    assert np.array_equal(made.permutation(150), reference.permutation(150))
    assert np.array_equal(made.standard_normal(3), reference.standard_normal(3))
    assert np.array_equal(made.uniform(size=5), reference.uniform(size=5))


def test_each_call_makes_a_new_generator():
    first, second = random_state_from(3), random_state_from(3)
    assert first is not second
    first.uniform(size=10)
    assert not _states_equal(first, second)


def test_other_seeds_go_to_check_random_state():
    rng = np.random.RandomState(5)
    assert random_state_from(rng) is rng
    assert random_state_from(None) is np.random.mtrand._rand
    with pytest.raises(ValueError, match="cannot be used to seed"):
        random_state_from("seed")


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_seed_out_of_range_raises_as_randomstate_does(seed):
    with pytest.raises(ValueError, match="2\\*\\*32 - 1"):
        np.random.RandomState(seed)
    with pytest.raises(ValueError, match="2\\*\\*32 - 1"):
        random_state_from(seed)


def test_falls_back_where_the_legacy_seeding_is_missing(monkeypatch):
    # A numpy whose MT19937 had no ``_legacy_seeding``: the check made once
    # per process fails, and every call makes ``RandomState(seed)`` itself.
    class MT19937WithoutLegacySeeding:
        def __init__(self, seed=None):
            pass

    monkeypatch.setattr(_random.np.random, "MT19937", MT19937WithoutLegacySeeding)
    _random._legacy_seeding_matches.cache_clear()
    try:
        assert not _random._legacy_seeding_matches()
        made = random_state_from(11)
        assert _states_equal(made, np.random.RandomState(11))
    finally:
        monkeypatch.undo()
        _random._legacy_seeding_matches.cache_clear()
    assert _random._legacy_seeding_matches()


@pytest.mark.parametrize(
    "params", [{"algorithm": "online"}, {"init": "random"}, {"init": "sample"}]
)
def test_fit_with_seed_equals_fit_with_randomstate_of_seed(params):
    X = load_iris().data
    seeded = SelfOrganizingMap(5, 5, max_iter=3, random_state=17, **params).fit(X)
    given = SelfOrganizingMap(
        5, 5, max_iter=3, random_state=np.random.RandomState(17), **params
    ).fit(X)
    assert np.array_equal(seeded.cluster_centers_, given.cluster_centers_)
    assert np.array_equal(seeded.quantization_errors_, given.quantization_errors_)
