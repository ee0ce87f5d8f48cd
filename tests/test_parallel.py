"""The thread pool of row chunks: results in chunk order, whoever runs them."""

import threading

import pytest

from sklearn_som import _parallel


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.setattr(_parallel, "n_threads", lambda: 2)


@pytest.mark.parametrize("n_chunks", [1, 2, 3, 4, 9])
def test_results_come_in_chunk_order(two_threads, n_chunks):
    chunks = [slice(10 * k, 10 * k + 10) for k in range(n_chunks)]
    assert list(_parallel.map_chunks(lambda chunk: chunk.start, chunks)) == [
        10 * k for k in range(n_chunks)
    ]


def test_as_many_chunks_as_threads_run_one_on_the_caller_and_the_rest_on_the_pool(
    two_threads,
):
    caller = threading.get_ident()
    ran_on = list(_parallel.map_chunks(lambda _: threading.get_ident(), [0, 1]))
    assert ran_on[0] == caller
    assert ran_on[1] != caller


def test_more_chunks_than_threads_all_run_on_the_pool(two_threads):
    caller = threading.get_ident()
    ran_on = list(_parallel.map_chunks(lambda _: threading.get_ident(), range(5)))
    assert caller not in ran_on


@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_in_any_chunk_reaches_the_caller(two_threads, failing):
    def work(chunk):
        if chunk == failing:
            raise ValueError(f"chunk {chunk}")
        return chunk

    with pytest.raises(ValueError, match=f"chunk {failing}"):
        list(_parallel.map_chunks(work, [0, 1]))
