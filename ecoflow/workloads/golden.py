"""Golden values of training problems: JAX autodiff, and the zero-padded problems run by JAX.

:func:`autodiff` is the reference every dataflow is checked against: the forward convolution
of a layer (``conv``: ``jax.lax.conv_general_dilated``; ``tconv``: its adjoint, as PyTorch's
``ConvTranspose2d``) and its ``jax.vjp``. :func:`padded_result` computes one phase the way an
inference accelerator must: it materialises the zero-padded, zero-inserted operands of
:class:`~ecoflow.workloads.layer.PaddedConv` and runs a plain valid convolution over them,
multiplying by every zero.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ecoflow.workloads.layer import ConvLayer, PaddedConv, Phase

_DN = ("NCHW", "OIHW", "NCHW")
_HIGHEST = lax.Precision.HIGHEST


def _conv(layer: ConvLayer, x: jax.Array, w: jax.Array) -> jax.Array:
    """The direct convolution of a ``conv`` layer (``x``: NCHW, ``w``: OIHW)."""
    return lax.conv_general_dilated(
        x,
        w,
        window_strides=layer.stride,
        padding=layer.padding,
        rhs_dilation=layer.dilation,
        dimension_numbers=_DN,
        feature_group_count=layer.groups,
        precision=_HIGHEST,
    )


def forward(layer: ConvLayer, x: jax.Array, w: jax.Array) -> jax.Array:
    """Forward pass of a layer as a deep-learning framework defines it.

    Args:
        layer: the layer.
        x: input ``(N, C, H, W)``.
        w: filter ``layer.weight_shape``.

    Returns:
        Output ``(N, K, P, Q)``. A ``tconv`` is the adjoint (input gradient) of the ``conv`` with
        the same stride, padding and dilation that maps ``(N, K, P, Q)`` to ``(N, C, H, W)``.
    """
    if layer.kind == "conv":
        return _conv(layer, x, w)
    adjoint = layer.replace(kind="conv", C=layer.K, H=layer.P, W=layer.Q, K=layer.C)
    zeros = jnp.zeros(layer.output_shape, x.dtype)
    _, vjp = jax.vjp(lambda z: _conv(adjoint, z, w), zeros)
    return vjp(x)[0]


def autodiff(layer: ConvLayer, x: jax.Array, w: jax.Array, dy: jax.Array) -> dict[Phase, jax.Array]:
    """Golden results of the three phases: forward output, input and filter gradients."""
    y, vjp = jax.vjp(lambda a, b: forward(layer, a, b), x, w)
    dx, dw = vjp(dy)
    return {"forward": y, "igrad": dx, "fgrad": dw}


def _swap_groups(w: jax.Array, groups: int) -> jax.Array:
    """Swap the in/out channel axes of a grouped OIHW filter (an involution)."""
    o, i, r, s = w.shape
    w = w.reshape(groups, o // groups, i, r, s).transpose(0, 2, 1, 3, 4)
    return w.reshape(groups * i, o // groups, r, s)


def _flip(w: jax.Array) -> jax.Array:
    return w[:, :, ::-1, ::-1]


def forward_filter(layer: ConvLayer, w: jax.Array) -> jax.Array:
    """Filter operand of the forward pass as a direct convolution (OIHW)."""
    return w if layer.kind == "conv" else _flip(_swap_groups(w, layer.groups))


def operands(
    layer: ConvLayer, phase: Phase, x: jax.Array, w: jax.Array, dy: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Input and filter operands (unpadded) of one phase, laid out for :func:`run_padded`."""
    wf = forward_filter(layer, w)
    if phase == "forward":
        return x, wf
    if phase == "igrad":
        return dy, _flip(_swap_groups(wf, layer.groups))
    return x.transpose(1, 0, 2, 3), dy.transpose(1, 0, 2, 3)


def run_padded(padded: PaddedConv, lhs: jax.Array, rhs: jax.Array) -> jax.Array:
    """Run a zero-padded direct convolution literally: pad, insert zeros, valid convolution.

    Args:
        padded: the problem.
        lhs: input operand without padding, ``(batch', channels', h, w)``.
        rhs: filter operand without dilation, OIHW.

    Returns:
        The raw output ``(batch, out_channels, out_h, out_w)``.
    """
    h, w = padded.axes
    zero = jnp.zeros((), lhs.dtype)
    lhs = lax.pad(
        lhs,
        zero,
        ((0, 0, 0), (0, 0, 0), (*h.pad, h.dilation - 1), (*w.pad, w.dilation - 1)),
    )
    rhs = lax.pad(
        rhs, zero, ((0, 0, 0), (0, 0, 0), (0, 0, h.tap_dilation - 1), (0, 0, w.tap_dilation - 1))
    )
    by_feature = padded.group_axis == "feature"
    return lax.conv_general_dilated(
        lhs,
        rhs,
        window_strides=(h.stride, w.stride),
        padding="VALID",
        dimension_numbers=_DN,
        feature_group_count=padded.groups if by_feature else 1,
        batch_group_count=1 if by_feature else padded.groups,
        precision=_HIGHEST,
    )


def padded_result(
    layer: ConvLayer, phase: Phase, x: jax.Array, w: jax.Array, dy: jax.Array
) -> jax.Array:
    """One phase computed as its zero-padded direct convolution, in the layer's layout.

    Returns:
        ``forward``: ``(N, K, P, Q)``; ``igrad``: ``(N, C, H, W)``; ``fgrad``:
        ``layer.weight_shape``.
    """
    problem = layer.problem(phase)
    return from_raw(layer, phase, run_padded(problem.padded, *operands(layer, phase, x, w, dy)))


def from_raw(layer: ConvLayer, phase: Phase, raw: jax.Array) -> jax.Array:
    """Lay out the raw output of a phase's padded problem as the layer's result.

    Args:
        layer: the layer.
        phase: the phase.
        raw: ``(batch, out_channels, out_h, out_w)`` as :func:`run_padded` returns.

    Returns:
        What :func:`autodiff` returns for the phase.
    """
    if phase != "fgrad":
        return raw
    grad = jnp.asarray(raw).transpose(1, 0, 2, 3)  # gradient of the forward filter operand, OIHW
    return grad if layer.kind == "conv" else _swap_groups(_flip(grad), layer.groups)
