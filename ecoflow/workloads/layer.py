"""Convolution layers, the three problems of training one, and their padding zeros.

A layer's forward pass is written once as a :class:`PaddedConv`: a direct convolution over
zero-padded, zero-inserted operands, exactly as an inference accelerator has to run it. The
input gradient (``igrad``) and filter gradient (``fgrad``) are derived from it by transposing
the convolution, the same algebra JAX's autodiff uses, so that every derived problem can be
checked against ``jax.vjp``. Each problem is described in two forms:

* the *zero-padded* direct convolution (:class:`PaddedConv`): what row stationary and systolic
  dataflows execute, including every multiplication by an inserted or border zero;
* the *zero-free* description (:class:`ZeroFreeConv`): the operands without padding, the kind of
  convolution (``direct``, ``transposed``, ``dilated``) and the number of useful products, which
  is what EcoFlow schedules.

Notes:
    One spatial axis of a zero-padded convolution (:class:`Axis`) has an input operand of
    ``size`` data elements with ``dilation - 1`` zeros inserted between neighbours and
    ``pad = (lo, hi)`` border zeros (negative values crop), a filter of ``taps`` data taps with
    ``tap_dilation - 1`` zeros between them, and a window stride. The padded extent is
    ``lo + (size - 1) * dilation + 1 + hi``, the window ``(taps - 1) * tap_dilation + 1`` and the
    output ``(extent - window) // stride + 1``.

    A multiplication has a zero operand from *outer* padding when its input element lies in the
    border of either axis, and from *inner* padding when it is not outer but the input element or
    the filter tap is an inserted zero. This matches §3.1.1, where the inner padding elements of
    an ``N x N`` error padded for a ``K x K`` filter and stride ``S`` are ``[S(N-1)+1]^2 - N^2`` and
    the outer ones ``4(K-1)[S(N-1)+1] + 4(K-1)^2``.

References:
    EcoFlow, §2.1 (the three convolutions of training) and §3.1 (their zeros).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

Phase = Literal["forward", "igrad", "fgrad"]
PHASES: tuple[Phase, ...] = ("forward", "igrad", "fgrad")
Kind = Literal["conv", "tconv"]
KINDS: tuple[Kind, ...] = ("conv", "tconv")
ConvType = Literal["direct", "transposed", "dilated"]

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]


class LayerError(ValueError):
    """A layer description that does not define a valid convolution.

    Attributes:
        key: the offending field (``"H"``, ``"padding"``, ...).
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def as_pair(value: int | tuple[int, int] | list[int], key: str = "value") -> Pair:
    """Normalise an int or a pair of ints to ``(height, width)``."""
    if isinstance(value, int | np.integer):
        return (int(value), int(value))
    items = tuple(int(v) for v in value)
    if len(items) != 2:
        raise LayerError(key, f"expected one integer or two, got {value!r}")
    return items  # type: ignore[return-value]


def as_pads(value: int | tuple | list, key: str = "padding") -> Pads:
    """Normalise padding to ``((top, bottom), (left, right))``.

    Accepts one integer (all sides), a pair ``(ph, pw)`` (symmetric per axis) or two pairs.
    """
    if isinstance(value, int | np.integer):
        p = int(value)
        return ((p, p), (p, p))
    items = list(value)
    if len(items) != 2:
        raise LayerError(
            key, f"expected an integer, (ph, pw) or ((top, bottom), (left, right)), got {value!r}"
        )
    out = []
    for item in items:
        if isinstance(item, int | np.integer):
            out.append((int(item), int(item)))
        else:
            pair = tuple(int(v) for v in item)
            if len(pair) != 2:
                raise LayerError(key, f"expected (lo, hi) pairs, got {value!r}")
            out.append(pair)
    return (out[0], out[1])  # type: ignore[return-value]


@dataclass(frozen=True)
class Axis:
    """One spatial axis of a zero-padded direct convolution.

    Attributes:
        size: data elements of the input operand along this axis.
        dilation: input dilation; ``dilation - 1`` zeros sit between neighbouring data elements.
        pad: border zeros ``(lo, hi)``; negative values crop the operand.
        taps: data taps of the filter operand.
        tap_dilation: filter dilation; ``tap_dilation - 1`` zeros sit between taps.
        stride: window stride over the padded input.
    """

    size: int
    dilation: int
    pad: Pair
    taps: int
    tap_dilation: int
    stride: int

    @property
    def dilated_size(self) -> int:
        """Extent of the input after zero insertion, before border padding."""
        return (self.size - 1) * self.dilation + 1

    @property
    def extent(self) -> int:
        """Extent of the padded input operand."""
        return self.pad[0] + self.dilated_size + self.pad[1]

    @property
    def window(self) -> int:
        """Extent of the (dilated) filter operand."""
        return (self.taps - 1) * self.tap_dilation + 1

    @property
    def out(self) -> int:
        """Output elements along this axis."""
        return (self.extent - self.window) // self.stride + 1

    def tap_classes(self) -> tuple[int, int, int]:
        """Count the (output, window position) pairs by the zero they multiply.

        Returns:
            ``(data, inner, outer)``: pairs whose input element and filter tap are both data;
            pairs whose input lies in the border (outer); the rest (an inserted zero, inner).
        """
        o = np.arange(self.out)[:, None]
        t = np.arange(self.window)[None, :]
        j = o * self.stride + t - self.pad[0]
        outer = (j < 0) | (j > (self.size - 1) * self.dilation)
        inner = ~outer & ((j % self.dilation != 0) | (t % self.tap_dilation != 0))
        n_outer = int(outer.sum())
        n_inner = int(inner.sum())
        return self.out * self.window - n_inner - n_outer, n_inner, n_outer

    def element_classes(self) -> tuple[int, int, int]:
        """Count the elements of the padded input operand: ``(data, inner, outer)``."""
        j = np.arange(self.extent) - self.pad[0]
        outer = (j < 0) | (j > (self.size - 1) * self.dilation)
        inner = ~outer & (j % self.dilation != 0)
        n_outer, n_inner = int(outer.sum()), int(inner.sum())
        return self.extent - n_inner - n_outer, n_inner, n_outer


def _combine(h: tuple[int, int, int], w: tuple[int, int, int]) -> tuple[int, int, int]:
    """Combine per-axis (data, inner, outer) counts: outer on either axis is outer."""
    total = sum(h) * sum(w)
    data = h[0] * w[0]
    not_outer = (h[0] + h[1]) * (w[0] + w[1])
    outer = total - not_outer
    return data, not_outer - data, outer


@dataclass(frozen=True)
class ZeroCounts:
    """Multiplications of a zero-padded mapping and those with a padding zero operand.

    Attributes:
        macs: every multiplication the zero-padded direct convolution performs [MAC].
        zero_macs: those with a zero operand from padding [MAC].
        inner_zero_macs: zero operand from inner padding (zero insertion) [MAC].
        outer_zero_macs: zero operand from outer (border) padding [MAC].
    """

    macs: int
    zero_macs: int
    inner_zero_macs: int
    outer_zero_macs: int

    @property
    def useful_macs(self) -> int:
        """Multiplications of two data operands [MAC]."""
        return self.macs - self.zero_macs

    @property
    def zero_fraction(self) -> float:
        """Share of multiplications with a padding zero operand [1]."""
        return self.zero_macs / self.macs if self.macs else 0.0


@dataclass(frozen=True)
class PaddedConv:
    """A direct convolution over zero-padded operands (the form inference accelerators run).

    The output has ``batch x out_channels x out_h x out_w`` elements; each one reduces
    ``in_channels`` channels (per group) over the whole padded window.

    Attributes:
        batch: independent output planes per output channel (images for forward/igrad, input
            channels per group for fgrad).
        in_channels: channels reduced per output element (per group).
        out_channels: output channels.
        groups: channel groups (``feature_group_count`` for forward/igrad, ``batch_group_count``
            for fgrad).
        axes: the height and width axes.
        group_axis: ``"feature"`` when groups split the reduced channels, ``"batch"`` when they
            split the batch (filter gradients of grouped layers).
    """

    batch: int
    in_channels: int
    out_channels: int
    groups: int
    axes: tuple[Axis, Axis]
    group_axis: Literal["feature", "batch"] = "feature"

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """Output shape ``(batch, out_channels, out_h, out_w)``."""
        return (self.batch, self.out_channels, self.axes[0].out, self.axes[1].out)

    @property
    def channel_products(self) -> int:
        """Multiplications per (output position, window position) pair [MAC]."""
        return self.batch * self.out_channels * self.in_channels

    def zero_counts(self) -> ZeroCounts:
        """Multiplications by padding zeros (outer has priority over inner)."""
        data, inner, outer = _combine(self.axes[0].tap_classes(), self.axes[1].tap_classes())
        k = self.channel_products
        total = data + inner + outer
        return ZeroCounts(
            macs=k * total,
            zero_macs=k * (inner + outer),
            inner_zero_macs=k * inner,
            outer_zero_macs=k * outer,
        )

    def input_elements(self) -> tuple[int, int, int]:
        """Elements of one plane of the padded input operand: ``(data, inner, outer)``."""
        return _combine(self.axes[0].element_classes(), self.axes[1].element_classes())

    def filter_elements(self) -> tuple[int, int]:
        """Elements of one plane of the dilated filter operand: ``(data, inner)``."""
        h, w = self.axes
        data = h.taps * w.taps
        return data, h.window * w.window - data


@dataclass(frozen=True)
class ZeroFreeConv:
    """The zero-free description of a training problem (what EcoFlow schedules).

    Attributes:
        conv_type: ``direct`` (no inserted zeros), ``transposed`` (zeros inserted in the input:
            up-sampling) or ``dilated`` (zeros inserted in the filter).
        input_shape: data operand ``(batch, channels, h, w)`` without padding.
        filter_shape: filter operand ``(out_channels, in_channels, h, w)`` without dilation.
        output_shape: ``(batch, channels, h, w)`` of the result.
        upsample: zero-insertion factor of the input (stride of a transposed convolution).
        dilation: zero-insertion factor of the filter (stride of the forward convolution).
        stride: window stride.
        groups: channel groups.
        macs: useful multiplications, each of two data operands [MAC].
    """

    conv_type: ConvType
    input_shape: tuple[int, int, int, int]
    filter_shape: tuple[int, int, int, int]
    output_shape: tuple[int, int, int, int]
    upsample: Pair
    dilation: Pair
    stride: Pair
    groups: int
    macs: int


@dataclass(frozen=True)
class Problem:
    """One phase of training one layer, in its zero-padded and zero-free forms."""

    layer: ConvLayer
    phase: Phase
    padded: PaddedConv

    def zero_counts(self) -> ZeroCounts:
        """Zero analysis of the zero-padded form."""
        return self.padded.zero_counts()

    @property
    def zero_free(self) -> ZeroFreeConv:
        """Zero-free description of this problem."""
        p = self.padded
        h, w = p.axes
        if h.dilation > 1 or w.dilation > 1:
            conv_type: ConvType = "transposed"
        elif h.tap_dilation > 1 or w.tap_dilation > 1:
            conv_type = "dilated"
        else:
            conv_type = "direct"
        in_batch = p.batch * (p.groups if p.group_axis == "batch" else 1)
        in_ch = p.in_channels * (p.groups if p.group_axis == "feature" else 1)
        return ZeroFreeConv(
            conv_type=conv_type,
            input_shape=(in_batch, in_ch, h.size, w.size),
            filter_shape=(p.out_channels, p.in_channels, h.taps, w.taps),
            output_shape=p.out_shape,
            upsample=(h.dilation, w.dilation),
            dilation=(h.tap_dilation, w.tap_dilation),
            stride=(h.stride, w.stride),
            groups=p.groups,
            macs=p.zero_counts().useful_macs,
        )


@dataclass(frozen=True)
class ConvLayer:
    """A 2-D convolution layer (direct or transposed) of a CNN.

    Attributes:
        N: batch [images].
        C: input channels.
        H: input height [elements].
        W: input width [elements].
        K: output channels (filters).
        R: filter height.
        S: filter width.
        stride: ``(vertical, horizontal)`` stride.
        padding: ``((top, bottom), (left, right))`` zero padding of the input (``conv``) or
            cropping of the output (``tconv``, as PyTorch's ``ConvTranspose2d``).
        dilation: ``(vertical, horizontal)`` filter dilation.
        groups: channel groups (``groups == C`` is depthwise).
        kind: ``conv`` (direct) or ``tconv`` (transposed, the gradient of a ``conv``).
        name: layer name within its network.

    Notes:
        ``conv``: ``P = (H + top + bottom - dilation (R - 1) - 1) // stride + 1``; the filter
        tensor is ``(K, C / groups, R, S)``.

        ``tconv``: ``P = (H - 1) stride + dilation (R - 1) + 1 - top - bottom``; the filter tensor
        is ``(C, K / groups, R, S)``, that of the ``conv`` whose input gradient it computes.
    """

    N: int
    C: int
    H: int
    W: int
    K: int
    R: int
    S: int
    stride: Pair = (1, 1)
    padding: Pads = ((0, 0), (0, 0))
    dilation: Pair = (1, 1)
    groups: int = 1
    kind: Kind = "conv"
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stride", as_pair(self.stride, "stride"))
        object.__setattr__(self, "dilation", as_pair(self.dilation, "dilation"))
        object.__setattr__(self, "padding", as_pads(self.padding, "padding"))
        for key in ("N", "C", "H", "W", "K", "R", "S", "groups"):
            value = getattr(self, key)
            if not isinstance(value, int | np.integer) or isinstance(value, bool):
                raise LayerError(key, f"must be an integer, got {value!r}")
            if value <= 0:
                raise LayerError(key, f"must be positive, got {value}")
            object.__setattr__(self, key, int(value))
        for key in ("stride", "dilation"):
            if min(getattr(self, key)) <= 0:
                raise LayerError(key, f"must be positive, got {getattr(self, key)}")
        if min(min(p) for p in self.padding) < 0:
            raise LayerError("padding", f"must not be negative, got {self.padding}")
        if self.kind not in KINDS:
            raise LayerError("kind", f"must be one of {KINDS}, got {self.kind!r}")
        if self.C % self.groups:
            raise LayerError("groups", f"C={self.C} is not divisible by groups={self.groups}")
        if self.K % self.groups:
            raise LayerError("groups", f"K={self.K} is not divisible by groups={self.groups}")
        for (lo, hi), size, taps, dil, name in (
            (self.padding[0], self.H, self.R, self.dilation[0], "R"),
            (self.padding[1], self.W, self.S, self.dilation[1], "S"),
        ):
            window = (taps - 1) * dil + 1
            if self.kind == "conv" and window > size + lo + hi:
                raise LayerError(
                    name, f"filter extent {window} is larger than the padded input {size + lo + hi}"
                )
        if self.P <= 0 or self.Q <= 0:
            raise LayerError("padding", f"output would be {self.P}x{self.Q}")

    # ---- derived sizes -------------------------------------------------------------------
    def _out(self, axis: int) -> int:
        size = (self.H, self.W)[axis]
        taps = (self.R, self.S)[axis]
        lo, hi = self.padding[axis]
        s, d = self.stride[axis], self.dilation[axis]
        if self.kind == "conv":
            return (size + lo + hi - d * (taps - 1) - 1) // s + 1
        return (size - 1) * s + d * (taps - 1) + 1 - lo - hi

    @property
    def P(self) -> int:
        """Output height."""
        return self._out(0)

    @property
    def Q(self) -> int:
        """Output width."""
        return self._out(1)

    @property
    def depthwise(self) -> bool:
        """True when every group holds one input channel."""
        return self.groups == self.C and self.groups > 1

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        """Shape of the filter tensor (see the class notes)."""
        if self.kind == "conv":
            return (self.K, self.C // self.groups, self.R, self.S)
        return (self.C, self.K // self.groups, self.R, self.S)

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """``(N, C, H, W)``."""
        return (self.N, self.C, self.H, self.W)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        """``(N, K, P, Q)``."""
        return (self.N, self.K, self.P, self.Q)

    def replace(self, **changes: object) -> ConvLayer:
        """Return a copy with fields changed."""
        return dataclasses.replace(self, **changes)

    # ---- the three problems of training ------------------------------------------------
    def forward_axes(self) -> tuple[Axis, Axis]:
        """The axes of the forward pass as a zero-padded direct convolution."""
        axes = []
        for i, (size, taps) in enumerate(((self.H, self.R), (self.W, self.S))):
            s, d = self.stride[i], self.dilation[i]
            lo, hi = self.padding[i]
            if self.kind == "conv":
                axes.append(Axis(size, 1, (lo, hi), taps, d, s))
            else:
                window = d * (taps - 1) + 1
                axes.append(Axis(size, s, (window - 1 - lo, window - 1 - hi), taps, d, 1))
        return (axes[0], axes[1])

    def problem(self, phase: Phase) -> Problem:
        """Derive one phase of training this layer.

        Args:
            phase: ``forward``, ``igrad`` (input gradient) or ``fgrad`` (filter gradient).

        Returns:
            The problem, whose zero-padded form is what an inference accelerator executes.
        """
        fwd = self.forward_axes()
        g = self.groups
        if phase == "forward":
            padded = PaddedConv(self.N, self.C // g, self.K, g, fwd)
        elif phase == "igrad":
            axes = tuple(_igrad_axis(a) for a in fwd)
            padded = PaddedConv(self.N, self.K // g, self.C, g, axes)  # type: ignore[arg-type]
        elif phase == "fgrad":
            axes = tuple(_fgrad_axis(a) for a in fwd)
            padded = PaddedConv(self.C // g, self.N, self.K, g, axes, "batch")  # type: ignore[arg-type]
        else:
            raise LayerError("phase", f"must be one of {PHASES}, got {phase!r}")
        return Problem(self, phase, padded)

    def problems(self) -> tuple[Problem, Problem, Problem]:
        """The forward, igrad and fgrad problems."""
        return tuple(self.problem(p) for p in PHASES)  # type: ignore[return-value]


def _igrad_axis(a: Axis) -> Axis:
    """Transpose one forward axis with respect to its input (the input gradient).

    Notes:
        The error (``a.out`` elements) is dilated by the forward stride and padded by
        ``window - 1 - lo`` before and whatever makes the output ``a.size`` long after; the
        window runs with the forward input dilation as its stride.
    """
    out_dilated = (a.out - 1) * a.stride + 1
    before = a.window - 1 - a.pad[0]
    after = a.dilated_size + a.window - 1 - out_dilated - before
    return Axis(a.out, a.stride, (before, after), a.taps, a.tap_dilation, a.dilation)


def _fgrad_axis(a: Axis) -> Axis:
    """Transpose one forward axis with respect to its filter (the filter gradient).

    Notes:
        The input keeps its forward padding before; after, it is padded (or cropped) to exactly
        the rows the forward windows touched. The error, dilated by the forward stride, is the
        filter; the window runs with the forward filter dilation as its stride.
    """
    out_dilated = (a.out - 1) * a.stride + 1
    after = out_dilated - a.dilated_size + a.window - 1 - a.pad[0]
    return Axis(a.size, a.dilation, (a.pad[0], after), a.out, a.stride, a.tap_dilation)


def format_pair(pair: Pair) -> str:
    """``(2, 2)`` -> ``"2"``; ``(2, 1)`` -> ``"2x1"``."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def format_pads(pads: Pads) -> str:
    """``((1, 1), (1, 1))`` -> ``"1"``; asymmetric padding as ``"t,b,l,r"``."""
    (t, b), (left, r) = pads
    if t == b == left == r:
        return str(t)
    return f"{t},{b},{left},{r}"
