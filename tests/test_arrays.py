"""The sort-based distinct values return exactly what ``np.unique`` returns."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ecoflow import arrays
from ecoflow.arrays import unique, unique_first, unique_first_counts, unique_rows

ints = hnp.arrays(
    st.sampled_from([np.int32, np.int64]),
    st.integers(0, 300),
    elements=st.integers(-(2**31), 2**31 - 1) | st.integers(-3, 3),
)
# values in a range not much wider than the array: counted in a table, not sorted
narrow = st.integers(-(2**31) + 5000, 2**31 - 5000).flatmap(
    lambda lo: hnp.arrays(
        st.sampled_from([np.int32, np.int64]),
        st.integers(0, 2000),
        elements=st.integers(lo - 1500, lo + 1500),
    )
)


@given(ints | narrow)
def test_unique_matches_numpy(x: np.ndarray) -> None:
    want = np.unique(x)
    for got in (unique(x), unique(x, nearly_sorted=True)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


# non-negative values below a known bound, the bound up to far wider than the array
bounded = st.integers(1, 40_000).flatmap(
    lambda bound: st.tuples(
        hnp.arrays(
            st.sampled_from([np.int32, np.int64]),
            st.integers(0, 2000),
            elements=st.integers(0, bound - 1),
        ),
        st.just(bound),
    )
)


@given(bounded)
def test_unique_below_a_bound_matches_numpy(case: tuple[np.ndarray, int]) -> None:
    x, bound = case
    want = np.unique(x)
    got = unique(x, bound=bound)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@given(ints | narrow)
def test_first_index_and_counts_match_numpy(x: np.ndarray) -> None:
    values, first = unique_first(x)
    want_v, want_i, want_c = np.unique(x, return_index=True, return_counts=True)
    np.testing.assert_array_equal(values, want_v)
    np.testing.assert_array_equal(first, want_i)
    values, first, counts = unique_first_counts(x)
    np.testing.assert_array_equal(values, want_v)
    np.testing.assert_array_equal(first, want_i)
    np.testing.assert_array_equal(counts, want_c)
    assert values.dtype == want_v.dtype


def test_a_narrow_range_is_counted_and_a_wide_one_sorted() -> None:
    x = np.array([7, 5, 7, 6] * 100, np.int64)
    assert arrays._dense(x) is not None
    assert arrays._dense(x * 10**6) is None
    values, first, counts = unique_first_counts(x)
    np.testing.assert_array_equal(values, [5, 6, 7])
    np.testing.assert_array_equal(first, [1, 3, 0])
    np.testing.assert_array_equal(counts, [100, 100, 200])


def test_flattens_like_numpy() -> None:
    x = np.array([[3, 1], [1, 2]])
    np.testing.assert_array_equal(unique(x), [1, 2, 3])
    np.testing.assert_array_equal(unique(x[:, ::-1]), np.unique(x[:, ::-1]))


@given(
    hnp.arrays(
        st.sampled_from([np.uint64, np.int64]),
        st.tuples(st.integers(0, 200), st.integers(1, 4)),
        elements=st.integers(0, 3) | st.integers(0, 2**62),
    )
)
def test_unique_rows_match_numpy(a: np.ndarray) -> None:
    rows, inverse = unique_rows(a)
    want_rows, want_inverse = np.unique(a, axis=0, return_inverse=True)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(inverse, want_inverse.reshape(-1))
