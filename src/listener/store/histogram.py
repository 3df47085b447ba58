"""Log-spaced buckets of seconds, for the medians and percentiles of mentions that retention pruned.

Eight buckets per doubling: bucket 0 holds [0, 1) s, bucket b ≥ 1 holds [2^((b-1)/8), 2^(b/8)) s.
A value read back from its rank lies in the bucket that holds the true one, so it is off by less
than one bucket's width: 2^(1/8) − 1 ≈ 9 % of the value (under 1 s for values under 1 s); a
percentile, interpolated between two such values, is as close. Reports call such figures approximate.
"""

from __future__ import annotations

import math

import numpy as np

PER_DOUBLING = 8
SIZE = 1 + PER_DOUBLING * 32  # up to 2^32 s, 136 years
ACCURACY = 2 ** (1 / PER_DOUBLING) - 1


def buckets(values: np.ndarray) -> np.ndarray:
    """The bucket of each value (NaN left out)."""
    values = values[~np.isnan(values)]
    out = np.zeros(values.size, dtype=int)
    positive = values >= 1
    out[positive] = 1 + np.floor(PER_DOUBLING * np.log2(values[positive])).astype(int)
    return np.minimum(out, SIZE - 1)


def bucket(value: float) -> int:
    return 0 if value < 1 else min(1 + math.floor(PER_DOUBLING * math.log2(value)), SIZE - 1)


def counts(values: np.ndarray) -> np.ndarray:
    """A histogram of SIZE counts."""
    return np.bincount(buckets(values), minlength=SIZE)


def percentile(histogram: np.ndarray, q: float) -> float | None:
    """The q-th percentile: as percentile_cont, linear between the values at ranks k and k + 1 around
    (n - 1)·q, each placed inside its bucket by its position there (geometrically: the buckets are
    log-spaced), so each, and so the result, is within a bucket's width of the exact one."""
    n = int(histogram.sum())
    if not n:
        return None
    rank = (n - 1) * q
    k = math.floor(rank)
    cumulative = np.cumsum(histogram)
    low, high = _at(histogram, cumulative, k), _at(histogram, cumulative, min(k + 1, n - 1))
    return round(low + (high - low) * (rank - k), 3)


def _at(histogram: np.ndarray, cumulative: np.ndarray, rank: int) -> float:
    """The value of the given rank (from 0)."""
    b = int(np.searchsorted(cumulative, rank, side="right"))
    fraction = (rank - (cumulative[b] - histogram[b]) + 0.5) / histogram[b]
    if b == 0:
        return float(fraction)
    return float(2 ** ((b - 1 + fraction) / PER_DOUBLING))
