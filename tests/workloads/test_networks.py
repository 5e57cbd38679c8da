"""Networks: the paper's layers, the opt variant, shipped tables, the model zoo."""

from __future__ import annotations

import pytest

from ecoflow.workloads import networks
from ecoflow.workloads.graph import Builder, conv_layers, fold_pooling

NET_OF = {
    "AlexNet": "alexnet", "ResNet-50": "resnet50", "ShuffleNet": "shufflenet",
    "Inception": "inception_v3", "Xception": "xception", "MobileNet": "mobilenet",
    "CycleGAN": "cyclegan", "CvcleGAN": "cyclegan", "pix2pix": "pix2pix",
}  # fmt: skip
# Xception CONV3 (stride-2 depthwise) exists once block 4's pooling is folded into it (§6.1.1).
VARIANT_OF = {("Xception", "CONV3"): "opt"}
# The paper prints the input extent with its padding, except for AlexNet CONV1 (224, padding 2).
UNPADDED_IFM = {("AlexNet", "CONV1")}


def _labelled(network: str, variant: str, label: str):
    table = networks.parse_table(networks.shipped_table(network), network)[variant]
    found = [layer for layer, lab in table if lab == label]
    assert len(found) == 1, (network, variant, label)
    return found[0]


def _paper_rows(paper: dict):
    yield from paper["cnn_layers_table5"]
    yield from paper["gan_layers_table7"]


def test_table5_and_table7_layers_appear_exactly(paper: dict) -> None:
    for row in _paper_rows(paper):
        key = (row["net"], row["layer"])
        layer = _labelled(NET_OF[row["net"]], VARIANT_OF.get(key, "base"), row["layer"])
        c, h, w = row["ifm"]
        pad_h = 0 if key in UNPADDED_IFM else sum(layer.padding[0])
        pad_w = 0 if key in UNPADDED_IFM else sum(layer.padding[1])
        assert (layer.C, layer.H + pad_h, layer.W + pad_w) == (c, h, w), key
        assert [layer.P, layer.Q] == row["ofm"], key
        assert [layer.R, layer.S] == row["filter"], key
        assert layer.stride == (row["stride"], row["stride"]), key
        assert row["filters"] in (layer.K, layer.K // layer.groups), key
        assert layer.N == 4
        kind = {"transposed": "tconv"}.get(row.get("kind", "conv"), "conv")
        assert layer.kind == kind, key
    assert VARIANT_OF.keys() <= {(r["net"], r["layer"]) for r in paper["cnn_layers_table5"]}


def test_opt_variant_folds_pooling_into_stride() -> None:
    """§6.2: AlexNet o-CONV1 has stride 8; pooling that no convolution feeds stays."""
    assert _labelled("alexnet", "opt", "CONV1").stride == (8, 8)
    assert _labelled("alexnet", "opt", "CONV2").stride == (2, 2)
    assert _labelled("alexnet", "opt", "CONV5").stride == (2, 2)
    b = Builder("t", (3, 16, 16))
    x = b.conv(b.input, 4, 3, padding="same", name="a")
    y = b.conv(b.input, 4, 3, padding="same", name="b")
    b.pool(b.concat(x, y), 2, 2)
    opt = conv_layers(fold_pooling(b.graph), 1)
    assert [layer.stride for layer in opt] == [(1, 1), (1, 1)]


def test_same_padding_follows_tensorflow() -> None:
    b = Builder("t", (8, 56, 56))
    b.conv(b.input, 8, 3, stride=2, padding="same", name="c")
    (layer,) = conv_layers(b.graph, 1)
    assert layer.padding == ((0, 1), (0, 1)) and layer.P == 28


@pytest.mark.parametrize("network", networks.NETWORKS)
def test_shipped_tables_are_current(network: str) -> None:
    assert networks.shipped_table(network) == networks.table_csv(network)


@pytest.mark.parametrize("network", networks.NETWORKS)
def test_every_layer_is_valid_and_batched(network: str) -> None:
    for variant in networks.VARIANTS:
        layers = networks.load(network, variant)
        assert layers and all(layer.N == networks.BATCH for layer in layers)
        assert len({layer.name for layer in layers}) == len(layers)


def test_layer_counts() -> None:
    counts = {n: len(networks.load(n)) for n in networks.NETWORKS}
    assert counts["alexnet"] == 5
    assert counts["resnet50"] == 53
    assert counts["inception_v3"] == 94
    assert counts["mobilenet"] == 27
    assert counts["xception"] == 74  # 34 separable convolutions (2 layers each) + 6


def test_gans_have_transposed_generators() -> None:
    for network in ("cyclegan", "pix2pix"):
        layers = networks.load(network)
        assert any(layer.kind == "tconv" for layer in layers)
        assert all(layer.kind == "conv" for layer in layers if layer.name.startswith("disc"))


def test_bad_table_names_the_line() -> None:
    text = networks.shipped_table("alexnet").splitlines()
    text[2] = text[2].replace("conv,4,64,27,", "conv,4,0,27,")
    with pytest.raises(ValueError, match="line 3"):
        networks.parse_table("\n".join(text), "alexnet.csv")
