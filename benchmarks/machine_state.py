"""How many cores the machine delivers right now, and what a thread hand-off costs.

A shared VM can list two cores and run two threads at the speed of one: on
the 2-core benchmark VM, two 24 ms compiled loops in two threads took 25.8 ms
in one minute and 48 ms in another. Threaded libraries (ours, fastersom,
somoclu) then lose against single-threaded ones, so each run records this
probe at its start and its end, beside the results.

- ``two_thread_speedup``: the work of two threads over their wall time, in
  units of one thread's (2.0 when both cores are there, 1.0 when they share
  one); the work is SHA-256 over 16 MiB, which releases the GIL.
- ``pool_round_trip_us``: median wall time to hand two empty tasks to a pool
  of two threads and get both back.
"""

import hashlib
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

_DATA = bytes(16 * 2**20)


def _hash():
    hashlib.sha256(_DATA).digest()


def _wall(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _two_threads():
    threads = [threading.Thread(target=_hash) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def probe(repeats=5, round_trips=200):
    """Two-thread speedup and pool round trip, as a dict (see the module docstring)."""
    _hash()  # warm-up
    one = _wall(_hash, repeats)
    two = _wall(_two_threads, repeats)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(int, [1, 2]))  # starts the threads
        trip = _wall(lambda: list(pool.map(int, [1, 2])), round_trips)
    return {
        "two_thread_speedup": round(2 * one / two, 2),
        "pool_round_trip_us": round(trip * 1e6, 1),
    }


def describe(state):
    """One line of ``probe()`` results taken at the start and end of a run."""
    parts = [
        f"at the {when}: two threads {s['two_thread_speedup']}x one thread's work, "
        f"pool round trip {s['pool_round_trip_us']:g} us"
        for when, s in state.items()
    ]
    return "; ".join(parts)


if __name__ == "__main__":
    print(describe({"moment of this probe": probe()}))
