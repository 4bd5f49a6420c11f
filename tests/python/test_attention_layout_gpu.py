"""Attention that reads its operands through strides on the GPU (build::fold_attention_layouts):
transformers-style and torch.nn.MultiheadAttention blocks lose their head split / merge copies,
the q / k / v projections become one GEMM, and the outputs still match eager PyTorch (fp32
reference), on cuDNN's SDPA and on the GEMM fallback, with static and symbolic sequence lengths."""

import copy

import pytest
import torch
import torch.nn.functional as F

import ingot
from conftest import OWN_ATTENTION_TACTICS, rel_l2

pytestmark = pytest.mark.gpu

E, H = 256, 4


class BertStyleAttention(torch.nn.Module):
    """transformers' BertSelfAttention + output projection and residual, with a bool mask."""

    def __init__(self, e=E, h=H):
        super().__init__()
        self.h, self.d = h, e // h
        self.q, self.k, self.v, self.o = (torch.nn.Linear(e, e) for _ in range(4))

    def forward(self, x, mask):
        b, s, e = x.shape
        heads = [p(x).view(b, s, self.h, self.d).transpose(1, 2) for p in (self.q, self.k, self.v)]
        a = F.scaled_dot_product_attention(*heads, attn_mask=mask[:, None, None, :])
        return x + self.o(a.transpose(1, 2).reshape(b, s, e))


class VitStyleBlock(torch.nn.Module):
    """torchvision's ViT encoder block: batch_first nn.MultiheadAttention with a packed in-projection."""

    def __init__(self, e=E, h=H):
        super().__init__()
        self.ln = torch.nn.LayerNorm(e)
        self.attn = torch.nn.MultiheadAttention(e, h, batch_first=True)

    def forward(self, x):
        y = self.ln(x)
        a, _ = self.attn(y, y, y, need_weights=False)
        return x + a


def _layers(compiled):
    return [l for e in ingot.inspect(compiled)["engines"] for l in e["layers"]]


def _kinds(compiled):
    return [l["kind"] for l in _layers(compiled)]


OURS = OWN_ATTENTION_TACTICS


def _attention_tactics(compiled):
    return [l["tactic"] for l in _layers(compiled) if l["kind"] == "attention"]


def _bert_inputs(b=2, s=128):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, s, E, generator=g)
    mask = torch.ones(b, s, dtype=torch.bool)
    mask[0, -17:] = False
    return x, mask


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_bert_style_attention_reads_one_projection(dtype):
    torch.manual_seed(0)
    model = BertStyleAttention().eval()
    x, mask = _bert_inputs()
    expected = model(x, mask)
    cuda = model.cuda().to(dtype)
    inputs = [x.cuda().to(dtype), mask.cuda()]
    compiled = ingot.compile(cuda, inputs=inputs, enabled_precisions={dtype}, device="cuda", min_block_size=1,
                             require_full_compilation=True)
    with torch.inference_mode():
        got = compiled(*inputs).float().cpu()
    assert rel_l2(got, expected) < 1e-2
    kinds = _kinds(compiled)
    assert "permute" not in kinds, kinds
    assert kinds.count("matmul") == 2, kinds  # q/k/v merged, and the output projection
    assert kinds.count("select") == 1, kinds  # the bool mask as one additive bias
    assert _attention_tactics(compiled)[0] in OURS + ("cudnn-sdpa",)  # whichever timed faster


def test_vit_style_block_loses_every_copy():
    torch.manual_seed(0)
    model = VitStyleBlock().eval()
    x = torch.randn(4, 197, E)
    expected = model(x)
    cuda = model.cuda().half()
    xs = x.cuda().half()
    compiled = ingot.compile(cuda, inputs=[xs], enabled_precisions={torch.float16}, device="cuda", min_block_size=1,
                             require_full_compilation=True)
    with torch.inference_mode():
        got = compiled(xs).float().cpu()
    assert rel_l2(got, expected) < 1e-2
    kinds = _kinds(compiled)
    assert "permute" not in kinds and "slice" not in kinds, kinds
    assert _attention_tactics(compiled)[0] in OURS + ("cudnn-sdpa",)


def test_strided_operands_on_the_gemm_fallback(monkeypatch):
    torch.manual_seed(0)
    monkeypatch.setenv("INGOT_CUDA_ATTENTION", "gemm")
    for model, inputs in ((BertStyleAttention().eval(), _bert_inputs(s=40)), (VitStyleBlock().eval(), (torch.randn(2, 33, E),))):
        expected = model(*inputs)
        cuda_inputs = [t.cuda().half() if t.is_floating_point() else t.cuda() for t in inputs]
        compiled = ingot.compile(model.cuda().half(), inputs=cuda_inputs, enabled_precisions={torch.float16},
                                 device="cuda", min_block_size=1, require_full_compilation=True)
        with torch.inference_mode():
            got = compiled(*cuda_inputs).float().cpu()
        assert rel_l2(got, expected) < 1e-2, type(model).__name__
        assert "permute" not in _kinds(compiled)
        assert _attention_tactics(compiled) == ["gemm-softmax-gemm"]


def test_symbolic_sequence_strides():
    torch.manual_seed(0)
    model = BertStyleAttention().eval()
    cuda = copy.deepcopy(model).cuda().half()  # the engine keeps using these weights
    specs = [ingot.Input(min_shape=(1, 8, E), opt_shape=(2, 64, E), max_shape=(4, 256, E), dtype=torch.float16),
             ingot.Input(min_shape=(1, 8), opt_shape=(2, 64), max_shape=(4, 256), dtype=torch.bool)]
    compiled = ingot.compile(cuda, inputs=specs, enabled_precisions={torch.float16}, device="cuda", min_block_size=1)
    assert "permute" not in _kinds(compiled)
    for b, s in ((1, 8), (4, 256), (3, 77), (2, 64)):
        x, mask = _bert_inputs(b, s)
        expected = model(x, mask)
        with torch.inference_mode():
            got = compiled(x.cuda().half(), mask.cuda()).float().cpu()
        assert rel_l2(got, expected) < 1e-2, (b, s)


def test_head_dims_cudnn_refuses_keep_their_copies():
    torch.manual_seed(0)
    model = BertStyleAttention(e=144, h=4).eval()  # head dim 36: not a multiple of 8
    x = torch.randn(2, 16, 144)
    mask = torch.ones(2, 16, dtype=torch.bool)
    expected = model(x, mask)
    inputs = [x.cuda().half(), mask.cuda()]
    compiled = ingot.compile(model.cuda().half(), inputs=inputs, enabled_precisions={torch.float16}, device="cuda",
                             min_block_size=1)
    with torch.inference_mode():
        got = compiled(*inputs).float().cpu()
    assert rel_l2(got, expected) < 1e-2
    assert "permute" in _kinds(compiled)
    assert _attention_tactics(compiled)[0] in OURS + ("gemm-softmax-gemm",)


def test_fp32_engines_are_unchanged():
    torch.manual_seed(0)
    model = BertStyleAttention().eval()
    x, mask = _bert_inputs(s=32)
    expected = model(x, mask)
    inputs = [x.cuda(), mask.cuda()]
    compiled = ingot.compile(model.cuda(), inputs=inputs, device="cuda", min_block_size=1, disable_tf32=True)
    with torch.inference_mode():
        got = compiled(*inputs).cpu()
    assert rel_l2(got, expected) < 1e-4
    assert "permute" in _kinds(compiled)
