"""The feed-forward half of a transformer block as one cooperative kernel on the GPU
(INGOT_FFN_FUSION=1; build/fuse_feed_forward.cpp, kernels/cuda/ffn_fused.cu): FC1 + GELU, FC2 +
bias + residual and the LayerNorm become one feed_forward layer where the rows are few (at most
256), the engine matches eager fp32, and a replayed graph on new data gives the new result.
Unset, the engine keeps the matmuls and the LayerNorm."""

import pytest
import torch
import torch.nn.functional as F

import ingot
from conftest import rel_l2

pytestmark = pytest.mark.gpu


class Ffn(torch.nn.Module):
    """Post-norm: LayerNorm(x + fc2(gelu(fc1(x))))."""

    def __init__(self, d=256, h=1024):
        super().__init__()
        self.fc1, self.fc2, self.norm = torch.nn.Linear(d, h), torch.nn.Linear(h, d), torch.nn.LayerNorm(d)
        torch.nn.init.uniform_(self.norm.weight, 0.5, 1.5)
        torch.nn.init.uniform_(self.norm.bias, -0.5, 0.5)

    def forward(self, x):
        return self.norm(x + self.fc2(F.gelu(self.fc1(x))))


def _kinds(compiled):
    return [l["kind"] for e in ingot.inspect(compiled)["engines"] for l in e["layers"]]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("rows", [100, 197, 300])
def test_feed_forward_matches_eager(dtype, rows, monkeypatch):
    monkeypatch.setenv("INGOT_FFN_FUSION", "1")
    torch.manual_seed(0)
    model = Ffn().eval()
    x = torch.randn(1, rows, 256)
    with torch.inference_mode():
        expected, expected_half = model(x), model(x * 0.5)  # before .cuda() moves the weights
    xs = x.cuda().to(dtype)
    compiled = ingot.compile(model.cuda().to(dtype), inputs=[xs], enabled_precisions={dtype}, device="cuda",
                             min_block_size=1, require_full_compilation=True)
    with torch.inference_mode():
        got = compiled(xs).float().cpu()
        again = compiled(xs * 0.5).float().cpu()
    tol = 1e-2 if dtype == torch.float16 else 3e-2
    assert rel_l2(got, expected) < tol
    assert rel_l2(again, expected_half) < tol
    kinds = _kinds(compiled)
    fused = rows <= 256  # kernels/cuda's feed_forward_fits
    assert kinds.count("feed_forward") == int(fused), kinds
    assert kinds.count("matmul") == (0 if fused else 2), kinds


class LinearNorm(torch.nn.Module):
    """BERT's attention output: LayerNorm(r + linear(a)) (a feed_forward layer without w1)."""

    def __init__(self, k=512, d=256):
        super().__init__()
        self.linear, self.norm = torch.nn.Linear(k, d), torch.nn.LayerNorm(d)

    def forward(self, a, r):
        return self.norm(r + self.linear(a))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_linear_with_residual_and_layer_norm_matches_eager(dtype, monkeypatch):
    monkeypatch.setenv("INGOT_FFN_FUSION", "1")
    torch.manual_seed(0)
    model = LinearNorm().eval()
    a, r = torch.randn(1, 128, 512), torch.randn(1, 128, 256)
    with torch.inference_mode():
        expected = model(a, r)
    inputs = [a.cuda().to(dtype), r.cuda().to(dtype)]
    compiled = ingot.compile(model.cuda().to(dtype), inputs=inputs, enabled_precisions={dtype}, device="cuda",
                             min_block_size=1, require_full_compilation=True)
    with torch.inference_mode():
        got = compiled(*inputs).float().cpu()
    assert rel_l2(got, expected) < (1e-2 if dtype == torch.float16 else 3e-2)
    kinds = _kinds(compiled)
    assert kinds.count("feed_forward") == 1 and "matmul" not in kinds and "normalization" not in kinds, kinds


def test_feed_forward_is_off_by_default(monkeypatch):
    monkeypatch.delenv("INGOT_FFN_FUSION", raising=False)
    model = Ffn().eval().cuda().half()
    xs = torch.randn(1, 64, 256, device="cuda", dtype=torch.half)
    compiled = ingot.compile(model, inputs=[xs], enabled_precisions={torch.half}, device="cuda", min_block_size=1)
    assert "feed_forward" not in _kinds(compiled)
