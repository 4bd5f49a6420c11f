"""INGOT_CPU_GPU_PASSES=1: CPU builds go through the CUDA backend's graph passes (fusion into
epilogues, precision, attention layouts and masks, channels-last, squeeze-excite; build/gpu_passes.h)
and the CPU reference runs the result, so that the passes' rewrites are checked against eager
PyTorch without a GPU. Each case also checks that the passes did rewrite the model."""

import collections

import pytest
import torch
import torch.nn.functional as F

import ingot
from conftest import rel_l2
from test_gpu import _SkipAfterActivation


@pytest.fixture
def gpu_passes(monkeypatch):
    monkeypatch.setenv("INGOT_CPU_GPU_PASSES", "1")


def _compile(model, inputs, dtype):
    return ingot.compile(model.to(dtype), inputs=[x.to(dtype) if x.is_floating_point() else x for x in inputs],
                         enabled_precisions={dtype}, device="cpu", min_block_size=1, require_full_compilation=True)


def _layers(compiled):
    return [l for e in ingot.inspect(compiled)["engines"] for l in e["layers"]]


@pytest.mark.parametrize("act", [torch.relu, F.gelu], ids=["relu", "gelu"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
def test_adds_after_an_activation(act, dtype, gpu_passes):
    # Before note 48's fix the second epilogue pass made this x + conv(x) (rel-L2 0.59).
    torch.manual_seed(0)
    model = _SkipAfterActivation(act).eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.inference_mode():
        expected = model(x)
    compiled = _compile(model, [x], dtype)
    with torch.inference_mode():
        got = compiled(x.to(dtype)).float()
    assert rel_l2(got, expected) < (1e-2 if dtype == torch.float16 else 1e-5)
    fused = {l["kind"]: l["params"].get("activation") for l in _layers(compiled) if l["kind"] in ("convolution", "matmul")}
    assert fused["convolution"] == "relu", fused
    assert fused["matmul"] in ("relu", "gelu_erf", "gelu_tanh"), fused


class _Encoder(torch.nn.Module):
    """Multi-head self-attention with a padding mask and a GELU feed-forward, post-norm."""

    def __init__(self, d=64, heads=4):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)
        self.n1, self.n2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)

    def forward(self, x, keep):
        b, s, d = x.shape
        split = lambda t: t.view(b, s, self.heads, d // self.heads).transpose(1, 2)
        mask = keep[:, None, None, :]  # bool [B, 1, 1, S]
        a = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=mask)
        x = self.n1(x + self.o(a.transpose(1, 2).reshape(b, s, d)))
        return self.n2(x + self.fc2(F.gelu(self.fc1(x))))


def _encoder_case(padded_row):
    """_Encoder with random weights, x [2, 16, 64] and a mask keeping 11 keys of `padded_row`;
    eager fp32's output."""
    torch.manual_seed(0)
    model = _Encoder().eval()
    x = torch.randn(2, 16, 64)
    keep = torch.ones(2, 16, dtype=torch.bool)
    keep[padded_row, 11:] = False
    with torch.inference_mode():
        expected = model(x, keep)
    return model, x, keep, expected


def test_attention_layouts_and_masks_in_half_precision(gpu_passes):
    model, x, keep, expected = _encoder_case(1)
    compiled = _compile(model, [x, keep], torch.float16)
    with torch.inference_mode():
        got = compiled(x.half(), keep).float()
    assert rel_l2(got, expected) < 1e-2
    kinds = collections.Counter(l["kind"] for l in _layers(compiled))
    # q / k / v merged into one matmul read through strides, the mask one select, no permutes
    assert kinds["attention"] == 1 and kinds["select"] == 1 and kinds["matmul"] == 4 and kinds["permute"] == 0, kinds


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=["f32", "f16", "bf16"])
def test_feed_forward_becomes_one_layer_when_asked(dtype, gpu_passes, monkeypatch):
    # INGOT_FFN_FUSION=1 (opt-in until a GPU measures the fused kernel, bench/NOTES.md note 71):
    # FC1 + GELU, FC2 + bias + residual and the LayerNorm become one feed_forward layer, and the
    # attention output with its residual and LayerNorm another, which the CPU reference computes;
    # unset, the matmuls and the two LayerNorms stay.
    model, x, keep, expected = _encoder_case(0)
    tol = {torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 3e-2}[dtype]
    kinds = {}
    for env in ("1", None):
        if env:
            monkeypatch.setenv("INGOT_FFN_FUSION", env)
        else:
            monkeypatch.delenv("INGOT_FFN_FUSION", raising=False)
        compiled = _compile(model, [x, keep], dtype)
        with torch.inference_mode():
            got = compiled(x.to(dtype), keep).float()
        assert rel_l2(got, expected) < tol, env
        kinds[env] = collections.Counter(l["kind"] for l in _layers(compiled))
    # FC1 / FC2 / n2 as one layer, the attention output / n1 as another (without w1).
    on, off = kinds["1"], kinds[None]
    assert on["feed_forward"] == 2 and on["normalization"] == 0 and on["matmul"] == off["matmul"] - 3, kinds
    assert off["feed_forward"] == 0 and off["normalization"] == 2, kinds


class _SqueezeExcite(torch.nn.Module):
    """An MBConv-like block: 1x1 expand + BN + SiLU, the squeeze-excite gate, 1x1 project + BN, residual."""

    def __init__(self, c=16, e=64, r=8):
        super().__init__()
        self.expand, self.bn1 = torch.nn.Conv2d(c, e, 1, bias=False), torch.nn.BatchNorm2d(e)
        self.se1, self.se2 = torch.nn.Conv2d(e, r, 1), torch.nn.Conv2d(r, e, 1)
        self.project, self.bn2 = torch.nn.Conv2d(e, c, 1, bias=False), torch.nn.BatchNorm2d(c)
        for bn in (self.bn1, self.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        h = F.silu(self.bn1(self.expand(x)))
        g = torch.sigmoid(self.se2(F.silu(self.se1(h.mean((2, 3), keepdim=True)))))
        return x + self.bn2(self.project(h * g))


def test_channels_last_and_squeeze_excite_in_half_precision(gpu_passes):
    torch.manual_seed(0)
    model = _SqueezeExcite().eval()
    x = torch.randn(2, 16, 12, 12)
    with torch.inference_mode():
        expected = model(x)
    compiled = _compile(model, [x], torch.float16)
    with torch.inference_mode():
        got = compiled(x.half()).float()
    assert rel_l2(got, expected) < 1e-2
    layers = _layers(compiled)
    kinds = collections.Counter(l["kind"] for l in layers)
    assert kinds["squeeze_excite"] == 1, kinds
    assert all(l["layout"] == "channels_last" for l in layers if l["kind"] == "convolution"), layers


def test_large_squeeze_excite_gates_scale_the_projection_weights(gpu_passes, monkeypatch):
    # 9 x 64 x 64 x 64 scaled activations in f16 (9.4 MB saved, above the 8 MiB floor): the gates
    # go into per-sample weights of the projection, a batched matmul with the bias and residual.
    torch.manual_seed(0)
    model = _SqueezeExcite().eval()
    x = torch.randn(9, 16, 64, 64)
    with torch.inference_mode():
        expected = model(x)
    for env, matmuls in (("1", 1), ("0", 0)):
        monkeypatch.setenv("INGOT_SE_WEIGHTS", env)
        compiled = _compile(model, [x], torch.float16)
        with torch.inference_mode():
            got = compiled(x.half()).float()
        assert rel_l2(got, expected) < 1e-2
        kinds = collections.Counter(l["kind"] for l in _layers(compiled))
        assert kinds["squeeze_excite"] == 1 and kinds["matmul"] == matmuls and kinds["convolution"] == 2 - matmuls, kinds


class _DepthwiseSqueezeExcite(torch.nn.Module):
    """A depthwise 3x3 convolution + BN + SiLU, then the squeeze-excite gate that pools it and
    multiplies it (EfficientNet's middle of an MBConv block)."""

    def __init__(self, e=32, r=8):
        super().__init__()
        self.dw, self.bn = torch.nn.Conv2d(e, e, 3, padding=1, groups=e, bias=False), torch.nn.BatchNorm2d(e)
        self.se1, self.se2 = torch.nn.Conv2d(e, r, 1), torch.nn.Conv2d(r, e, 1)
        self.bn.running_mean.uniform_(-0.5, 0.5)
        self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        h = F.silu(self.bn(self.dw(x)))
        return h * torch.sigmoid(self.se2(F.silu(self.se1(h.mean((2, 3), keepdim=True)))))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
def test_depthwise_convolution_writes_the_gates_channel_sums(dtype, gpu_passes, monkeypatch):
    # build::squeeze_excite_sums: the depthwise convolution gets channel_sums (a second output,
    # f64 [N, C]) and the gate pools it as a sixth input; INGOT_SE_SUMS=0 and =gates (this gate
    # multiplies x) leave them apart. (Half precision: the layout pass runs those NHWC, which
    # the gate needs.)
    torch.manual_seed(0)
    model = _DepthwiseSqueezeExcite().eval()
    x = torch.randn(3, 32, 10, 9)
    with torch.inference_mode():
        expected = model(x)
    for env, sums in (("1", True), ("0", False), ("gates", False)):
        monkeypatch.setenv("INGOT_SE_SUMS", env)
        compiled = _compile(model, [x], dtype)
        with torch.inference_mode():
            got = compiled(x.to(dtype)).float()
        assert rel_l2(got, expected) < (1e-2 if dtype == torch.float16 else 3e-2)
        layers = _layers(compiled)
        convs = [l for l in layers if l["kind"] == "convolution"]
        gates = [l for l in layers if l["kind"] == "squeeze_excite"]
        assert len(convs) == 1 and len(gates) == 1, [l["kind"] for l in layers]
        assert convs[0]["params"]["channel_sums"] is sums, convs[0]["params"]
        assert len(convs[0]["outputs"]) == (2 if sums else 1) and len(gates[0]["inputs"]) == (6 if sums else 5)
        if sums:
            assert convs[0]["outputs"][1]["dtype"] == "float64" and convs[0]["outputs"][1]["shape"] == [3, 32]


class _PatchEmbed(torch.nn.Module):
    """ViT's patch embedding: a strided convolution flattened and transposed into tokens, a class
    token in front, position embeddings added, then a layer norm; `also_nchw` also returns the
    convolution's NCHW output (so the NCHW permute has a second reader)."""

    def __init__(self, d=32, also_nchw=False):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, d, 4, stride=4)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, d))
        self.pos = torch.nn.Parameter(torch.randn(1, 17, d))
        self.norm = torch.nn.LayerNorm(d)
        self.also_nchw = also_nchw

    def forward(self, x):
        y = self.conv(x)
        t = y.flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1) + self.pos
        out = self.norm(t)
        return (out, y * 2) if self.also_nchw else out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
@pytest.mark.parametrize("also_nchw", [False, True], ids=["tokens", "tokens-and-nchw"])
def test_patch_embedding_is_a_permute_and_a_matmul(also_nchw, dtype, gpu_passes):
    torch.manual_seed(0)
    model = _PatchEmbed(also_nchw=also_nchw).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.inference_mode():
        expected = model(x)
    compiled = _compile(model, [x], dtype)
    with torch.inference_mode():
        got = compiled(x.to(dtype))
    tol = 1e-2 if dtype == torch.float16 else 1e-5
    if also_nchw:
        for g, e in zip(got, expected):
            assert rel_l2(g.float(), e) < tol
    else:
        assert rel_l2(got.float(), expected) < tol
    layers = _layers(compiled)
    kinds = collections.Counter(l["kind"] for l in layers)
    assert kinds["convolution"] == 0 and kinds["matmul"] == 1, kinds
    permutes = [l["params"]["perm"] for l in layers if l["kind"] == "permute"]
    # The patches are one permute of the input; the GEMM's [N * HW, C] output is the tokens
    # themselves (NHWC -> NCHW -> [N, C, HW] -> [N, HW, C] folds away). The NCHW output, where
    # it is asked for, keeps its permute.
    assert permutes == [[0, 2, 4, 1, 3, 5]] + ([[0, 3, 1, 2]] if also_nchw else []), permutes


class _Stems(torch.nn.Module):
    """Convolutions the patch rewrite leaves alone: overlapping (stride < kernel), padded, and on
    many input channels; and one it takes, with a fused ReLU."""

    def __init__(self):
        super().__init__()
        self.overlap = torch.nn.Conv2d(3, 8, 4, stride=2)
        self.padded = torch.nn.Conv2d(3, 8, 2, stride=2, padding=1)
        self.wide = torch.nn.Conv2d(16, 8, 2, stride=2)
        self.patch = torch.nn.Conv2d(2, 8, (2, 4), stride=(2, 4), bias=False)

    def forward(self, x, y, z):
        return (self.overlap(x).sum((2, 3)) + self.padded(x).mean((2, 3)) + self.wide(y).amax((2, 3)),
                torch.relu(self.patch(z)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
def test_only_patch_convolutions_become_matmuls(dtype, gpu_passes):
    torch.manual_seed(0)
    model = _Stems().eval()
    x, y, z = torch.randn(2, 3, 12, 12), torch.randn(2, 16, 8, 8), torch.randn(3, 2, 6, 12)
    with torch.inference_mode():
        expected = model(x, y, z)
    compiled = _compile(model, [x, y, z], dtype)
    with torch.inference_mode():
        got = compiled(x.to(dtype), y.to(dtype), z.to(dtype))
    for g, e in zip(got, expected):
        assert rel_l2(g.float(), e) < (1e-2 if dtype == torch.float16 else 1e-5)
    layers = _layers(compiled)
    kinds = collections.Counter(l["kind"] for l in layers)
    assert kinds["convolution"] == 3 and kinds["matmul"] == 1, kinds
    assert [l["params"]["activation"] for l in layers if l["kind"] == "matmul"] == ["relu"], layers


class _GeluNewMlp(torch.nn.Module):
    """GPT-2's MLP with its gelu_new written out (mul, pow, add, tanh: eight elementwise ops),
    and a bool padding chain (comparisons, &, ~) selecting the output or zeros."""

    def __init__(self, d=32):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)

    def forward(self, x, lengths):
        h = self.fc1(x)
        h = 0.5 * h * (1.0 + torch.tanh(0.7978845608028654 * (h + 0.044715 * torch.pow(h, 3.0))))
        y = self.fc2(h)
        pos = torch.arange(x.shape[1], device=x.device)[None, :, None]
        keep = (pos < lengths[:, None, None]) & ~(pos > 100)
        return torch.where(keep, y, torch.zeros_like(y))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
def test_pointwise_chains_become_one_layer(dtype, gpu_passes, monkeypatch):
    monkeypatch.setenv("INGOT_POINTWISE_FUSION", "1")
    torch.manual_seed(0)
    model = _GeluNewMlp().eval()
    x, lengths = torch.randn(2, 8, 32), torch.tensor([8, 5])
    with torch.inference_mode():
        expected = model(x, lengths)
    compiled = _compile(model, [x, lengths], dtype)
    with torch.inference_mode():
        got = compiled(x.to(dtype), lengths).float()
    assert rel_l2(got, expected) < (1e-2 if dtype == torch.float16 else 1e-5)
    kinds = collections.Counter(l["kind"] for l in _layers(compiled))
    # gelu_new's ops in one layer (the GEMM keeps its bias), the mask chain and the select in another
    assert kinds["pointwise"] == 2 and kinds["unary"] == 0 and kinds["select"] == 0, kinds


def test_pointwise_fusion_is_on_by_default_and_turns_off(gpu_passes, monkeypatch):
    model = _GeluNewMlp().eval()
    inputs = [torch.randn(2, 8, 32), torch.tensor([8, 5])]
    monkeypatch.delenv("INGOT_POINTWISE_FUSION", raising=False)
    assert "pointwise" in {l["kind"] for l in _layers(_compile(model, inputs, torch.float32))}
    monkeypatch.setenv("INGOT_POINTWISE_FUSION", "0")
    assert "pointwise" not in {l["kind"] for l in _layers(_compile(model, inputs, torch.float32))}


@pytest.mark.parametrize("batch, seq", [(1, 1), (3, 7), (4, 16)])
def test_pointwise_layers_follow_dynamic_shapes(batch, seq, gpu_passes, monkeypatch):
    # The fused layers' shape is the chain's symbolic shape: one engine for every batch and length.
    monkeypatch.setenv("INGOT_POINTWISE_FUSION", "1")
    torch.manual_seed(0)
    model = _GeluNewMlp().eval()
    inputs = [ingot.Input(min_shape=(1, 1, 32), opt_shape=(2, 8, 32), max_shape=(4, 16, 32)),
              ingot.Input(min_shape=(1,), opt_shape=(2,), max_shape=(4,), dtype=torch.int64)]
    compiled = ingot.compile(model, ir="dynamo", inputs=inputs, enabled_precisions={torch.float32}, device="cpu",
                             min_block_size=1)
    assert collections.Counter(l["kind"] for l in _layers(compiled))["pointwise"] == 2
    x, lengths = torch.randn(batch, seq, 32), torch.randint(1, seq + 1, (batch,))
    with torch.inference_mode():
        assert rel_l2(compiled(x, lengths), model(x, lengths)) < 1e-5
