"""Layer shapes read from Keras applications agree with the builders."""

from __future__ import annotations

from collections import Counter

import pytest

from ecoflow.workloads import networks, zoo
from ecoflow.workloads.graph import conv_layers


def _signature(layer):
    return (layer.name, layer.C, layer.H, layer.W, layer.K, layer.R, layer.S, layer.stride,
            layer.padding, layer.dilation, layer.groups, layer.kind)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("network", sorted(zoo.ZOO))
def test_zoo_agrees_with_builder(network: str) -> None:
    for variant in networks.VARIANTS:
        built = Counter(map(_signature, networks.build(network, variant)))
        read = Counter(map(_signature, networks.build(network, variant, source="zoo")))
        assert built == read, (variant, built - read, read - built)


@pytest.mark.slow
def test_keras_resnet50_is_v1_and_the_builder_can_be_too() -> None:
    """Keras puts the down-sampling stride on the 1x1 convolution; the paper on the 3x3."""
    raw = conv_layers(zoo.keras_graph("ResNet50", 224, "resnet50"), 4)
    v1 = conv_layers(networks.resnet50(stride_on_3x3=False), 4)
    assert Counter(map(_signature, raw)) == Counter(map(_signature, v1))
    by_name = {layer.name: layer for layer in raw}
    assert by_name["conv3_block1_1_conv"].stride == (2, 2)
    assert by_name["conv3_block1_2_conv"].stride == (1, 1)
