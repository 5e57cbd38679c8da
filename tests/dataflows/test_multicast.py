"""Tagged multicast (``zerofree.multicast``): every word reaches exactly the PEs that use it."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ecoflow.dataflows.zerofree import Multicast, multicast


def receivers(mc: Multicast, rows: int, cols: int) -> list[frozenset[int]]:
    """Per word, the PEs whose X-bus holds its row tag and which hold its column tag."""
    out = []
    for rt, ct in zip(mc.stream.row.tolist(), mc.stream.col.tolist(), strict=True):
        out.append(frozenset(
            r * cols + c for r in range(rows) for c in range(cols)
            if rt in mc.ids.bus[r] and ct in mc.ids.pe[r][c]
        ))  # fmt: skip
    return out


@st.composite
def uses(draw: st.DrawFn) -> tuple[int, int, dict[int, frozenset[int]]]:
    rows, cols = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    n_elem = draw(st.integers(1, 12))
    groups = {
        e: frozenset(draw(st.sets(st.integers(0, rows * cols - 1), min_size=1, max_size=8)))
        for e in range(n_elem)
    }
    return rows, cols, groups


def run(rows: int, cols: int, groups: dict[int, frozenset[int]], limits: tuple[int, int]):
    pe = np.array([p for e in sorted(groups) for p in sorted(groups[e])], np.int64)
    elem = np.array([e for e in sorted(groups) for _ in groups[e]], np.int64)
    zeros = np.zeros(len(pe), np.int64)
    return multicast(rows, cols, pe, elem, zeros, elem.copy(), limits=limits)


@given(uses(), st.sampled_from([(1, 1), (2, 2), (5, 5), (64, 64)]))
def test_words_reach_exactly_their_users(case, limits) -> None:
    rows, cols, groups = case
    mc = run(rows, cols, groups, limits)
    got: dict[int, set[int]] = {}
    for e, to in zip(mc.stream.elem.tolist(), receivers(mc, rows, cols), strict=True):
        assert to and to <= groups[e]  # no PE outside the group takes the word
        assert not (got.setdefault(e, set()) & to)  # no PE takes it twice
        got[e] |= to
    assert got == {e: set(g) for e, g in groups.items()}
    # the controllers hold no more IDs than the limits or what rectangles need
    rect = run(rows, cols, groups, (1, 1))
    for m in (mc, rect):
        assert len(m.stream.elem) >= len(groups)
    assert len(mc.stream.elem) <= len(rect.stream.elem)


def test_a_group_that_is_no_rectangle_takes_one_word_where_the_ids_fit() -> None:
    # 2x4 array: PE (0,0) and PE (1,i) use element i (i = 1, 2, 3): no group is a rectangle
    groups = {i: frozenset({0, 4 + i}) for i in (1, 2, 3)}
    # one word per group puts 3 column IDs on PE (0,0); with 1 allowed, two rectangles each
    rect = run(2, 4, groups, (1, 1))
    assert len(rect.stream.elem) == 6
    one = run(2, 4, groups, (5, 5))
    assert sorted(one.stream.elem.tolist()) == [1, 2, 3]
    assert len(one.ids.pe[0][0]) == 3


def test_row_tags_fall_back_to_every_x_bus() -> None:
    # six groups over 2 of 4 rows each (all different row pairs), none a rectangle: exact row
    # tags would put 3 row IDs on every X-bus; with 1 allowed, one tag on every X-bus carries
    # them, and column tags keep each word to its PEs
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    groups = {i: frozenset({a * 6 + i, b * 6 + (i + 1) % 6}) for i, (a, b) in enumerate(pairs)}
    mc = run(4, 6, groups, (1, 6))
    assert len(mc.stream.elem) == len(groups)
    assert mc.row_tags == 1
    assert all(len(b) == 1 for b in mc.ids.bus)
