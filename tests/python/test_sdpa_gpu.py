"""Half-precision attention on the GPU: cuDNN's fused SDPA (and the GEMM + softmax + GEMM
fallback for head dims it does not take) or our own kernel, whichever the build timed faster,
against eager fp32, with every mask kind."""

import collections

import pytest
import torch
import torch.nn.functional as F

import ingot
from conftest import OWN_ATTENTION_TACTICS, rel_l2

pytestmark = pytest.mark.gpu

CHOSEN = collections.Counter()


class Attn(torch.nn.Module):
    def __init__(self, causal=False):
        super().__init__()
        self.causal = causal

    def forward(self, q, k, v, mask=None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=self.causal)


def _case(mask_kind, b=2, h=4, lq=64, s=80, d=64):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(b, h, n, d, generator=g) for n in (lq, s, s))
    mask = None
    if mask_kind == "float_b11s":
        mask = torch.zeros(b, 1, 1, s)
        mask[:, :, :, -7:] = float("-inf")
    elif mask_kind == "bool_b11s":
        mask = torch.ones(b, 1, 1, s, dtype=torch.bool)
        mask[0, :, :, -9:] = False
    elif mask_kind == "bool_b1ls":
        mask = torch.rand(b, 1, lq, s, generator=g) > 0.3
        mask[..., 0] = True  # no fully masked row
    elif mask_kind == "float_1hls":
        mask = torch.randn(1, h, lq, s, generator=g)
    return [q, k, v] + ([mask] if mask is not None else [])


@pytest.mark.parametrize("mask_kind,causal,d", [
    ("none", False, 64), ("none", True, 64), ("float_b11s", False, 64), ("bool_b11s", False, 64),
    ("bool_b1ls", False, 64), ("float_1hls", False, 128), ("bool_b11s", False, 36), ("none", False, 36)])
def test_half_attention_matches_eager(mask_kind, causal, d):
    inputs = _case(mask_kind, d=d)
    module = Attn(causal).eval()
    expected = module(*inputs)
    cuda_inputs = [x.cuda().half() if x.dtype == torch.float32 else x.cuda() for x in inputs]
    compiled = ingot.compile(module, inputs=cuda_inputs, enabled_precisions={torch.float16}, device="cuda",
                             min_block_size=1, require_full_compilation=True)
    got = compiled(*cuda_inputs).float().cpu()
    assert rel_l2(got, expected) < 1e-2
    tactics = [l["tactic"] for e in ingot.inspect(compiled)["engines"] for l in e["layers"] if l["kind"] == "attention"]
    ours = OWN_ATTENTION_TACTICS
    assert tactics and all(t in ("cudnn-sdpa", "gemm-softmax-gemm") + ours for t in tactics), tactics
    # The build timed our kernels against the library path it would take otherwise: the
    # tensor-core one where the head dim is a multiple of 16.
    timed = [t["tactic"] for e in ingot.inspect(compiled)["engines"] for l in e["layers"] if l["kind"] == "attention"
             for t in l["timed"]]
    assert "ingot:attention" in timed, timed
    assert all(t in timed for t in ours[1:]) == (d % 16 == 0), timed
    CHOSEN[(mask_kind, causal, d, tactics[0])] += 1
    print(f"attention {mask_kind} causal={causal} d={d}: {tactics[0]}")
    if d % 8:  # cuDNN needs head dims in multiples of 8
        assert tactics[0] in ("gemm-softmax-gemm", "ingot:attention") and "cudnn-sdpa" not in timed, (tactics, timed)
