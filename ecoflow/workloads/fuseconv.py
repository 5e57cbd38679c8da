"""FuSeConv's networks (``papers/fuseconv.txt``): five efficient CNNs and their FuSe variants.

The builders follow the published architectures (224x224 input, width 1.0, classifier included
as a ``1x1`` convolution on the pooled ``1x1`` map; squeeze-and-excitation layers of
MobileNet-V3 as ``1x1`` convolutions on ``1x1`` maps; TensorFlow ``"same"`` padding):

* MobileNet-V1 (Howard et al., 2017): 13 depthwise-separable blocks;
* MobileNet-V2 (Sandler et al., CVPR 2018): 17 inverted residual blocks;
* MnasNet-B1 (Tan et al., CVPR 2019; torchvision's ``mnasnet1_0``): a separable stem and 16
  inverted residual blocks without squeeze-and-excitation;
* MobileNet-V3 Large and Small (Howard et al., ICCV 2019, Table 1 and 2).

Variants (``reference/fuseconv.yaml``). ``baseline``: as published. ``full``: every depthwise
``KxK`` becomes a ``1xK`` and a ``Kx1`` depthwise convolution of all channels, concatenated (the
next pointwise layer reads twice the channels). ``half``: half of the channels go through the
``1xK``, the other half through the ``Kx1``. ``full_50pct`` and ``half_50pct`` replace only the
later half of the network's depthwise layers (which half the authors replaced is not stated in
the reference; the later half is this module's assumption); :data:`EARLY` names the same
variants with the earlier half replaced, for comparison.

:data:`PUBLISHED_MACS` holds the multiply-accumulates of each baseline as its authors report
them, against which :func:`macs` is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ecoflow.workloads.graph import Builder, Graph, conv_layers
from ecoflow.workloads.layer import ConvLayer

Variant = Literal["baseline", "full", "half", "full_50pct", "half_50pct"]
VARIANTS: tuple[Variant, ...] = ("baseline", "full", "half", "full_50pct", "half_50pct")
# the 50% variants with the earlier half replaced instead (for comparison; not in VARIANTS)
EARLY: tuple[str, ...] = ("full_50pct_early", "half_50pct_early")

# Multiply-accumulates of the baselines at 224x224 [M], from the networks' own papers
# (MobileNet-V1 Table 8, MobileNet-V2 Table 4, MobileNet-V3 Tables 3-4) and torchvision's
# model card for mnasnet1_0 (0.31 GFLOPs, counted as MACs).
PUBLISHED_MACS = {
    "mobilenet_v1": 569.0,
    "mobilenet_v2": 300.0,
    "mnasnet_b1": 310.0,
    "mobilenet_v3_large": 219.0,
    "mobilenet_v3_small": 56.0,
}
# names in reference/fuseconv.yaml
REFERENCE_NAMES = {
    "mobilenet_v1": "MobileNet-V1",
    "mobilenet_v2": "MobileNet-V2",
    "mnasnet_b1": "MnasNet-B1",
    "mobilenet_v3_small": "MobileNet-V3-Small",
    "mobilenet_v3_large": "MobileNet-V3-Large",
}


def _divisible(v: float, divisor: int = 8) -> int:
    """Channels rounded to a multiple of ``divisor`` (never down by more than 10%)."""
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * v else out


class _Net:
    """A builder with the depthwise layers replaced per variant.

    Args:
        name: network name.
        variant: one of :data:`VARIANTS`.
        depthwise: depthwise layers the network has (the 50% variants replace the later half).
    """

    def __init__(self, name: str, variant: str, depthwise: int) -> None:
        if variant not in VARIANTS + EARLY:
            raise KeyError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS + EARLY)}")
        self.b = Builder(name, (3, 224, 224))
        self.variant = variant
        half = depthwise - depthwise // 2  # layers a 50% variant replaces
        fused = {"baseline": range(0), "full": range(depthwise), "half": range(depthwise),
                 "full_50pct": range(depthwise - half, depthwise),
                 "half_50pct": range(depthwise - half, depthwise),
                 "full_50pct_early": range(half), "half_50pct_early": range(half)}  # fmt: skip
        self.fused = fused[variant]
        self.seen = 0

    def dw(self, x: str, k: int, stride: int, name: str) -> str:
        """The ``i``-th depthwise ``k x k`` layer, or its FuSe replacement."""
        b, i = self.b, self.seen
        self.seen += 1
        if i not in self.fused or k == 1:
            return b.dwconv(x, k, stride=stride, padding="same", name=name)
        c = b.shape(x)[0]
        if self.variant.startswith("full"):
            row, col = x, x
        else:
            row = b.split(x, c // 2, name=f"{name}_split_row")
            col = b.split(x, c - c // 2, name=f"{name}_split_col")
        row = b.dwconv(row, 1, k, stride=stride, padding="same", name=f"{name}_1x{k}")
        col = b.dwconv(col, k, 1, stride=stride, padding="same", name=f"{name}_{k}x1")
        return b.concat(row, col, name=f"{name}_fuse")

    def pw(self, x: str, k: int, name: str) -> str:
        return self.b.identity(self.b.conv(x, k, 1, name=name))

    def se(self, x: str, name: str) -> None:
        """Squeeze and excitation: two ``1x1`` layers on the pooled map (shape unchanged)."""
        c = self.b.shape(x)[0]
        s = self.b.global_pool(x, name=f"{name}_se_pool")
        s = self.b.conv(s, _divisible(c / 4), 1, name=f"{name}_se_reduce")
        self.b.conv(s, c, 1, name=f"{name}_se_expand")

    def head(self, x: str, *widths: int) -> Graph:
        """``1x1`` layers to ``widths[0]``, pooling, then ``1x1`` layers to the rest."""
        b = self.b
        x = self.pw(x, widths[0], name="head_conv")
        x = b.global_pool(x, name="pool")
        for i, k in enumerate(widths[1:], start=1):
            x = b.identity(b.conv(x, k, 1, name=f"head_fc{i}"))
        return b.graph


def mobilenet_v1(variant: Variant = "baseline") -> Graph:
    """MobileNet-V1: 13 depthwise-separable blocks, classifier."""
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    blocks += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    n = _Net("mobilenet_v1", variant, len(blocks))
    x = n.b.identity(n.b.conv(n.b.input, 32, 3, stride=2, padding="same", name="conv1"))
    for i, (k, stride) in enumerate(blocks, start=1):
        x = n.b.identity(n.dw(x, 3, stride, f"conv_dw_{i}"))
        x = n.pw(x, k, f"conv_pw_{i}")
    b = n.b
    x = b.global_pool(x, name="pool")
    b.conv(x, 1000, 1, name="fc")
    return b.graph


def _inverted(n: _Net, x: str, out: int, k: int, stride: int, expand: int, name: str,
              se: bool = False) -> str:  # fmt: skip
    """An inverted residual block: ``1x1`` expansion, depthwise, (SE), ``1x1`` projection."""
    b = n.b
    c = b.shape(x)[0]
    y = n.pw(x, expand, f"{name}_expand") if expand != c else x
    y = b.identity(n.dw(y, k, stride, f"{name}_dw"))
    if se:
        n.se(y, name)
    y = b.identity(b.conv(y, out, 1, name=f"{name}_project"))
    return b.add(x, y, name=f"{name}_add") if stride == 1 and c == out else y


def mobilenet_v2(variant: Variant = "baseline") -> Graph:
    """MobileNet-V2: stem, 17 inverted residual blocks, ``1x1`` to 1280, classifier."""
    table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
             (6, 160, 3, 2), (6, 320, 1, 1)]  # fmt: skip
    n = _Net("mobilenet_v2", variant, sum(r for _, _, r, _ in table))
    x = n.b.identity(n.b.conv(n.b.input, 32, 3, stride=2, padding="same", name="conv1"))
    i = 0
    for t, c, repeats, stride in table:
        for r in range(repeats):
            i += 1
            x = _inverted(n, x, c, 3, stride if r == 0 else 1, n.b.shape(x)[0] * t, f"block{i}")
    return n.head(x, 1280, 1000)


def mnasnet_b1(variant: Variant = "baseline") -> Graph:
    """MnasNet-B1: separable stem, 16 inverted residual blocks, ``1x1`` to 1280, classifier."""
    stacks = [
        (24, 3, 2, 3, 3),
        (40, 5, 2, 3, 3),
        (80, 5, 2, 6, 3),
        (96, 3, 1, 6, 2),
        (192, 5, 2, 6, 4),
        (320, 3, 1, 6, 1),
    ]  # (out, k, stride, expansion, repeats)
    n = _Net("mnasnet_b1", variant, 1 + sum(s[-1] for s in stacks))
    b = n.b
    x = b.identity(b.conv(b.input, 32, 3, stride=2, padding="same", name="conv1"))
    x = b.identity(n.dw(x, 3, 1, "stem_dw"))
    x = b.identity(b.conv(x, 16, 1, name="stem_pw"))
    i = 0
    for out, k, stride, t, repeats in stacks:
        for r in range(repeats):
            i += 1
            x = _inverted(n, x, out, k, stride if r == 0 else 1, b.shape(x)[0] * t, f"block{i}")
    return n.head(x, 1280, 1000)


V3_LARGE = [  # (kernel, expansion, out, squeeze-and-excitation, stride)
    (3, 16, 16, False, 1), (3, 64, 24, False, 2), (3, 72, 24, False, 1), (5, 72, 40, True, 2),
    (5, 120, 40, True, 1), (5, 120, 40, True, 1), (3, 240, 80, False, 2), (3, 200, 80, False, 1),
    (3, 184, 80, False, 1), (3, 184, 80, False, 1), (3, 480, 112, True, 1),
    (3, 672, 112, True, 1), (5, 672, 160, True, 2), (5, 960, 160, True, 1),
    (5, 960, 160, True, 1),
]  # fmt: skip
V3_SMALL = [
    (3, 16, 16, True, 2), (3, 72, 24, False, 2), (3, 88, 24, False, 1), (5, 96, 40, True, 2),
    (5, 240, 40, True, 1), (5, 240, 40, True, 1), (5, 120, 48, True, 1), (5, 144, 48, True, 1),
    (5, 288, 96, True, 2), (5, 576, 96, True, 1), (5, 576, 96, True, 1),
]  # fmt: skip


def _mobilenet_v3(name: str, table: list, head: tuple[int, ...], variant: Variant) -> Graph:
    n = _Net(name, variant, len(table))
    x = n.b.identity(n.b.conv(n.b.input, 16, 3, stride=2, padding="same", name="conv1"))
    for i, (k, exp, out, se, stride) in enumerate(table, start=1):
        x = _inverted(n, x, out, k, stride, exp, f"block{i}", se=se)
    return n.head(x, *head)


def mobilenet_v3_large(variant: Variant = "baseline") -> Graph:
    """MobileNet-V3 Large: 15 blocks, ``1x1`` to 960, pooling, 1280, classifier."""
    return _mobilenet_v3("mobilenet_v3_large", V3_LARGE, (960, 1280, 1000), variant)


def mobilenet_v3_small(variant: Variant = "baseline") -> Graph:
    """MobileNet-V3 Small: 11 blocks, ``1x1`` to 576, pooling, 1024, classifier."""
    return _mobilenet_v3("mobilenet_v3_small", V3_SMALL, (576, 1024, 1000), variant)


BUILDERS: dict[str, Callable[[Variant], Graph]] = {
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v2": mobilenet_v2,
    "mnasnet_b1": mnasnet_b1,
    "mobilenet_v3_small": mobilenet_v3_small,
    "mobilenet_v3_large": mobilenet_v3_large,
}
NETWORKS = tuple(BUILDERS)


def build(network: str, variant: Variant = "baseline", batch: int = 1) -> list[ConvLayer]:
    """The convolution layers of a network variant (FuSeConv evaluates inference at batch 1)."""
    if network not in BUILDERS:
        raise KeyError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
    return conv_layers(BUILDERS[network](variant), batch)


Category = Literal["depthwise", "pointwise", "other"]


def category(layer: ConvLayer) -> Category:
    """``depthwise`` (one channel per group, 2-D or 1-D), ``pointwise`` (``1x1``) or ``other``."""
    if layer.groups > 1 and layer.groups == layer.C:
        return "depthwise"
    if layer.R == 1 and layer.S == 1:
        return "pointwise"
    return "other"


def macs(layers: list[ConvLayer]) -> int:
    """Multiply-accumulates of the layers' forward passes, border windows counted whole."""
    return sum(layer.problem("forward").padded.zero_counts().macs for layer in layers)
