"""Guided backprop and deconvnet: every rectification caught, however the network spells it."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
from torch import nn  # noqa: E402
from torch.nn import functional  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from stimuli.attribution import attribute  # noqa: E402
from stimuli.attribution._guided import rectifier_rule  # noqa: E402

D, J1, J2, K = 12, 7, 6, 4


def _ignore_result_inplace(t: torch.Tensor) -> torch.Tensor:
    t.relu_()  # the caller relies on the in-place change, not on the return value
    return t


SPELLINGS = {
    "nn.ReLU": nn.ReLU(),
    "nn.ReLU-inplace": nn.ReLU(inplace=True),
    "F.relu": functional.relu,
    "F.relu-inplace": lambda t: functional.relu(t, inplace=True),
    "F.relu-inplace-positional": lambda t: functional.relu(t, True),
    "F.relu_": functional.relu_,
    "torch.relu": torch.relu,
    "torch.relu_": torch.relu_,
    "Tensor.relu": lambda t: t.relu(),
    "Tensor.relu_": lambda t: t.relu_(),
    "Tensor.relu_-result-unused": _ignore_result_inplace,
}


class _MLP(nn.Module):
    """x -> Linear -> relu -> Linear -> relu -> Linear, the ReLU spelt one way."""

    def __init__(self, relu) -> None:
        super().__init__()
        torch.manual_seed(11)
        self.l1, self.l2, self.l3 = nn.Linear(D, J1), nn.Linear(J1, J2), nn.Linear(J2, K)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l3(self.relu(self.l2(self.relu(self.l1(x.flatten(1))))))


def _by_hand(model: _MLP, x: torch.Tensor, target: list[int], rule: str) -> torch.Tensor:
    """The backward pass written out, with each rule applied at the two rectifications."""
    w1, w2, w3 = (layer.weight.detach() for layer in (model.l1, model.l2, model.l3))
    z1 = x.flatten(1) @ w1.T + model.l1.bias.detach()
    z2 = z1.clamp(min=0) @ w2.T + model.l2.bias.detach()

    def through(grad: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if rule == "gradient":
            return grad * (z > 0)
        if rule == "guided":
            return grad.clamp(min=0) * (z > 0)
        return grad.clamp(min=0)  # deconvnet

    g2 = through(w3[target], z2)
    g1 = through(g2 @ w2, z1)
    return (g1 @ w1).reshape(x.shape)


@pytest.mark.parametrize("spelling", list(SPELLINGS))
@pytest.mark.parametrize(
    ("method", "rule"),
    [("guided_backprop", "guided"), ("deconvnet", "deconvnet"), ("gradient", "gradient")],
)
def test_every_spelling_of_relu_follows_the_rule(spelling, method, rule):
    model = _MLP(SPELLINGS[spelling]).double()
    x = torch.randn(5, 3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    target = [0, 3, 1, 2, 3]
    expected = _by_hand(model, x, target, rule)
    plain = _by_hand(model, x, target, "gradient")
    if rule != "gradient":
        assert not torch.allclose(expected, plain), "the rule must make a difference here"
    kept = x.clone()
    result = attribute(model, x, method=method, target=target)
    torch.testing.assert_close(result, expected)
    assert torch.equal(x, kept)
    assert torch._C._len_torch_function_stack() == 0


def test_inplace_relu_on_the_input_itself():
    torch.manual_seed(0)
    model = nn.Sequential(nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(D, K)).double()
    x = torch.randn(3, D, 1, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    kept = x.clone()
    weight = model[2].weight.detach()[[1, 1, 1]].reshape(x.shape)
    guided = attribute(model, x, method="guided_backprop", target=1)
    torch.testing.assert_close(guided, weight.clamp(min=0) * (kept > 0))
    deconv = attribute(model, x, method="deconvnet", target=1)
    torch.testing.assert_close(deconv, weight.clamp(min=0))
    assert torch.equal(x, kept)


class _Census(TorchDispatchMode):
    """Count the ATen operators a forward pass runs (below every Python-level spelling)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func.overloadpacket).split(".")[-1]
        self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))

    def rectifications(self) -> int:
        return self.counts.get("relu", 0) + self.counts.get("relu_", 0)


def _guided_nodes(output: torch.Tensor) -> list:
    seen, stack, nodes = set(), [output.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if type(node).__name__ == "_GuidedReLUBackward":
            nodes.append(node)
        stack.extend(child for child, _ in node.next_functions)
    return nodes


def _small_densenet() -> nn.Module:
    # torchvision's DenseNet class (its forward ends with F.relu), scaled down for speed.
    return torchvision.models.DenseNet(
        growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=8, bn_size=2
    )


@pytest.mark.parametrize(
    ("build", "functional_relus"),
    [
        pytest.param(lambda: torchvision.models.resnet18(), 0, id="resnet18-shared-inplace-relu"),
        pytest.param(_small_densenet, 1, id="densenet-F.relu"),
    ],
)
def test_every_rectification_of_a_torchvision_network_is_guided(build, functional_relus):
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with _Census() as census, torch.no_grad():
        model(x)
    total = census.rectifications()
    relu_modules = {id(m) for m in model.modules() if isinstance(m, nn.ReLU)}
    module_calls = []
    handles = [
        m.register_forward_hook(lambda *args: module_calls.append(1))
        for m in model.modules()
        if id(m) in relu_modules
    ]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    # The forward-hook census of nn.ReLU modules misses the functional ReLUs.
    assert total == len(module_calls) + functional_relus

    leaf = x.clone().requires_grad_(True)
    with rectifier_rule("guided") as mode, _Census() as guided_census:
        output = model(leaf.clone())
    assert mode.count == total
    assert guided_census.rectifications() == 0  # no ReLU escaped to ATen unguided
    nodes = _guided_nodes(output)
    assert len(nodes) == total
    seen = []

    def check(node):
        def hook(grad_inputs, grad_outputs):
            (out,) = node.saved_tensors
            incoming = grad_outputs[0]
            expected = torch.where(out > 0, incoming.clamp(min=0), torch.zeros_like(incoming))
            seen.append((torch.equal(grad_inputs[0], expected), bool((incoming < 0).any())))

        return hook

    for node in nodes:
        node.register_hook(check(node))
    torch.autograd.grad(output[:, 7].sum(), leaf)
    assert len(seen) == total
    assert all(ok for ok, _ in seen)
    assert sum(negative for _, negative in seen) > total // 2  # the rule had work to do


def test_mode_is_popped_after_an_error_in_the_forward_pass():
    class Failing(nn.Module):
        def forward(self, x):
            functional.relu(x)
            raise RuntimeError("broken on purpose")

    x = torch.randn(2, 3, 4, 4)
    for method in ("guided_backprop", "deconvnet"):
        with pytest.raises(RuntimeError, match="on purpose"):
            attribute(Failing(), x, method=method, target=lambda out: out.sum(dim=1))
        assert torch._C._len_torch_function_stack() == 0
        y = torch.tensor([-1.0, 2.0], requires_grad=True)
        (grad,) = torch.autograd.grad(torch.relu(y).sum() * -1, y)
        assert grad.tolist() == [0.0, -1.0]  # the ordinary ReLU backward again


@pytest.mark.parametrize("activation", [nn.GELU(), nn.ReLU6(), nn.Hardswish()], ids=str)
def test_other_nonlinearities_keep_their_gradient_with_a_warning(activation):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(D, J1), activation, nn.Linear(J1, K)).double()
    x = torch.randn(3, D, 1, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with pytest.warns(UserWarning, match="no ReLU"):
        result = attribute(model, x, method="guided_backprop", target=0)
    torch.testing.assert_close(result, attribute(model, x, method="gradient", target=0))
