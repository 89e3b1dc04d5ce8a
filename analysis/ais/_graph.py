"""Cut a traced network (torch.fx) at the layer: prefix, head, and the exact linear shortcut."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch.nn import functional

#: Elementwise modules (in eval mode); also allowed between the flatten and the Linear layer
#: (AlexNet has a dropout there).
ELEMENTWISE_MODULES: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Identity,
    nn.Dropout,
)
#: Modules that act on each channel separately (in eval mode), so ablating a channel before
#: them changes that channel only. Their value on an all-zero channel is computed, not assumed.
CHANNELWISE_MODULES: tuple[type[nn.Module], ...] = (
    *ELEMENTWISE_MODULES,
    nn.Dropout2d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.BatchNorm2d,
)
_CHANNELWISE_FUNCTIONS: tuple[Callable[..., Any], ...] = (
    torch.relu,
    functional.relu,
    functional.adaptive_avg_pool2d,
    functional.adaptive_max_pool2d,
)


class _Tracer(fx.Tracer):
    def __init__(self, leaves: set[str]) -> None:
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, module: nn.Module, name: str) -> bool:
        return name in self.leaves or super().is_leaf_module(module, name)


@dataclass
class LinearParts:
    """Head = tail(linear(flatten(stage(A)))): ``linear``/``tail`` None when absent."""

    stage: fx.GraphModule
    linear: nn.Linear | None
    tail: fx.GraphModule | None


@dataclass
class Split:
    """The network cut at the layer node.

    ``prefix(x) -> (A, *externals, readout)``; ``head(A, *externals) -> readout``;
    ``batched[e]`` says whether external ``e`` depends on the input (has a batch axis).
    """

    prefix: fx.GraphModule
    head: fx.GraphModule
    batched: list[bool]
    linear: LinearParts | None


def split(model: nn.Module, layer: str, readout: str) -> Split | None:
    """Trace ``model`` and cut it; None when it cannot be traced (the hook path is used)."""
    try:
        tracer = _Tracer({layer, readout})
        graph = tracer.trace(model)
    except Exception:  # any tracing failure means: use the hook path
        return None
    root = fx.GraphModule(model, graph)
    nodes = list(graph.nodes)
    found = {}
    for role, name in (("layer", layer), ("readout", readout)):
        hits = [n for n in nodes if n.op == "call_module" and n.target == name]
        if len(hits) != 1:
            return None
        found[role] = hits[0]
    layer_node, readout_node = found["layer"], found["readout"]
    after = _descendants(layer_node)
    if readout_node not in after:
        if layer_node in _descendants(readout_node):
            raise ValueError(
                f"The layer {layer!r} comes after the readout {readout!r}: the feature maps "
                "must come before the representation."
            )
        raise ValueError(
            f"The readout {readout!r} does not depend on the layer {layer!r} (a parallel "
            "branch?): ablating its feature maps cannot change the representation."
        )
    needed = _ancestors(readout_node) | {readout_node}
    head_nodes = [n for n in nodes if n in after and n in needed]
    inputs = [p for p in nodes if p.op == "placeholder"]
    externals = []
    for node in head_nodes:
        for arg in node.all_input_nodes:
            outside = arg is not layer_node and arg not in after and arg.op != "get_attr"
            if outside and arg not in externals:
                externals.append(arg)
    depends = {n for p in inputs for n in _descendants(p)} | set(inputs)
    prefix = _subgraph(root, outputs=[layer_node, *externals, readout_node], body=nodes)
    head = _subgraph(root, outputs=[readout_node], body=head_nodes, inputs=[layer_node, *externals])
    linear = None if externals else _linear_parts(root, layer_node, readout_node, head_nodes)
    return Split(prefix, head, [e in depends for e in externals], linear)


def _descendants(node: fx.Node) -> set[fx.Node]:
    seen: set[fx.Node] = set()
    stack = list(node.users)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(current.users)
    return seen


def _ancestors(node: fx.Node) -> set[fx.Node]:
    seen: set[fx.Node] = set()
    stack = list(node.all_input_nodes)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(current.all_input_nodes)
    return seen


def _subgraph(
    root: fx.GraphModule,
    *,
    outputs: list[fx.Node],
    body: list[fx.Node],
    inputs: list[fx.Node] | None = None,
    aliases: dict[fx.Node, fx.Node] | None = None,
) -> fx.GraphModule:
    """A module computing ``outputs`` from ``inputs`` (default: the model's own inputs).

    ``aliases`` maps a node left out to the node whose value stands in for it.
    """
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    if inputs is not None:
        for i, node in enumerate(inputs):
            env[node] = graph.placeholder(f"input_{i}")
    wanted = set(body)
    for node in root.graph.nodes:
        if node in env or node.op == "output":
            continue
        if aliases and node in aliases:
            env[node] = env[aliases[node]]
            continue
        if node.op == "get_attr" or node in wanted or (inputs is None and node.op == "placeholder"):
            env[node] = graph.node_copy(node, lambda n: env[n])
    # Outputs are cloned where they are made: a later in-place module (torchvision's
    # ReLU(inplace=True)) would otherwise change the captured value.
    result = [env[n] for n in outputs]
    if inputs is None:
        result = [_clone_after(graph, value) for value in result]
    graph.output(result[0] if len(result) == 1 and inputs is not None else tuple(result))
    module = fx.GraphModule(root, graph)
    module.graph.eliminate_dead_code()
    module.recompile()
    return module


def _channelwise(root: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return isinstance(root.get_submodule(str(node.target)), CHANNELWISE_MODULES)
    if node.op == "call_function" and node.target in _CHANNELWISE_FUNCTIONS:
        return all(not isinstance(a, fx.Node) for a in node.args[1:])
    return False


def _is_flatten(node: fx.Node) -> bool:
    if node.op == "call_function" and node.target is torch.flatten:
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
        return bool(start == 1 and end == -1)
    if node.op == "call_method" and node.target == "flatten":
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        return bool(start == 1 and len(node.args) <= 2 and "end_dim" not in node.kwargs)
    return False


def _is_flatten_module(root: fx.GraphModule, node: fx.Node) -> bool:
    if node.op != "call_module":
        return False
    module = root.get_submodule(str(node.target))
    return isinstance(module, nn.Flatten) and module.start_dim == 1 and module.end_dim == -1


def _linear_parts(
    root: fx.GraphModule, layer_node: fx.Node, readout_node: fx.Node, head: list[fx.Node]
) -> LinearParts | None:
    """Recognise head = tail(Linear(flatten(channelwise ops(A)))), else None."""
    stage: list[fx.Node] = []
    post: list[fx.Node] = []
    current = layer_node
    linear_node = flatten_node = None
    while current is not readout_node:
        users = [u for u in current.users if u in head]
        if len(users) != 1 or len(current.users) != 1:
            return None
        user = users[0]
        if [a for a in user.all_input_nodes if a.op != "get_attr"] != [current]:
            return None
        if _channelwise(root, user):
            stage.append(user)
        elif _is_flatten(user) or _is_flatten_module(root, user):
            flatten_node = user
            if user is readout_node:
                break
            linear_node = _after_flatten(root, user, head, post)
            if linear_node is None:
                return None
            break
        else:
            return None
        current = user
    last = post[-1] if post else (stage[-1] if stage else layer_node)
    aliases = {flatten_node: stage[-1] if stage else layer_node} if post and flatten_node else None
    stage_module = _subgraph(
        root, outputs=[last], body=stage + post, inputs=[layer_node], aliases=aliases
    )
    if linear_node is None:
        return LinearParts(stage_module, None, None)
    used = {*stage, *post, flatten_node, linear_node}
    tail_nodes = [n for n in head if n not in used]
    covered = {linear_node, *tail_nodes}
    for node in tail_nodes:
        if any(a not in covered and a.op != "get_attr" for a in node.all_input_nodes):
            return None
    linear = root.get_submodule(str(linear_node.target))
    tail = (
        _subgraph(root, outputs=[readout_node], body=tail_nodes, inputs=[linear_node])
        if linear_node is not readout_node
        else None
    )
    return LinearParts(stage_module, linear if isinstance(linear, nn.Linear) else None, tail)


def _after_flatten(
    root: fx.GraphModule, flatten_node: fx.Node, head: list[fx.Node], post: list[fx.Node]
) -> fx.Node | None:
    """The Linear node after the flatten and elementwise modules (appended to ``post``)."""
    current = flatten_node
    while True:
        users = [u for u in current.users if u in head]
        if len(users) != 1 or len(current.users) != 1 or users[0].all_input_nodes != [current]:
            return None
        user = users[0]
        if user.op != "call_module":
            return None
        module = root.get_submodule(str(user.target))
        if isinstance(module, nn.Linear):
            return user
        if not isinstance(module, ELEMENTWISE_MODULES):
            return None
        post.append(user)
        current = user


def _clone_after(graph: fx.Graph, node: fx.Node) -> fx.Node:
    with graph.inserting_after(node):
        return graph.call_method("clone", (node,))
