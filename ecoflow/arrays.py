"""Sorted distinct values of integer arrays, by counting or by sorting.

The compilers and the buffer model ask for the distinct ids of an array tens of thousands of
times per layer. ``np.unique`` (NumPy 2.x) hashes before it sorts, which costs 5-20 times a
plain sort on the arrays they pass (tens to millions of int64 ids). These functions return
exactly what ``np.unique`` returns for 1-D arrays: the same values in the same order, and the
same first-occurrence indices and counts.

Where the values span a range not much wider than the array (a PE's labels, a pass's element
ids), a table over the range replaces the sort: linear time, several times faster than the
sort on arrays of ten thousand ids. Elsewhere the first index of each value is the least
position in its run of the (unstable, vectorised) sort, which is faster than a stable sort.
"""

from __future__ import annotations

import numpy as np

# a table over the value range is used where the range is at most this many times the length
# (plus DENSE_SLACK): the table then costs no more than a few passes over the array
DENSE_FACTOR = 4
DENSE_SLACK = 1024
DENSE_MIN = 64  # shorter arrays are sorted (the table's set-up costs more)
# with the values known to lie in [0, bound), a table is used where the bound is at most
# BOUNDED_FACTOR times the length and BOUNDED_MAX entries (a boolean each): sorting millions of
# keys costs more than sweeping a table of tens of millions
BOUNDED_FACTOR = 32
BOUNDED_MAX = 1 << 26


def _starts(s: np.ndarray) -> np.ndarray:
    """Where each run of equal values of the sorted ``s`` begins (a boolean mask)."""
    keep = np.empty(len(s), bool)
    if len(s):
        keep[0] = True
        np.not_equal(s[1:], s[:-1], out=keep[1:])
    return keep


def _dense(x: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """``(x - min, min, range)`` when a table over the range is cheaper than a sort, else None."""
    if len(x) < DENSE_MIN or x.dtype.kind not in "iu":
        return None
    lo, hi = int(x.min()), int(x.max())
    span = hi - lo + 1
    if span > DENSE_FACTOR * len(x) + DENSE_SLACK:
        return None
    return (x - x.dtype.type(lo)).astype(np.intp), lo, span


def _values(mask: np.ndarray, lo: int, dtype: np.dtype) -> np.ndarray:
    return (np.flatnonzero(mask) + lo).astype(dtype)


def unique(x: np.ndarray, nearly_sorted: bool = False, bound: int | None = None) -> np.ndarray:
    """``np.unique(x)`` for a 1-D array.

    ``nearly_sorted``: ``x`` comes in long sorted runs, where a stable sort (timsort or radix)
    is faster than the default one. ``bound``: every value lies in ``[0, bound)`` (integers),
    so that a table over that range may replace the sort even where it is far wider than the
    array (``BOUNDED_FACTOR`` times, at most ``BOUNDED_MAX`` entries).
    """
    x = np.asarray(x).reshape(-1)
    if (bound is not None and len(x) >= DENSE_MIN and x.dtype.kind in "iu"
            and bound <= min(BOUNDED_MAX, BOUNDED_FACTOR * len(x))):  # fmt: skip
        seen = np.zeros(bound, bool)
        seen[x] = True
        return _values(seen, 0, x.dtype)
    dense = _dense(x)
    if dense is not None:
        off, lo, span = dense
        seen = np.zeros(span, bool)
        seen[off] = True
        return _values(seen, lo, x.dtype)
    s = np.sort(x, kind="stable" if nearly_sorted else None)
    return s[_starts(s)]


def _first(x: np.ndarray, counted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Distinct values, each one's first index and (``counted``) each one's count."""
    dense = _dense(x)
    if dense is not None:
        off, lo, span = dense
        first = np.full(span, len(x), np.intp)
        np.minimum.at(first, off, np.arange(len(x), dtype=np.intp))
        present = first < len(x)
        counts = np.bincount(off, minlength=span)[present] if counted else None
        return _values(present, lo, x.dtype), first[present], counts
    order = np.argsort(x)
    s = x[order]
    at = np.flatnonzero(_starts(s))
    if len(at) == 0:
        return s, order, np.zeros(0, np.intp)
    counts = np.diff(np.append(at, len(s))) if counted else None
    return s[at], np.minimum.reduceat(order, at), counts


def unique_first(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_index=True)``: the distinct values and each one's first index."""
    values, first, _ = _first(np.asarray(x).reshape(-1), counted=False)
    return values, first


def unique_first_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(x, return_index=True, return_counts=True)``."""
    values, first, counts = _first(np.asarray(x).reshape(-1), counted=True)
    return values, first, counts


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_inverse=True)`` for a 2-D integer array.

    NumPy sorts the rows as structured records (a generic comparison per pair); this ranks
    them one column at a time instead (rows in the same lexicographic order), which is far
    faster on tens of thousands of rows.
    """
    a = np.asarray(a)
    if a.ndim != 2 or len(a) == 0 or a.shape[1] == 0:
        return np.unique(a, axis=0, return_inverse=True)
    rank = np.zeros(len(a), np.int64)  # rank of each row's prefix among the distinct prefixes
    for j in range(a.shape[1]):
        values, col = np.unique(a[:, j], return_inverse=True)
        _, rank = np.unique(rank * len(values) + col.reshape(-1), return_inverse=True)
        rank = rank.reshape(-1)
    _, first = unique_first(rank)
    return a[first], rank
