"""Sorted distinct values of integer arrays, by sorting.

The compilers and the buffer model ask for the distinct ids of an array tens of thousands of
times per layer. ``np.unique`` (NumPy 2.x) hashes before it sorts, which costs 5-20 times a
plain sort on the arrays they pass (tens to millions of int64 ids). These functions return
exactly what ``np.unique`` returns for 1-D arrays: the same values in the same order, and the
same first-occurrence indices and counts.
"""

from __future__ import annotations

import numpy as np


def _starts(s: np.ndarray) -> np.ndarray:
    """Where each run of equal values of the sorted ``s`` begins (a boolean mask)."""
    keep = np.empty(len(s), bool)
    if len(s):
        keep[0] = True
        np.not_equal(s[1:], s[:-1], out=keep[1:])
    return keep


def unique(x: np.ndarray, nearly_sorted: bool = False) -> np.ndarray:
    """``np.unique(x)`` for a 1-D array.

    ``nearly_sorted``: ``x`` comes in long sorted runs, where a stable sort (timsort or radix)
    is faster than the default one.
    """
    s = np.sort(np.asarray(x).reshape(-1), kind="stable" if nearly_sorted else None)
    return s[_starts(s)]


def unique_first(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_index=True)``: the distinct values and each one's first index."""
    x = np.asarray(x).reshape(-1)
    order = np.argsort(x, kind="stable")
    s = x[order]
    keep = _starts(s)
    return s[keep], order[keep]


def unique_first_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(x, return_index=True, return_counts=True)``."""
    x = np.asarray(x).reshape(-1)
    order = np.argsort(x, kind="stable")
    s = x[order]
    keep = _starts(s)
    at = np.nonzero(keep)[0]
    return s[keep], order[keep], np.diff(np.append(at, len(s)))
