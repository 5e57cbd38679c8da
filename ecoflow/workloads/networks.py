"""Builders of the networks the EcoFlow paper evaluates (§6.2, §6.3), and their layer tables.

Each builder writes a :class:`~ecoflow.workloads.graph.Graph`. Where the Keras model zoo has
the network (ResNet-50, Inception-v3, Xception, MobileNet), the builder follows the Keras
application layer by layer, with its layer names, so that :mod:`ecoflow.workloads.zoo` can be
checked against it. Padding follows TensorFlow's ``"same"`` rule (an odd extra row and column
go after), which is how the paper's layer tables read: Table 5 lists ResNet-50 CONV3 with a
57x57 input, a 56x56 map padded by one row and column for a 3x3, stride-2 window.

Variants: ``base`` is the network as published; ``opt`` (§6.1.1) folds each strided pooling
into the convolution feeding it (:func:`~ecoflow.workloads.graph.fold_pooling`).

Paper labels (``CONV1``, ``Disc-CONV3``, ...) name the layers of Tables 5 and 7 and AlexNet's five
convolutions; :data:`PAPER_LABELS` maps them to layer names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Literal

from ecoflow.workloads.graph import Builder, Graph, Node, conv_layers, fold_pooling
from ecoflow.workloads.layer import ConvLayer

Variant = Literal["base", "opt"]
VARIANTS: tuple[Variant, ...] = ("base", "opt")
BATCH = 4


def alexnet() -> Graph:
    """AlexNet (one-tower form, as torchvision), 224x224 input.

    Notes:
        Table 5 prints CONV2's input as 31x31: the 27x27 map with its padding of 2.
    """
    b = Builder("alexnet", (3, 224, 224))
    x = b.conv(b.input, 64, 11, stride=4, padding=2, name="conv1")
    x = b.pool(b.identity(x), 3, 2, name="pool1")
    x = b.conv(x, 192, 5, padding=2, name="conv2")
    x = b.pool(b.identity(x), 3, 2, name="pool2")
    x = b.conv(x, 384, 3, padding=1, name="conv3")
    x = b.conv(b.identity(x), 256, 3, padding=1, name="conv4")
    x = b.conv(b.identity(x), 256, 3, padding=1, name="conv5")
    b.pool(b.identity(x), 3, 2, name="pool5")
    return b.graph


def resnet50(stride_on_3x3: bool = True) -> Graph:
    """ResNet-50, 224x224 input, following Keras's ``ResNet50``.

    Args:
        stride_on_3x3: put each down-sampling stride on the block's 3x3 convolution (v1.5, the
            paper's network: Table 5's CONV3 is a 3x3, stride-2 layer) instead of its first 1x1
            (v1, Keras).
    """
    b = Builder("resnet50", (3, 224, 224))
    x = b.pad(b.input, 3, name="conv1_pad")
    x = b.identity(b.conv(x, 64, 7, stride=2, name="conv1_conv"), name="conv1_relu")
    x = b.pool(b.pad(x, 1, name="pool1_pad"), 3, 2, name="pool1_pool")
    for stage, (filters, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=2):
        for i in range(1, blocks + 1):
            name = f"conv{stage}_block{i}"
            stride = 2 if i == 1 and stage > 2 else 1
            shortcut = x
            if i == 1:
                shortcut = b.conv(x, 4 * filters, 1, stride=stride, name=f"{name}_0_conv")
            s1, s3 = (1, stride) if stride_on_3x3 else (stride, 1)
            y = b.identity(b.conv(x, filters, 1, stride=s1, name=f"{name}_1_conv"))
            y = b.identity(b.conv(y, filters, 3, stride=s3, padding="same", name=f"{name}_2_conv"))
            y = b.conv(y, 4 * filters, 1, name=f"{name}_3_conv")
            x = b.identity(b.add(shortcut, y, name=f"{name}_add"))
    return b.graph


def _inception_conv(b: Builder, x: str, k: int, r: int, s: int, stride: int = 1,
                    padding: str = "same") -> str:  # fmt: skip
    """Keras's ``conv2d_bn``: convolution (auto-named ``conv2d_<i>``), batch norm, ReLU."""
    i = b._count.get("conv2d", 0)
    b._count["conv2d"] = i + 1
    name = "conv2d" if i == 0 else f"conv2d_{i}"
    return b.identity(b.conv(x, k, r, s, stride=stride, padding=padding, name=name))


def inception_v3() -> Graph:
    """Inception-v3, 299x299 input, following Keras's ``InceptionV3`` (94 convolutions)."""
    b = Builder("inception_v3", (3, 299, 299))

    def c(x: str, k: int, r: int, s: int, stride: int = 1, padding: str = "same") -> str:
        return _inception_conv(b, x, k, r, s, stride, padding)

    x = c(b.input, 32, 3, 3, 2, "valid")
    x = c(x, 32, 3, 3, padding="valid")
    x = c(x, 64, 3, 3)
    x = b.pool(x, 3, 2)
    x = c(x, 80, 1, 1, padding="valid")
    x = c(x, 192, 3, 3, padding="valid")
    x = b.pool(x, 3, 2)
    for pool_k in (32, 64, 64):  # mixed 0-2, 35x35
        b1 = c(x, 64, 1, 1)
        b5 = c(c(x, 48, 1, 1), 64, 5, 5)
        b3 = c(c(c(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        bp = c(b.pool(x, 3, 1, "same"), pool_k, 1, 1)
        x = b.concat(b1, b5, b3, bp)
    b3 = c(x, 384, 3, 3, 2, "valid")  # mixed 3
    bd = c(c(c(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 2, "valid")
    x = b.concat(b3, bd, b.pool(x, 3, 2))
    for mid in (128, 160, 160, 192):  # mixed 4-7, 17x17
        b1 = c(x, 192, 1, 1)
        b7 = c(c(c(x, mid, 1, 1), mid, 1, 7), 192, 7, 1)
        bd = c(x, mid, 1, 1)
        for k, (r, s) in ((mid, (7, 1)), (mid, (1, 7)), (mid, (7, 1)), (192, (1, 7))):
            bd = c(bd, k, r, s)
        bp = c(b.pool(x, 3, 1, "same"), 192, 1, 1)
        x = b.concat(b1, b7, bd, bp)
    b3 = c(c(x, 192, 1, 1), 320, 3, 3, 2, "valid")  # mixed 8 (Table 5: Inception CONV3)
    b7 = c(c(c(c(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 2, "valid")
    x = b.concat(b3, b7, b.pool(x, 3, 2))
    for _ in range(2):  # mixed 9-10, 8x8
        b1 = c(x, 320, 1, 1)
        b3 = c(x, 384, 1, 1)
        b3 = b.concat(c(b3, 384, 1, 3), c(b3, 384, 3, 1))
        bd = c(c(x, 448, 1, 1), 384, 3, 3)
        bd = b.concat(c(bd, 384, 1, 3), c(bd, 384, 3, 1))
        bp = c(b.pool(x, 3, 1, "same"), 192, 1, 1)
        x = b.concat(b1, b3, bd, bp)
    return b.graph


def xception() -> Graph:
    """Xception, 224x224 input, following Keras's ``Xception`` (74 convolutions).

    Notes:
        The paper's Xception CONV3 (a 728-channel depthwise 3x3, stride 2, on a 29x29 input) is
        block 4's second separable convolution once its max pooling is folded into it (``opt``).
    """
    b = Builder("xception", (3, 224, 224))
    residual_names = iter(["conv2d", "conv2d_1", "conv2d_2", "conv2d_3"])
    x = b.identity(b.conv(b.input, 32, 3, stride=2, name="block1_conv1"))
    x = b.identity(b.conv(x, 64, 3, name="block1_conv2"))
    for block, (k1, k2) in ((2, (128, 128)), (3, (256, 256)), (4, (728, 728))):
        residual = b.conv(x, k2, 1, stride=2, padding="same", name=next(residual_names))
        y = b.sepconv(b.identity(x), k1, 3, name=f"block{block}_sepconv1")
        y = b.sepconv(b.identity(y), k2, 3, name=f"block{block}_sepconv2")
        y = b.pool(y, 3, 2, "same", name=f"block{block}_pool")
        x = b.add(y, residual)
    for block in range(5, 13):
        y = x
        for i in (1, 2, 3):
            y = b.sepconv(b.identity(y), 728, 3, name=f"block{block}_sepconv{i}")
        x = b.add(y, x)
    residual = b.conv(x, 1024, 1, stride=2, padding="same", name=next(residual_names))
    y = b.sepconv(b.identity(x), 728, 3, name="block13_sepconv1")
    y = b.sepconv(b.identity(y), 1024, 3, name="block13_sepconv2")
    x = b.add(b.pool(y, 3, 2, "same", name="block13_pool"), residual)
    x = b.sepconv(x, 1536, 3, name="block14_sepconv1")
    b.sepconv(b.identity(x), 2048, 3, name="block14_sepconv2")
    return b.graph


def mobilenet() -> Graph:
    """MobileNet (v1, width 1.0), 224x224 input, following Keras's ``MobileNet``."""
    b = Builder("mobilenet", (3, 224, 224))
    x = b.identity(b.conv(b.input, 32, 3, stride=2, padding="same", name="conv1"))
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    blocks += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (k, stride) in enumerate(blocks, start=1):
        if stride == 1:
            x = b.dwconv(x, 3, padding="same", name=f"conv_dw_{i}")
        else:
            x = b.pad(x, ((0, 1), (0, 1)), name=f"conv_pad_{i}")
            x = b.dwconv(x, 3, stride=stride, name=f"conv_dw_{i}")
        x = b.identity(b.conv(b.identity(x), k, 1, padding="same", name=f"conv_pw_{i}"))
    return b.graph


def shufflenet() -> Graph:
    """ShuffleNet v2 (1.0x), 224x224 input, TensorFlow ``"same"`` padding.

    Notes:
        Stages of 4, 8 and 4 units with 116, 232 and 464 channels (Ma et al., ECCV 2018). The
        first unit of a stage runs both branches with stride 2; the others split the channels
        in two and transform one half.
    """
    b = Builder("shufflenet", (3, 224, 224))
    x = b.identity(b.conv(b.input, 24, 3, stride=2, padding="same", name="conv1"))
    x = b.pool(x, 3, 2, "same", name="maxpool")
    for stage, (out, units) in enumerate(((116, 4), (232, 8), (464, 4)), start=2):
        half = out // 2
        for u in range(1, units + 1):
            name = f"stage{stage}_block{u}"
            if u == 1:
                left = b.dwconv(x, 3, stride=2, padding="same", name=f"{name}_branch1_dw")
                left = b.identity(b.conv(left, half, 1, name=f"{name}_branch1_pw"))
                right_in = x
            else:
                left = b.split(x, half, name=f"{name}_split_left")
                right_in = b.split(x, half, name=f"{name}_split_right")
            y = b.identity(b.conv(right_in, half, 1, name=f"{name}_branch2_pw1"))
            y = b.dwconv(y, 3, stride=2 if u == 1 else 1, padding="same",
                         name=f"{name}_branch2_dw")  # fmt: skip
            y = b.identity(b.conv(y, half, 1, name=f"{name}_branch2_pw2"))
            x = b.identity(b.concat(left, y, name=f"{name}_concat"))  # + channel shuffle
    b.conv(x, 1024, 1, name="conv5")
    return b.graph


def cyclegan() -> Graph:
    """CycleGAN: ResNet generator (9 blocks) and 70x70 PatchGAN discriminator, 224x224 images.

    Notes:
        Table 7 prints the generator's transposed convolutions uncropped (``Gen-TCONV1``:
        56x56 -> 113x113 for a 3x3, stride-2 window, padding 0). The reference implementation's
        ``padding=1, output_padding=1`` is modelled by cropping one row and column before the next
        layer, which brings the map back to 112x112.
    """
    b = Builder("cyclegan", (3, 224, 224))
    x = b.conv(b.pad(b.input, 3, name="gen_pad1"), 64, 7, name="gen_conv1")
    x = b.conv(b.identity(x), 128, 3, stride=2, padding=1, name="gen_down1")
    x = b.conv(b.identity(x), 256, 3, stride=2, padding=1, name="gen_down2")
    for i in range(1, 10):
        y = b.conv(b.pad(b.identity(x), 1), 256, 3, name=f"gen_res{i}_conv1")
        y = b.conv(b.pad(b.identity(y), 1), 256, 3, name=f"gen_res{i}_conv2")
        x = b.add(x, y)
    x = b.tconv(x, 128, 3, stride=2, name="gen_up1")
    x = b.tconv(b.identity(b.pad(x, ((-1, 0), (-1, 0)))), 64, 3, stride=2, name="gen_up2")
    x = b.pad(x, ((-1, 0), (-1, 0)))
    b.conv(b.pad(b.identity(x), 3), 3, 7, name="gen_out")
    d = b.graph.add(Node("disc_input", "input", shape=(3, 224, 224)))
    for i, (k, stride) in enumerate(((64, 2), (128, 2), (256, 2), (512, 1), (1, 1)), start=1):
        d = b.conv(b.identity(d), k, 4, stride=stride, padding=1, name=f"disc_conv{i}")
    return b.graph


def pix2pix() -> Graph:
    """pix2pix: U-Net generator (8 levels) and 70x70 PatchGAN discriminator, 512x512 images.

    Notes:
        512x512 is the size at which both Table 7 layers occur (``Disc-CONV6``: 128x130x130 ->
        64x64; ``Gen-TCONV41``: 512x64x64 -> 130x130). As for CycleGAN, the transposed
        convolutions are printed uncropped; the reference ``padding=1`` is modelled by cropping
        one row and column on each side before the skip concatenation.
    """
    b = Builder("pix2pix", (3, 512, 512))
    downs = []
    x = b.input
    for i, k in enumerate((64, 128, 256, 512, 512, 512, 512, 512), start=1):
        x = b.conv(b.identity(x), k, 4, stride=2, padding=1, name=f"gen_down{i}")
        downs.append(x)
    for i, k in enumerate((512, 512, 512, 512, 256, 128, 64, 3), start=1):
        x = b.tconv(b.identity(x), k, 4, stride=2, name=f"gen_up{i}")
        x = b.pad(x, ((-1, -1), (-1, -1)))
        if i < 8:
            x = b.concat(x, downs[7 - i])
    d = b.graph.add(Node("disc_input", "input", shape=(6, 512, 512)))
    for i, (k, stride) in enumerate(((64, 2), (128, 2), (256, 2), (512, 1), (1, 1)), start=1):
        d = b.conv(b.identity(d), k, 4, stride=stride, padding=1, name=f"disc_conv{i}")
    return b.graph


BUILDERS: dict[str, Callable[[], Graph]] = {
    "alexnet": alexnet,
    "resnet50": resnet50,
    "shufflenet": shufflenet,
    "inception_v3": inception_v3,
    "xception": xception,
    "mobilenet": mobilenet,
    "cyclegan": cyclegan,
    "pix2pix": pix2pix,
}
NETWORKS = tuple(BUILDERS)

PAPER_LABELS: dict[str, dict[str, str]] = {
    "alexnet": {f"conv{i}": f"CONV{i}" for i in range(1, 6)},
    "resnet50": {"conv3_block1_2_conv": "CONV3"},
    "shufflenet": {"stage2_block1_branch2_dw": "CONV2", "stage4_block1_branch1_pw": "CONV5"},
    "inception_v3": {"conv2d_71": "CONV3"},
    "xception": {"block4_sepconv2_dw": "CONV3"},
    "mobilenet": {"conv_dw_12": "CONV5"},
    "cyclegan": {"disc_conv2": "Disc-CONV3", "gen_up1": "Gen-TCONV1"},
    "pix2pix": {"disc_conv3": "Disc-CONV6", "gen_up6": "Gen-TCONV41"},
}
"""Network -> layer name -> the paper's name for it (Tables 5 and 7, AlexNet CONV1-5)."""


def graph(network: str, variant: Variant = "base", source: str = "builder") -> Graph:
    """The graph of a network variant, from the builders or the model zoo."""
    if network not in BUILDERS:
        raise KeyError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
    if variant not in VARIANTS:
        raise KeyError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    if source == "zoo":
        from ecoflow.workloads import zoo

        if network not in zoo.ZOO:
            raise KeyError(f"the model zoo has no {network!r}; use the builder")
        g = zoo.zoo_graph(network)
    else:
        g = BUILDERS[network]()
    return fold_pooling(g) if variant == "opt" else g


def build(network: str, variant: Variant = "base", batch: int = BATCH,
          source: str = "builder") -> list[ConvLayer]:  # fmt: skip
    """The convolution layers of a network variant."""
    return conv_layers(graph(network, variant, source), batch)


# ---- layer tables -------------------------------------------------------------------------
COLUMNS = (
    "network", "variant", "layer", "paper_label", "kind", "N", "C", "H", "W", "K", "R", "S",
    "stride_h", "stride_w", "pad_top", "pad_bottom", "pad_left", "pad_right", "dilation_h",
    "dilation_w", "groups", "P", "Q",
)  # fmt: skip


def rows(network: str, variant: Variant, layers: list[ConvLayer]) -> list[dict[str, object]]:
    """Table rows of a network variant's layers."""
    labels = PAPER_LABELS.get(network, {})
    out = []
    for layer in layers:
        (pt, pb), (pl, pr) = layer.padding
        out.append({
            "network": network, "variant": variant, "layer": layer.name,
            "paper_label": labels.get(layer.name, ""), "kind": layer.kind,
            "N": layer.N, "C": layer.C, "H": layer.H, "W": layer.W, "K": layer.K,
            "R": layer.R, "S": layer.S, "stride_h": layer.stride[0], "stride_w": layer.stride[1],
            "pad_top": pt, "pad_bottom": pb, "pad_left": pl, "pad_right": pr,
            "dilation_h": layer.dilation[0], "dilation_w": layer.dilation[1],
            "groups": layer.groups, "P": layer.P, "Q": layer.Q,
        })  # fmt: skip
    return out


def table_csv(network: str, batch: int = BATCH, source: str = "builder") -> str:
    """The layer table (both variants) of a network as CSV text."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for variant in VARIANTS:
        writer.writerows(rows(network, variant, build(network, variant, batch, source)))
    return buf.getvalue()


def parse_table(text: str, source: str = "<table>") -> dict[str, list[tuple[ConvLayer, str]]]:
    """Parse a layer table: variant -> [(layer, paper label)].

    Raises:
        ValueError: naming the row and column of a bad value.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{source}: missing columns {missing}")
    out: dict[str, list[tuple[ConvLayer, str]]] = {}
    for i, row in enumerate(reader, start=2):
        try:
            ints = {k: int(row[k]) for k in COLUMNS[5:]}
            layer = ConvLayer(
                N=ints["N"], C=ints["C"], H=ints["H"], W=ints["W"], K=ints["K"], R=ints["R"],
                S=ints["S"], stride=(ints["stride_h"], ints["stride_w"]),
                padding=(
                    (ints["pad_top"], ints["pad_bottom"]), (ints["pad_left"], ints["pad_right"])
                ),
                dilation=(ints["dilation_h"], ints["dilation_w"]), groups=ints["groups"],
                kind=row["kind"], name=row["layer"],  # type: ignore[arg-type]
            )  # fmt: skip
        except ValueError as err:
            raise ValueError(f"{source}: line {i}: {err}") from None
        if (layer.P, layer.Q) != (ints["P"], ints["Q"]):
            raise ValueError(f"{source}: line {i}: P, Q do not follow from the other columns")
        out.setdefault(row["variant"], []).append((layer, row["paper_label"]))
    return out


def shipped_table(network: str) -> str:
    """Text of the layer table shipped with the package."""
    return resources.files("ecoflow.workloads").joinpath(f"data/{network}.csv").read_text()


def load(network: str, variant: Variant = "base", batch: int | None = None) -> list[ConvLayer]:
    """Layers of a network variant from the shipped table (no builder or zoo needed)."""
    if network not in BUILDERS:
        raise KeyError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
    layers = [layer for layer, _ in parse_table(shipped_table(network), network)[variant]]
    return [layer.replace(N=batch) for layer in layers] if batch else layers


def write_tables(directory: str | Path) -> list[Path]:
    """Regenerate the shipped layer tables from the builders."""
    directory = Path(directory)
    written = []
    for network in NETWORKS:
        target = directory / f"{network}.csv"
        target.write_text(table_csv(network))
        written.append(target)
    return written
