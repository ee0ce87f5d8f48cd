"""Decay schedules for the neighbourhood radius and the learning rate.

A schedule maps training progress ``p`` in ``[0, 1]`` to a value that starts
at ``start`` (``p = 0``) and ends at ``final`` (``p = 1``):

===============  ==========================================================
``exponential``  ``start * (final / start) ** p``
``linear``       ``start + (final - start) * p``
``inverse``      ``start / (1 + (start / final - 1) * p)``
===============  ==========================================================

``inverse`` falls fastest at first and slowest at the end, as in MiniSom's
asymptotic decay and Kohonen's ``a / (b + t)``.
"""

import numpy as np


def exponential(start, final, progress):
    return start * (final / start) ** progress


def linear(start, final, progress):
    return start + (final - start) * progress


def inverse(start, final, progress):
    return start / (1.0 + (start / final - 1.0) * progress)


SCHEDULES = {"exponential": exponential, "linear": linear, "inverse": inverse}


def epoch_progress(epoch, max_iter):
    """Progress of the batch rule at ``epoch`` (0-based) of ``max_iter``.

    The first epoch uses the start values and the last the final ones; a
    single epoch uses the start values. Past ``max_iter`` (``partial_fit``
    after the schedule ended) progress stays at 1.
    """
    if max_iter == 1:
        return 0.0 if epoch == 0 else 1.0
    return min(epoch / (max_iter - 1), 1.0)


def sample_progress(epochs, n_samples, max_iter):
    """Progress of the online rule at each step of ``epochs`` (a sequence of epoch numbers).

    Step ``k`` of epoch ``e`` is step ``e * n + k`` of ``max_iter * n``; the
    first step uses the start values and the last step of the last epoch the
    final ones. Returns an array of shape ``(len(epochs) * n_samples,)``,
    the epochs' steps one after the other.
    """
    epochs = np.asarray(epochs, dtype=np.float64)
    total = max_iter * n_samples - 1
    if total <= 0:
        return np.zeros(epochs.size * n_samples)
    steps = epochs[:, None] * n_samples + np.arange(n_samples, dtype=np.float64)
    return np.minimum(steps.ravel() / total, 1.0)
