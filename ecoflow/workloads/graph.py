"""A minimal CNN graph: enough structure to infer shapes, fold pooling, and list conv layers.

Networks are written (by the builders in :mod:`ecoflow.workloads.networks`, or read from a model
zoo by :mod:`ecoflow.workloads.zoo`) as a :class:`Graph` of :class:`Node` objects in topological
order. Only what changes tensor shapes is kept: convolutions, explicit zero padding, pooling,
element-wise merges, concatenation and channel splits; activations and normalisations are
``identity`` nodes.

The ``opt`` variant of §6.1.1 is :func:`fold_pooling`: every pooling layer with a stride larger
than one whose input comes from a convolution (through shape-preserving nodes only, each used
once) is removed, and the stride of that convolution is multiplied by the pooling stride. Pooling
fed by a merge or concatenation has no single convolution feeding it and is kept.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

from ecoflow.workloads.layer import ConvLayer, Pads, as_pads, as_pair

Op = Literal[
    "input", "conv", "tconv", "sepconv", "pad", "pool", "add", "concat", "split", "identity",
    "global_pool",
]  # fmt: skip
Shape = tuple[int, int, int]  # (C, H, W)


@dataclass(frozen=True)
class Node:
    """One operation of a CNN graph.

    Attributes:
        name: unique name.
        op: what it does (see :data:`Op`).
        inputs: names of the nodes it reads.
        K: output channels (``conv``, ``tconv``, pointwise part of ``sepconv``); for a depthwise
            convolution, the channel multiplier when ``depthwise`` is set.
        R: kernel height (``conv``, ``tconv``, ``sepconv``, ``pool``).
        S: kernel width.
        stride: window stride.
        padding: ``"same"`` (TensorFlow semantics: output ``ceil(in / stride)``, any odd extra
            element padded after), ``"valid"``, or explicit ``((top, bottom), (left, right))``.
        dilation: kernel dilation.
        groups: channel groups of a ``conv``.
        depthwise: one group per input channel, ``K`` filters per channel.
        shape: ``(C, H, W)`` of an ``input`` node.
        channels: channels an ``split`` node keeps.
    """

    name: str
    op: Op
    inputs: tuple[str, ...] = ()
    K: int = 0
    R: int = 1
    S: int = 1
    stride: tuple[int, int] = (1, 1)
    padding: str | Pads = "valid"
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    depthwise: bool = False
    shape: Shape = (0, 0, 0)
    channels: int = 0


@dataclass
class Graph:
    """A CNN as nodes in topological order."""

    name: str
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_name = {n.name: n for n in self.nodes}

    def add(self, node: Node) -> str:
        """Append a node; return its name."""
        if node.name in self._by_name:
            raise ValueError(f"{self.name}: duplicate node name {node.name!r}")
        for src in node.inputs:
            if src not in self._by_name:
                raise ValueError(f"{self.name}: node {node.name!r} reads unknown {src!r}")
        self.nodes.append(node)
        self._by_name[node.name] = node
        return node.name

    def __getitem__(self, name: str) -> Node:
        return self._by_name[name]

    def consumers(self) -> dict[str, list[str]]:
        """Node name -> names of the nodes that read it."""
        out: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for src in n.inputs:
                out[src].append(n.name)
        return out


def _same_pads(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``"same"`` padding of one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: str | Pads, hw: tuple[int, int], node: Node) -> Pads:
    """Explicit padding of a windowed node on an ``hw`` input."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        windows = (
            (node.R - 1) * node.dilation[0] + 1,
            (node.S - 1) * node.dilation[1] + 1,
        )
        return (
            _same_pads(hw[0], windows[0], node.stride[0]),
            _same_pads(hw[1], windows[1], node.stride[1]),
        )
    return as_pads(padding)


def _window_out(size: int, pads: tuple[int, int], window: int, stride: int) -> int:
    return (size + pads[0] + pads[1] - window) // stride + 1


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    """Output shape ``(C, H, W)`` of every node."""
    shapes: dict[str, Shape] = {}
    for n in graph.nodes:
        ins = [shapes[i] for i in n.inputs]
        if n.op == "input":
            shapes[n.name] = n.shape
        elif n.op in ("conv", "sepconv", "pool"):
            c, h, w = ins[0]
            pads = resolve_padding(n.padding, (h, w), n)
            wr = (n.R - 1) * n.dilation[0] + 1
            ws = (n.S - 1) * n.dilation[1] + 1
            p = _window_out(h, pads[0], wr, n.stride[0])
            q = _window_out(w, pads[1], ws, n.stride[1])
            if n.op == "pool":
                k = c
            elif n.op == "sepconv" or not n.depthwise:
                k = n.K
            else:
                k = c * n.K
            shapes[n.name] = (k, p, q)
        elif n.op == "tconv":
            c, h, w = ins[0]
            (t, b), (left, r) = as_pads(n.padding if n.padding != "valid" else 0)
            p = (h - 1) * n.stride[0] + (n.R - 1) * n.dilation[0] + 1 - t - b
            q = (w - 1) * n.stride[1] + (n.S - 1) * n.dilation[1] + 1 - left - r
            shapes[n.name] = (n.K, p, q)
        elif n.op == "pad":
            c, h, w = ins[0]
            (t, b), (left, r) = as_pads(n.padding)
            shapes[n.name] = (c, h + t + b, w + left + r)
        elif n.op == "add":
            if len({s for s in ins}) != 1:
                raise ValueError(f"{graph.name}: {n.name} adds shapes {ins}")
            shapes[n.name] = ins[0]
        elif n.op == "concat":
            if len({s[1:] for s in ins}) != 1:
                raise ValueError(f"{graph.name}: {n.name} concatenates shapes {ins}")
            shapes[n.name] = (sum(s[0] for s in ins), *ins[0][1:])
        elif n.op == "split":
            shapes[n.name] = (n.channels, *ins[0][1:])
        elif n.op == "identity":
            shapes[n.name] = ins[0]
        elif n.op == "global_pool":
            shapes[n.name] = (ins[0][0], 1, 1)
        else:  # pragma: no cover - Op is closed
            raise ValueError(f"unknown op {n.op}")
    return shapes


def fold_pooling(graph: Graph) -> Graph:
    """The ``opt`` variant (§6.1.1): fold each strided pooling into the convolution feeding it."""
    nodes = {n.name: n for n in graph.nodes}
    consumers = graph.consumers()
    rename: dict[str, str] = {}
    dropped: set[str] = set()
    for pool in graph.nodes:
        if pool.op != "pool" or max(pool.stride) == 1:
            continue
        chain: list[str] = []
        cur = pool.inputs[0]
        while nodes[cur].op in ("identity", "pad") and len(consumers[cur]) == 1:
            chain.append(cur)
            cur = nodes[cur].inputs[0]
        conv = nodes[cur]
        if conv.op not in ("conv", "sepconv") or len(consumers[cur]) != 1:
            continue
        stride = (conv.stride[0] * pool.stride[0], conv.stride[1] * pool.stride[1])
        nodes[cur] = dataclasses.replace(conv, stride=stride)
        # Padding nodes between the convolution and the pooling served the pooling only.
        dropped.update(c for c in chain if nodes[c].op == "pad")
        dropped.add(pool.name)
        rename[pool.name] = pool.inputs[0]
    for name in dropped:
        if nodes[name].op == "pad":
            rename[name] = nodes[name].inputs[0]

    def target(name: str) -> str:
        while name in rename:
            name = rename[name]
        return name

    out = Graph(graph.name)
    for n in graph.nodes:
        if n.name in dropped:
            continue
        node = nodes[n.name]
        out.add(dataclasses.replace(node, inputs=tuple(target(i) for i in node.inputs)))
    return out


def conv_layers(graph: Graph, batch: int) -> list[ConvLayer]:
    """Every convolution of the graph as a :class:`ConvLayer`, in graph order.

    Explicit zero padding that feeds a convolution is folded into the layer's padding; a
    separable convolution yields its depthwise (``<name>_dw``) and pointwise (``<name>_pw``)
    layers.
    """
    shapes = infer_shapes(graph)
    layers: list[ConvLayer] = []
    for n in graph.nodes:
        if n.op not in ("conv", "tconv", "sepconv"):
            continue
        src = graph[n.inputs[0]]
        extra: Pads = ((0, 0), (0, 0))
        if src.op == "pad" and n.op != "tconv":
            extra = as_pads(src.padding)
            src_shape = shapes[src.inputs[0]]
        else:
            src_shape = shapes[src.name]
        c, h, w = src_shape
        hw_padded = (h + extra[0][0] + extra[0][1], w + extra[1][0] + extra[1][1])
        if n.op == "tconv":
            pads = as_pads(n.padding if n.padding != "valid" else 0)
        else:
            own = resolve_padding(n.padding, hw_padded, n)
            pads = tuple(  # type: ignore[assignment]
                (extra[i][0] + own[i][0], extra[i][1] + own[i][1]) for i in range(2)
            )
        common = dict(N=batch, C=c, H=h, W=w, R=n.R, S=n.S, dilation=n.dilation, padding=pads)
        if n.op == "sepconv":
            layers.append(ConvLayer(K=c, stride=n.stride, groups=c, name=f"{n.name}_dw", **common))
            p, q = layers[-1].P, layers[-1].Q
            layers.append(ConvLayer(N=batch, C=c, H=p, W=q, K=n.K, R=1, S=1, name=f"{n.name}_pw"))
        elif n.depthwise:
            layers.append(ConvLayer(K=c * n.K, stride=n.stride, groups=c, name=n.name, **common))
        else:
            kind = "tconv" if n.op == "tconv" else "conv"
            layers.append(
                ConvLayer(K=n.K, stride=n.stride, groups=n.groups, kind=kind, name=n.name, **common)
            )
        out = shapes[n.name]
        if out[0] != layers[-1].K or out[1:] != (layers[-1].P, layers[-1].Q):
            raise AssertionError(f"{graph.name}: {n.name} shape {out} vs {layers[-1]}")
    return layers


class Builder:
    """Write a graph imperatively; each method returns the new node's name."""

    def __init__(self, name: str, shape: Shape) -> None:
        self.graph = Graph(name)
        self._count: dict[str, int] = {}
        self.input = self.graph.add(Node("input", "input", shape=shape))

    def _name(self, name: str | None, op: str) -> str:
        if name:
            return name
        i = self._count.get(op, 0)
        self._count[op] = i + 1
        return f"{op}_{i}"

    def conv(self, x: str, K: int, R: int, S: int | None = None, *, stride: int | tuple = 1,
             padding: str | Pads | int = "valid", dilation: int | tuple = 1, groups: int = 1,
             name: str | None = None) -> str:  # fmt: skip
        """A direct convolution."""
        return self._windowed("conv", x, K, R, S, stride, padding, dilation, name, groups=groups)

    def dwconv(self, x: str, R: int, S: int | None = None, *, stride: int | tuple = 1,
               padding: str | Pads | int = "valid", multiplier: int = 1,
               name: str | None = None) -> str:  # fmt: skip
        """A depthwise ``R x S`` convolution (square unless ``S`` is given).

        One group per channel, ``multiplier`` filters each.
        """
        return self._windowed("conv", x, multiplier, R, R if S is None else S, stride, padding,
                              1, name, depthwise=True)  # fmt: skip

    def sepconv(self, x: str, K: int, R: int, *, stride: int | tuple = 1,
                padding: str | Pads | int = "same", name: str | None = None) -> str:  # fmt: skip
        """A separable convolution: depthwise ``R x R`` (strided) then pointwise to ``K``."""
        return self._windowed("sepconv", x, K, R, R, stride, padding, 1, name)

    def tconv(self, x: str, K: int, R: int, *, stride: int = 1, padding: int | Pads = 0,
              name: str | None = None) -> str:  # fmt: skip
        """A transposed convolution (PyTorch ``ConvTranspose2d`` semantics, ``padding`` crops)."""
        return self._windowed("tconv", x, K, R, R, stride, as_pads(padding), 1, name)

    def _windowed(self, op: Op, x: str, K: int, R: int, S: int | None, stride: int | tuple,
                  padding: str | Pads | int, dilation: int | tuple, name: str | None,
                  **extra: object) -> str:  # fmt: skip
        pad = padding if isinstance(padding, str) else as_pads(padding)
        node = Node(
            self._name(name, op), op, (x,), K=K, R=R, S=R if S is None else S,
            stride=as_pair(stride), padding=pad, dilation=as_pair(dilation), **extra,  # type: ignore[arg-type]
        )  # fmt: skip
        return self.graph.add(node)

    def pad(self, x: str, padding: int | Pads, name: str | None = None) -> str:
        """Explicit zero padding."""
        return self.graph.add(Node(self._name(name, "pad"), "pad", (x,), padding=as_pads(padding)))

    def pool(self, x: str, k: int, stride: int, padding: str | int = "valid",
             name: str | None = None) -> str:  # fmt: skip
        """Max or average pooling (shape only)."""
        pad = padding if isinstance(padding, str) else as_pads(padding)
        node = Node(self._name(name, "pool"), "pool", (x,), R=k, S=k, stride=(stride, stride),
                    padding=pad)  # fmt: skip
        return self.graph.add(node)

    def add(self, *xs: str, name: str | None = None) -> str:
        """Element-wise sum."""
        return self.graph.add(Node(self._name(name, "add"), "add", tuple(xs)))

    def concat(self, *xs: str, name: str | None = None) -> str:
        """Channel concatenation."""
        return self.graph.add(Node(self._name(name, "concat"), "concat", tuple(xs)))

    def split(self, x: str, channels: int, name: str | None = None) -> str:
        """Keep ``channels`` channels (a channel split)."""
        return self.graph.add(Node(self._name(name, "split"), "split", (x,), channels=channels))

    def global_pool(self, x: str, name: str | None = None) -> str:
        """Global average pooling to ``1 x 1``."""
        return self.graph.add(Node(self._name(name, "global_pool"), "global_pool", (x,)))

    def identity(self, x: str, name: str | None = None) -> str:
        """A shape-preserving operation (activation, normalisation, shuffle)."""
        return self.graph.add(Node(self._name(name, "identity"), "identity", (x,)))

    def shape(self, x: str) -> Shape:
        """Current shape of a node."""
        return infer_shapes(self.graph)[x]
