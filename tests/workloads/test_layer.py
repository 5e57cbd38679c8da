"""Layers, the derivation of training problems, and their zeros."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ecoflow.workloads import golden
from ecoflow.workloads.layer import PHASES, ConvLayer, LayerError


@st.composite
def layers(draw, kinds=("conv", "tconv")) -> ConvLayer:
    kind = draw(st.sampled_from(kinds))
    groups = draw(st.sampled_from([1, 1, 2, 3, "depthwise"]))
    if groups == "depthwise":
        groups = C = K = draw(st.integers(2, 4))
    else:
        C = groups * draw(st.integers(1, 3))
        K = groups * draw(st.integers(1, 3))
    R, S = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    pads = tuple(tuple(draw(st.integers(0, 2)) for _ in range(2)) for _ in range(2))
    try:
        layer = ConvLayer(
            N=draw(st.integers(1, 2)), C=C, H=draw(st.integers(1, 11)), W=draw(st.integers(1, 11)),
            K=K, R=R, S=S, stride=(draw(st.integers(1, 4)), draw(st.integers(1, 4))),
            padding=pads, dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
            groups=groups, kind=kind,
        )  # fmt: skip
    except LayerError:
        assume(False)
    return layer


def _data(layer: ConvLayer, seed: int = 0):
    rng = np.random.default_rng(seed)
    make = lambda shape: jnp.asarray(rng.integers(-4, 5, shape), jnp.float32)  # noqa: E731
    return make(layer.input_shape), make(layer.weight_shape), make(layer.output_shape)


@settings(max_examples=30)  # each example compiles ~20 XLA programs (~1.4 s)
@given(layers())
def test_zero_padded_problems_equal_autodiff(layer: ConvLayer) -> None:
    """Each phase run literally as a zero-padded direct convolution equals jax.vjp, exactly."""
    x, w, dy = _data(layer)
    gold = golden.autodiff(layer, x, w, dy)
    for phase in PHASES:
        got = golden.padded_result(layer, phase, x, w, dy)
        assert got.shape == gold[phase].shape, phase
        np.testing.assert_array_equal(np.asarray(got), np.asarray(gold[phase]), err_msg=phase)


@given(layers())
def test_useful_products_are_the_same_in_every_phase(layer: ConvLayer) -> None:
    """Every product of two data operands appears once in each phase (zero-free MACs agree)."""
    useful = {p: layer.problem(p).zero_free.macs for p in PHASES}
    assert len(set(useful.values())) == 1, useful
    z = layer.problem("forward").zero_counts()
    assert z.inner_zero_macs == 0 or layer.kind == "tconv" or max(layer.dilation) > 1


def _operand_mask(size: int, dilation: int, pad: tuple[int, int]) -> np.ndarray:
    """1 where the padded operand holds data, built element by element."""
    lo, hi = pad
    extent = lo + (size - 1) * dilation + 1 + hi
    mask = np.zeros(max(extent, 0), bool)
    for i in range(size):
        j = lo + i * dilation
        if 0 <= j < extent:
            mask[j] = True
    return mask


@given(layers())
def test_zero_counts_match_a_brute_force_count(layer: ConvLayer) -> None:
    """Useful MACs counted by sliding the padded filter mask over the padded input mask."""
    for phase in PHASES:
        padded = layer.problem(phase).padded
        h, w = padded.axes
        inp = np.outer(
            _operand_mask(h.size, h.dilation, h.pad), _operand_mask(w.size, w.dilation, w.pad)
        )
        flt = np.outer(_operand_mask(h.taps, h.tap_dilation, (0, 0)),
                       _operand_mask(w.taps, w.tap_dilation, (0, 0)))  # fmt: skip
        windows = np.lib.stride_tricks.sliding_window_view(inp, flt.shape)[:: h.stride, :: w.stride]
        useful = int((windows & flt).sum())
        z = padded.zero_counts()
        assert useful * padded.channel_products == z.useful_macs, phase
        assert windows.shape[:2] == (h.out, w.out)
        assert windows[..., :, :].size * padded.channel_products == z.macs


def _tconv_problem(n: int, k: int, s: int) -> ConvLayer:
    """The conv layer whose igrad is the paper's NxN error, KxK filter, stride S example."""
    return ConvLayer(N=1, C=1, H=(n - 1) * s + k, W=(n - 1) * s + k, K=1, R=k, S=k, stride=s)


@given(st.integers(1, 12), st.integers(1, 7), st.integers(1, 4))
def test_section_3_1_1_closed_forms(n: int, k: int, s: int) -> None:
    """Inner: [S(N-1)+1]^2 - N^2; outer: 4(K-1)[S(N-1)+1] + 4(K-1)^2 (padded error elements)."""
    layer = _tconv_problem(n, k, s)
    assert layer.P == n
    data, inner, outer = layer.problem("igrad").padded.input_elements()
    assert data == n * n
    assert inner == (s * (n - 1) + 1) ** 2 - n**2
    assert outer == 4 * (k - 1) * (s * (n - 1) + 1) + 4 * (k - 1) ** 2


PRINTED = 0.01
"""The paper prints whole percentages, some truncated (40/49 = 81.6% as 81%), some rounded."""


def test_fig4_examples(paper: dict) -> None:
    ex = paper["padding_formulas"]["examples_fig4"]
    params = paper["padding_formulas"]["examples_fig4_parameters"]
    a = params["layer_A"]
    data, inner, outer = (
        _tconv_problem(a["ifmap_n"], a["filter_k"], a["stride"])
        .problem("igrad")
        .padded.input_elements()
    )
    assert outer == ex["layer_A_outer_zeros"] and inner == 0
    assert abs((inner + outer) / (data + inner + outer) - ex["layer_A_zero_fraction"]) < PRINTED
    b = params["layer_B"]
    data, inner, outer = (
        _tconv_problem(b["ifmap_n"], b["filter_k"], b["stride"])
        .problem("igrad")
        .padded.input_elements()
    )
    assert (outer, inner) == (ex["layer_B_outer_zeros"], ex["layer_B_inner_zeros"])
    assert abs((inner + outer) / (data + inner + outer) - ex["layer_B_zero_fraction"]) < PRINTED
    d = params["dilated"]
    layer = _tconv_problem(d["error_n"], 3, d["stride"])
    data, inner = layer.problem("fgrad").padded.filter_elements()
    assert abs(inner / (data + inner) - ex["dilated_stride2_zero_fraction"]) < PRINTED


def test_stride_two_backward_passes_are_mostly_zeros(paper: dict) -> None:
    """Fig. 3's claim on the stride-2 layers of Table 5: more than 70% zero multiplications."""
    for row in paper["cnn_layers_table5"]:
        if row["stride"] != 2:
            continue
        c, h, w = row["ifm"]
        layer = ConvLayer(N=4, C=c, H=h, W=w, K=c if row["filters"] == 1 else row["filters"],
                          R=row["filter"][0], S=row["filter"][1], stride=2,
                          groups=c if row["filters"] == 1 else 1)  # fmt: skip
        for phase in ("igrad", "fgrad"):
            assert layer.problem(phase).zero_counts().zero_fraction > 0.7, (row["layer"], phase)


def test_output_size_and_weights() -> None:
    layer = ConvLayer(N=4, C=3, H=224, W=224, K=64, R=11, S=11, stride=4, padding=2)
    assert (layer.P, layer.Q) == (55, 55)
    t = ConvLayer(N=1, C=256, H=56, W=56, K=128, R=3, S=3, stride=2, kind="tconv")
    assert (t.P, t.Q) == (113, 113) and t.weight_shape == (256, 128, 3, 3)
    assert layer.problem("igrad").zero_free.conv_type == "transposed"
    assert layer.problem("fgrad").zero_free.conv_type == "dilated"
    assert t.problem("forward").zero_free.conv_type == "transposed"
    assert t.problem("igrad").zero_free.conv_type == "direct"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"H": 0}, "H"),
        ({"C": -3}, "C"),
        ({"R": 9}, "R"),
        ({"groups": 2, "C": 3}, "groups"),
        ({"stride": 0}, "stride"),
        ({"padding": -1}, "padding"),
        ({"kind": "deconv"}, "kind"),
    ],
)
def test_invalid_layers_name_the_field(changes: dict, key: str) -> None:
    base = dict(N=1, C=4, H=8, W=8, K=4, R=3, S=3)
    with pytest.raises(LayerError) as err:
        ConvLayer(**{**base, **changes})
    assert err.value.key == key


@settings(max_examples=10, deadline=None)
@given(layer=layers(kinds=("tconv",)))
def test_tconv_golden_equals_conv_transpose_and_its_vjp(layer: ConvLayer) -> None:
    """A ``tconv`` layer's three phases equal ``jax.lax.conv_transpose`` and its ``jax.vjp``."""
    import jax
    from jax import lax

    assume(layer.groups == 1)
    x, w, dy = _data(layer)
    (pt, pb), (pl, pr) = layer.padding
    (dh, dw_), (r, s) = layer.dilation, (layer.R, layer.S)
    pads = [(dh * (r - 1) - pt, dh * (r - 1) - pb), (dw_ * (s - 1) - pl, dw_ * (s - 1) - pr)]

    def transpose(a, b):
        return lax.conv_transpose(
            a,
            b,
            layer.stride,
            pads,
            rhs_dilation=layer.dilation,
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            transpose_kernel=True,
            precision=lax.Precision.HIGHEST,
        )

    y, vjp = jax.vjp(transpose, x, w)
    dx, dwt = vjp(dy)
    gold = golden.autodiff(layer, x, w, dy)
    np.testing.assert_array_equal(np.asarray(gold["forward"]), np.asarray(y))
    np.testing.assert_array_equal(np.asarray(gold["igrad"]), np.asarray(dx))
    np.testing.assert_array_equal(np.asarray(gold["fgrad"]), np.asarray(dwt))
