"""Layer shapes read from a model zoo: Keras 3 applications, built without weights or network.

Keras is imported lazily with its ``numpy`` backend (no TensorFlow, JAX or PyTorch needed), the
model is built with ``weights=None`` (nothing is downloaded), and its functional graph is
converted node by node into a :class:`~ecoflow.workloads.graph.Graph`. Layers that do not change
shapes (normalisation, activation, dropout, ...) become ``identity`` nodes.

The paper's ResNet-50 puts the stride of each down-sampling block on the 3x3 convolution
(``ResNet-50 v1.5``, as torchvision does: Table 5 lists ``CONV3`` as a 3x3, stride-2 layer),
while Keras's ``ResNet50`` puts it on the first 1x1 convolution. :func:`resnet_v1_5` moves it;
the zoo entry for ``resnet50`` applies it, and the agreement with the builder is tested both
before and after.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecoflow.workloads.graph import Graph, Node


@dataclass(frozen=True)
class ZooEntry:
    """A network of the zoo: its Keras constructor, input size and graph transforms."""

    application: str
    input_hw: int
    transform: Callable[[Graph], Graph] | None = None


def resnet_v1_5(graph: Graph) -> Graph:
    """Move the stride of every ResNet down-sampling block from its 1x1 to its 3x3 convolution.

    Notes:
        Keras names the block convolutions ``convX_blockY_1_conv`` (1x1) and ``..._2_conv``
        (3x3); the 3x3 keeps ``"same"`` padding, so on an even input it pads one row and column
        after (TensorFlow semantics), as the paper's 57x57 input of ResNet-50 CONV3 shows.
    """
    moved = {
        n.name.replace("_1_conv", "_2_conv"): n.stride
        for n in graph.nodes
        if n.op == "conv" and n.name.endswith("_1_conv") and max(n.stride) > 1
    }
    nodes = []
    for n in graph.nodes:
        if n.op == "conv" and n.name in moved:
            n = dataclasses.replace(n, stride=moved[n.name])
        elif n.op == "conv" and n.name.endswith("_1_conv") and max(n.stride) > 1:
            n = dataclasses.replace(n, stride=(1, 1))
        nodes.append(n)
    return Graph(graph.name, nodes)


ZOO: dict[str, ZooEntry] = {
    "resnet50": ZooEntry("ResNet50", 224, resnet_v1_5),
    "inception_v3": ZooEntry("InceptionV3", 299),
    "xception": ZooEntry("Xception", 224),
    "mobilenet": ZooEntry("MobileNet", 224),
}


def _import_keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    import keras

    return keras


def keras_graph(application: str, input_hw: int, name: str | None = None) -> Graph:
    """Convert a Keras application (built with ``weights=None``) into a :class:`Graph`."""
    keras = _import_keras()
    keras.backend.clear_session()
    model = getattr(keras.applications, application)(
        weights=None, input_shape=(input_hw, input_hw, 3), include_top=False
    )
    graph = Graph(name or application.lower())
    for layer in model.layers:
        cls = type(layer).__name__
        inbound = layer._inbound_nodes[0].input_tensors if layer._inbound_nodes else []
        inputs = tuple(t._keras_history.operation.name for t in inbound)
        graph.add(_node(layer, cls, inputs))
    return graph


def _pads(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    (t, b), (left, r) = value
    return ((int(t), int(b)), (int(left), int(r)))


def _node(layer: Any, cls: str, inputs: tuple[str, ...]) -> Node:
    name = layer.name
    if cls == "InputLayer":
        h, w, c = layer.output.shape[1:]
        return Node(name, "input", shape=(int(c), int(h), int(w)))
    common: dict[str, Any] = {}
    if cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"):
        common = dict(
            R=int(layer.kernel_size[0]),
            S=int(layer.kernel_size[1]),
            stride=tuple(int(s) for s in layer.strides),
            padding=layer.padding,
            dilation=tuple(int(d) for d in layer.dilation_rate),
        )
    if cls == "Conv2D":
        return Node(name, "conv", inputs, K=int(layer.filters), groups=int(layer.groups), **common)
    if cls == "DepthwiseConv2D":
        return Node(name, "conv", inputs, K=int(layer.depth_multiplier), depthwise=True, **common)
    if cls == "SeparableConv2D":
        if int(layer.depth_multiplier) != 1:
            raise ValueError(f"{name}: separable convolution with depth multiplier > 1")
        return Node(name, "sepconv", inputs, K=int(layer.filters), **common)
    if cls == "Conv2DTranspose":
        raise ValueError(f"{name}: transposed convolutions are not read from Keras")
    if cls == "ZeroPadding2D":
        return Node(name, "pad", inputs, padding=_pads(layer.padding))
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        k, s = layer.pool_size, layer.strides
        return Node(name, "pool", inputs, R=int(k[0]), S=int(k[1]),
                    stride=(int(s[0]), int(s[1])), padding=layer.padding)  # fmt: skip
    if cls in ("Add", "Multiply", "Maximum", "Average"):
        return Node(name, "add", inputs)
    if cls == "Concatenate":
        return Node(name, "concat", inputs)
    if cls.startswith("Global"):
        return Node(name, "global_pool", inputs)
    if len(inputs) != 1:
        raise ValueError(f"{name}: {cls} with {len(inputs)} inputs is not understood")
    return Node(name, "identity", inputs)


def zoo_graph(network: str) -> Graph:
    """The graph of a zoo network (with its transform, such as ResNet-50 v1.5)."""
    entry = ZOO[network]
    graph = keras_graph(entry.application, entry.input_hw, network)
    return entry.transform(graph) if entry.transform else graph
