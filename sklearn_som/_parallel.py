"""Row chunks processed in parallel threads, with BLAS kept to one thread.

On a few cores, OpenBLAS's own threads help one large product but then
spin-wait, slowing every small operation that follows (measured on 2 cores:
a 20x20 batch fit on digits ran 1.8x faster with BLAS on one thread). So the
package limits BLAS to one thread while it works and runs independent row
chunks on a small pool of threads instead: BLAS and the numba kernels release
the GIL, so the chunks run truly in parallel. Results come back in chunk
order, so sums over chunks do not depend on thread timing.

Small work -- one chunk whose BLAS products each have at most
``_UNTHREADED_PRODUCT`` multiply-adds, which OpenBLAS never splits over
threads -- leaves BLAS as it is: setting and restoring the limit costs
13-25 us (threadpoolctl, for numpy's and scipy's OpenBLAS and OpenMP), and a
fit on iris 10x10 took 582 against 628 us without it (medians of 3 processes
each). Larger one-chunk work keeps the limit: 200 x 64 rows on a 10x10 map
fitted in 11.7 ms without it against 1.85 ms with it, OpenBLAS waking its
threads for every small product.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

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


# OpenBLAS runs a GEMM of M*N*K multiply-adds on M*N*K / (65536 * 4) threads
# (interface/gemm.c, default GEMM_MULTITHREAD_THRESHOLD of 4): one below this.
_UNTHREADED_PRODUCT = 65536 * 4


def uses_threads(n_chunks):
    """Whether :func:`map_chunks` runs ``n_chunks`` chunks on the thread pool."""
    return n_chunks >= 2 and n_threads() >= 2


def blas_limit(n_chunks, product_size):
    """:func:`single_threaded_blas`, or nothing for one chunk of small products.

    ``product_size`` is the number of multiply-adds of the largest BLAS
    product made for one chunk.
    """
    if n_chunks <= 1 and product_size <= _UNTHREADED_PRODUCT:
        return nullcontext()
    return single_threaded_blas()


def map_chunks(function, chunks):
    """``[function(chunk) for chunk in chunks]``, in order, on the thread pool.

    At most ``2 * n_threads()`` chunks are in flight at once, so the memory
    held by results not yet consumed stays bounded. When there are no more
    chunks than threads, the calling thread takes the first itself instead of
    waiting for the pool's: 10-epoch fits of digits on 20x20 (two chunks)
    took 12.8 - 13.6 against 13.4 - 14.1 ms (float64) and 9.95 - 10.5
    against 10.4 - 11.3 ms (float32), medians of 20 fits in 6 rounds taking
    turns in one process. With more chunks the pool keeps them all, each
    thread taking the next as it finishes: the caller's share in rounds of
    two made 100,000 x 50 blobs 0% - 6% slower.
    """
    chunks = list(chunks)
    if not uses_threads(len(chunks)):
        for chunk in chunks:
            yield function(chunk)
        return
    executor = _executor()
    if len(chunks) <= n_threads():
        others = [executor.submit(function, chunk) for chunk in chunks[1:]]
        yield function(chunks[0])
        for future in others:
            yield future.result()
        return
    window = 2 * n_threads()
    for start in range(0, len(chunks), window):
        yield from executor.map(function, chunks[start : start + window])
