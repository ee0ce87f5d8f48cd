"""Row chunks processed in parallel threads, with BLAS kept to one thread.

On a few cores, OpenBLAS's own threads help one large product but then
spin-wait, slowing every small operation that follows (measured on 2 cores:
a 20x20 batch fit on digits ran 1.8x faster with BLAS on one thread). So the
package limits BLAS to one thread while it works and runs independent row
chunks on a small pool of threads instead: BLAS and the numba kernels release
the GIL, so the chunks run truly in parallel. Results come back in chunk
order, so sums over chunks do not depend on thread timing.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

_state = {"controller": None, "executor": None}
_blas_lock = threading.Lock()
_blas_state = {"depth": 0, "limiter": None}


def n_threads():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _executor():
    if _state["executor"] is None:
        _state["executor"] = ThreadPoolExecutor(max_workers=n_threads())
    return _state["executor"]


def _forget_executor():
    # A forked child inherits the pool object but not its threads.
    _state["executor"] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread for the duration of the block.

    The limit is process-wide, so it is counted process-wide: the first block
    to enter sets it and the last to leave restores the original, however
    blocks nest or overlap across threads (several threads predicting at once
    leave BLAS as they found it).
    """
    with _blas_lock:
        if _blas_state["depth"] == 0:
            if _state["controller"] is None:
                from threadpoolctl import ThreadpoolController

                _state["controller"] = ThreadpoolController()
            _blas_state["limiter"] = _state["controller"].limit(limits=1, user_api="blas")
        _blas_state["depth"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_state["depth"] -= 1
            if _blas_state["depth"] == 0:
                _blas_state["limiter"].restore_original_limits()
                _blas_state["limiter"] = None


def map_chunks(function, chunks):
    """``[function(chunk) for chunk in chunks]``, in order, on the thread pool.

    At most ``2 * n_threads()`` chunks are in flight at once, so the memory
    held by results not yet consumed stays bounded.
    """
    chunks = list(chunks)
    if len(chunks) < 2 or n_threads() < 2:
        for chunk in chunks:
            yield function(chunk)
        return
    window = 2 * n_threads()
    executor = _executor()
    for start in range(0, len(chunks), window):
        yield from executor.map(function, chunks[start : start + window])
