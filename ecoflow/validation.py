"""Symbolic validation of a zero-free schedule (the sweep of §4.1.1's last paragraph).

The paper validates its mappings by running every combination of input size (3x3 to 224x224)
and filter size (1x1 to 15x15) and comparing the results. A functional simulation of the larger
ones takes hours, so :func:`check_symbolic` proves the same thing on symbols: the compiled
passes must multiply exactly the pairs of data elements the convolution needs (no padding zero,
none missing, none twice), accumulate each into the output it belongs to, send every output to
the global buffer (once per reduction stage), and build into programs the hardware accepts
(multicast IDs, scratchpads, psum registers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import AbstractDataflow, build_program
from ecoflow.dataflows.common import DirectConv
from ecoflow.workloads.layer import Problem


@dataclass(frozen=True)
class Check:
    """Outcome of one symbolic check.

    Attributes:
        ok: every property holds.
        products: products scheduled.
        expected: useful products of the problem.
        problem: what failed (empty when ``ok``).
    """

    ok: bool
    products: int
    expected: int
    problem: str = ""


def expected_triples(d: DirectConv) -> np.ndarray:
    """(n, 3) every (input element, filter element, output element) of two data operands."""
    zero_hw, zero_rs = d.zero_hw(), d.zero_rs()
    y, x, r, s = np.meshgrid(np.arange(d.P), np.arange(d.Q), np.arange(d.Rw), np.arange(d.Sw),
                             indexing="ij", sparse=True)  # fmt: skip
    h, w = y * d.sh + r, x * d.sw + s
    keep = ~zero_hw[h, w] & ~zero_rs[r, s]
    y, x, r, s = (np.broadcast_to(a, keep.shape)[keep] for a in (y, x, r, s))
    h, w = y * d.sh + r, x * d.sw + s
    out = []
    for i in range(d.batch):
        for k in range(d.K):
            for c in range(d.Cg):
                out.append(np.stack([d.ifmap_id(i, k, c, h, w), d.filter_id(k, c, r, s),
                                     d.out_id(i, k, y, x)], axis=1))  # fmt: skip
    return np.concatenate(out) if out else np.zeros((0, 3), np.int64)


def check_symbolic(problem: Problem, dataflow: AbstractDataflow, hw: HardwareConfig) -> Check:
    """Compile every pass of ``problem`` and check its products and sends symbolically."""
    d = DirectConv.of(problem)
    expected = expected_triples(d)
    specs = dataflow.pass_specs(problem, hw)
    got = []
    sent = []
    for spec in specs:
        build_program(spec, hw, d.name)
        up = spec.send_up_ops or [np.full(len(o), spec.send_up[p]) for p, o in
                                  enumerate(spec.ops)]  # fmt: skip
        for o, u in zip(spec.ops, up, strict=True):
            got.append(np.stack([o.ifmap[o.mac], o.filter[o.mac], o.out[o.mac]], axis=1))
            sent.append(o.out[o.send & ~np.asarray(u, bool)])
    got = np.concatenate(got) if got else np.zeros((0, 3), np.int64)
    n, m = len(got), len(expected)

    def fail(reason: str) -> Check:
        return Check(False, n, m, reason)

    if len(np.unique(got[:, :2], axis=0)) != n:
        return fail("a product is scheduled twice")
    key = lambda a: a[:, 0] * (d.filter_shape[0] * np.prod(d.filter_shape[1:]) + 1) + a[:, 1]  # noqa: E731
    exp_sorted = expected[np.argsort(key(expected), kind="stable")]
    got_sorted = got[np.argsort(key(got), kind="stable")]
    if n != m or not np.array_equal(got_sorted[:, :2], exp_sorted[:, :2]):
        return fail(f"{n} products scheduled, {m} needed (a zero multiplied or one missing)")
    if not np.array_equal(got_sorted[:, 2], exp_sorted[:, 2]):
        return fail("a product accumulates into the wrong output")
    sent = np.concatenate(sent) if sent else np.zeros(0, np.int64)
    counts = np.bincount(sent, minlength=int(np.prod(d.out_shape)))
    needed = np.zeros(len(counts), bool)
    needed[np.unique(expected[:, 2])] = True
    if np.any((counts == 0) & needed):
        return fail("an output is never sent to the global buffer")
    if np.any((counts > 0) & ~needed):
        return fail("an output without products is sent")
    return Check(True, n, m)
