"""End-to-end models against eager PyTorch in fp32 (relative error within 1e-4)."""

import pytest
import torch
import torchvision

import ingot
from conftest import rel_l2, run_compiled


def check(expected, actual, tol=1e-4):
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    err = rel_l2(actual, expected)
    max_rel = ((actual - expected).abs().max() / expected.abs().max()).item()
    assert err <= tol and max_rel <= tol, f"relative L2 {err:.3g}, max relative {max_rel:.3g}"


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.Linear(64, 64), torch.nn.GELU(), torch.nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


def test_resnet18_single_engine():
    model = torchvision.models.resnet18(weights=None)
    x = torch.randn(2, 3, 224, 224)
    compiled, expected, actual = run_compiled(model, [x], min_block_size=5)
    check(expected, actual)
    report = ingot.segmentation_report(compiled)
    assert report["num_engines"] == 1 and report["ops_in_engines"] == report["num_ops"]


def test_resnet50():
    model = torchvision.models.resnet50(weights=None)
    x = torch.randn(1, 3, 160, 160)
    compiled, expected, actual = run_compiled(model, [x], min_block_size=5, require_full_compilation=True)
    check(expected, actual)


def test_mlp_with_gelu():
    compiled, expected, actual = run_compiled(MLP(), [torch.randn(8, 32)], require_full_compilation=True)
    check(expected, actual)


@pytest.mark.parametrize("norm_first,activation", [(False, "relu"), (True, "gelu")])
def test_transformer_encoder_layer(norm_first, activation):
    layer = torch.nn.TransformerEncoderLayer(64, 4, 128, batch_first=True, norm_first=norm_first, activation=activation)
    x = torch.randn(2, 10, 64)
    compiled, expected, actual = run_compiled(layer, [x], require_full_compilation=True)
    check(expected, actual)


def test_transformer_encoder_layer_with_padding_mask():
    layer = torch.nn.TransformerEncoderLayer(32, 2, 64, batch_first=True).eval()

    class WithMask(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x, mask):
            return self.layer(x, src_key_padding_mask=mask)

    x = torch.randn(2, 6, 32)
    mask = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    compiled, expected, actual = run_compiled(WithMask(), [x, mask])
    check(expected, actual)


def test_model_with_tuple_output_and_bn():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(8)
            self.fc = torch.nn.Linear(8, 4)
            self.bn1d = torch.nn.BatchNorm1d(4)

        def forward(self, x):
            y = torch.relu(self.bn(self.conv(x)))
            pooled = y.mean(dim=(2, 3))
            return self.bn1d(self.fc(pooled)), y

    net = Net()
    for bn in (net.bn, net.bn1d):  # non-trivial statistics, so that folding is really tested
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.5, 0.5)
    compiled, expected, actual = run_compiled(net, [torch.randn(2, 3, 8, 8)], require_full_compilation=True)
    assert isinstance(actual, tuple) and len(actual) == 2
    for e, a in zip(expected, actual):
        check(e, a)
