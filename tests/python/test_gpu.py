"""The CUDA backend against eager PyTorch (skipped without a GPU)."""

import pytest
import torch
import torchvision

import ingot
from conftest import rel_l2
from test_ops import ROWS, Fn

pytestmark = pytest.mark.gpu

# fp32 engines may use TF32 tensor cores (3e-3, shared/DESIGN.md); fp16 engines are compared
# with eager fp32 by relative L2.
TF32_RTOL = 3e-3
FP16_REL_L2 = 1e-2


def cuda(xs):
    return [x.cuda() for x in xs]


def close_tf32(actual, expected):
    if isinstance(expected, (tuple, list)):
        for a, e in zip(actual, expected):
            close_tf32(a, e)
        return
    assert actual.device.type == "cuda" and actual.shape == expected.shape and actual.dtype == expected.dtype
    if not expected.dtype.is_floating_point:
        assert torch.equal(actual.cpu(), expected.cpu())
        return
    scale = expected.abs().float().nan_to_num(0, 0, 0).max().item() if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=TF32_RTOL, atol=TF32_RTOL * max(scale, 1e-3), equal_nan=True)


@pytest.mark.parametrize("name,fn,make", ROWS, ids=[r[0] for r in ROWS])
def test_op_fp32_on_cuda(name, fn, make):
    inputs = cuda(make())
    module = Fn(fn).eval()
    compiled = ingot.compile(module, inputs=inputs, min_block_size=1, require_full_compilation=True, device="cuda")
    with torch.inference_mode():
        expected = module(*inputs)
        for _ in range(3):  # eager first run, then graph capture, then replay
            actual = compiled(*inputs)
    close_tf32(actual, expected)


FP16_ROWS = [r for r in ROWS if r[0] in {
    "relu", "gelu", "silu", "add", "mul", "div", "conv2d", "conv2d_groups", "conv2d_depthwise", "conv_transpose2d",
    "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "mm", "bmm", "matmul_broadcast", "linear", "addmm",
    "batch_norm", "layer_norm", "group_norm", "mean_dim", "softmax", "log_softmax", "permute", "cat", "slice",
    "sdpa", "sdpa_causal", "sdpa_bool_mask", "sdpa_float_mask", "embedding"}]


@pytest.mark.parametrize("name,fn,make", FP16_ROWS, ids=[r[0] for r in FP16_ROWS])
def test_op_fp16_engine_vs_eager_fp32(name, fn, make):
    inputs = cuda(make())
    module = Fn(fn).eval()
    compiled = ingot.compile(module, inputs=inputs, min_block_size=1, require_full_compilation=True, device="cuda",
                             enabled_precisions={torch.float16})
    with torch.inference_mode():
        expected = module(*inputs)
        actual = compiled(*inputs)
        actual = compiled(*inputs)
    if expected.dtype.is_floating_point:
        assert actual.dtype == expected.dtype
        assert rel_l2(actual.float(), expected.float()) <= FP16_REL_L2
    else:
        assert torch.equal(actual.cpu(), expected.cpu())


@pytest.mark.parametrize("model_name,size,precision", [
    ("resnet18", 64, torch.float32), ("resnet50", 128, torch.float16), ("resnet50", 128, torch.float32),
    # ViT's patch embedding runs as a permute and a GEMM (build/patch_convolutions.cpp)
    ("vit_b_16", 224, torch.float16), ("vit_b_16", 224, torch.float32)])
def test_torchvision_models(model_name, size, precision):
    model = getattr(torchvision.models, model_name)(weights=None).eval().cuda()
    x = torch.randn(2, 3, size, size, device="cuda")
    compiled = ingot.compile(model, inputs=[x], device="cuda", enabled_precisions={precision})
    report = ingot.segmentation_report(compiled)
    assert report["num_engines"] == 1
    with torch.inference_mode():
        expected = model(x)
        for _ in range(3):
            actual = compiled(x)
    assert rel_l2(actual, expected) <= (FP16_REL_L2 if precision == torch.float16 else TF32_RTOL)


def test_transformer_encoder_layer_fp16():
    layer = torch.nn.TransformerEncoderLayer(256, 4, 1024, batch_first=True).eval().cuda()
    x = torch.randn(4, 33, 256, device="cuda")
    compiled = ingot.compile(layer, inputs=[x], device="cuda", enabled_precisions={torch.float16},
                             require_full_compilation=True)
    with torch.inference_mode():
        expected = layer(x)
        actual = compiled(x)
        actual = compiled(x)
    assert rel_l2(actual, expected) <= FP16_REL_L2


def test_graph_replay_sees_new_inputs():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(8 * 16 * 16, 10)).eval().cuda()
    x = torch.randn(2, 3, 16, 16, device="cuda")
    compiled = ingot.compile(model, inputs=[x], device="cuda", min_block_size=1)
    with torch.inference_mode():
        for i in range(6):  # run 1 eager, 2 captures, 3+ replay: each must see its own input
            xi = torch.randn(2, 3, 16, 16, device="cuda") * (i + 1)
            close_tf32(compiled(xi), model(xi))


def test_side_stream_and_inference_mode():
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.GELU(), torch.nn.Linear(64, 8)).eval().cuda()
    x = torch.randn(16, 64, device="cuda")
    compiled = ingot.compile(model, inputs=[x], device="cuda", min_block_size=1)
    side = torch.cuda.Stream()
    with torch.inference_mode():
        expected = model(x)
        compiled(x)
        with torch.cuda.stream(side):
            y = compiled(x)
        side.synchronize()
    close_tf32(y, expected)


def test_save_load_cuda_engine(tmp_path):
    model = torchvision.models.resnet18(weights=None).eval().cuda()
    x = torch.randn(1, 3, 64, 64, device="cuda")
    compiled = ingot.compile(model, inputs=[ingot.Input(shape=(1, 3, 64, 64))], device="cuda",
                             enabled_precisions={torch.float16})
    path = tmp_path / "r18.pt2"
    ingot.save(compiled, path)
    again = ingot.load(path)
    with torch.inference_mode():
        a = compiled(x)
        b = again(x)
    assert rel_l2(b, a) <= 1e-6


def test_cuda_engine_refuses_cpu_inputs():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()).eval().cuda()
    compiled = ingot.compile(model, inputs=[torch.randn(2, 4, device="cuda")], device="cuda", min_block_size=1)
    plan = next(b for n, b in compiled.named_buffers() if n.startswith("_ingot_engine_"))
    node = next(n for n in compiled.graph.nodes if n.target == torch.ops.ingot.execute_engine.default)
    with pytest.raises(RuntimeError, match="runs on cuda"):
        torch.ops.ingot.execute_engine([torch.randn(2, 4)], plan, node.args[2])


# ---------------------------------------------------------------- dynamic shapes on CUDA

def test_resnet18_dynamic_batch_on_cuda():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval().cuda()
    spec = ingot.Input(min_shape=(1, 3, 64, 64), opt_shape=(8, 3, 64, 64), max_shape=(64, 3, 64, 64))
    compiled = ingot.compile(model, inputs=[spec], device="cuda", min_block_size=1)
    for batch in (1, 2, 3, 7, 8, 13, 31, 64, 8, 1):  # repeats replay cached CUDA graphs
        x = torch.randn(batch, 3, 64, 64, device="cuda")
        with torch.inference_mode():
            close_tf32(compiled(x), model(x))
    with pytest.raises(ingot.Error, match=r"input 'x' dim 0 is 65, outside the range \[1, 64\]"):
        compiled(torch.randn(65, 3, 64, 64, device="cuda"))


def test_two_profile_engine_on_cuda():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval().cuda()
    profiles = [[ingot.Input(min_shape=(1, 3, 64, 64), opt_shape=(2, 3, 64, 64), max_shape=(4, 3, 64, 64))],
                [ingot.Input(min_shape=(8, 3, 64, 64), opt_shape=(32, 3, 64, 64), max_shape=(64, 3, 64, 64))]]
    compiled = ingot.compile(model, inputs=profiles, device="cuda", min_block_size=1)
    for batch, profile in ((1, 0), (4, 0), (8, 1), (64, 1), (2, 0), (33, 1)):
        x = torch.randn(batch, 3, 64, 64, device="cuda")
        with torch.inference_mode():
            close_tf32(compiled(x), model(x))
        assert ingot.last_profiles(compiled) == [profile], batch
    with pytest.raises(ingot.Error, match=r"input 'x' dim 0 is 6, which no optimization profile covers"):
        compiled(torch.randn(6, 3, 64, 64, device="cuda"))


def test_dynamic_encoder_fp16_on_cuda():
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0,
                                             batch_first=True).eval().cuda()
    specs = [ingot.Input(min_shape=(1, 1, 64), opt_shape=(8, 128, 64), max_shape=(16, 512, 64), dtype=torch.float16)]
    compiled = ingot.compile(layer.half(), inputs=specs, device="cuda", enabled_precisions={torch.float16},
                             min_block_size=1)
    for batch, seq in ((1, 1), (16, 512), (3, 127), (2, 17), (8, 128)):
        x = torch.randn(batch, seq, 64, device="cuda", dtype=torch.float16)
        with torch.inference_mode():
            assert rel_l2(compiled(x).float(), layer(x).float()) < FP16_REL_L2


class _SkipAfterActivation(torch.nn.Module):
    """y = x + relu(conv(x)), then z = y + act(linear(y)): adds after the activation, which no
    epilogue takes as its residual (that one is added before the activation)."""

    def __init__(self, act):
        super().__init__()
        self.conv = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.fc = torch.nn.Linear(8, 8)  # over the last (width) dim
        self.act = act

    def forward(self, x):
        y = x + torch.relu(self.conv(x))
        return y + self.act(self.fc(y))


@pytest.mark.parametrize("act", [torch.relu, torch.nn.functional.gelu], ids=["relu", "gelu"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
def test_adds_after_an_activation_stay_outside_the_epilogue(act, dtype):
    # The CUDA backend runs its epilogue fusion twice; its second run once took such an add as
    # the residual and dropped the activation (x + linear(x)), bench/NOTES.md note 48.
    torch.manual_seed(0)
    model = _SkipAfterActivation(act).eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.inference_mode():
        expected = model(x)
    model = model.cuda().to(dtype)
    compiled = ingot.compile(model, inputs=[x.cuda().to(dtype)], enabled_precisions={dtype}, device="cuda",
                             min_block_size=1, require_full_compilation=True)
    with torch.inference_mode():
        got = compiled(x.cuda().to(dtype)).float().cpu()
    assert rel_l2(got, expected) < (FP16_REL_L2 if dtype == torch.float16 else TF32_RTOL)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=["f32", "f16", "bf16"])
def test_pointwise_chains_run_as_generated_kernels(dtype, monkeypatch):
    # Pointwise fusion (on by default): gelu_new and the mask chain each one layer, one kernel generated
    # for it and compiled with NVRTC (runtime/cuda/pointwise_kernel.cpp); a replay on new data
    # gives the new result.
    from test_gpu_passes import _GeluNewMlp

    monkeypatch.setenv("INGOT_POINTWISE_FUSION", "1")
    torch.manual_seed(0)
    model = _GeluNewMlp().eval()
    x, lengths = torch.randn(2, 8, 32), torch.tensor([8, 5])
    with torch.inference_mode():
        expected, expected_half = model(x, lengths), model(x * 0.5, lengths)
    model = model.cuda().to(dtype)
    xs = x.cuda().to(dtype)
    compiled = ingot.compile(model, inputs=[xs, lengths.cuda()], enabled_precisions={dtype}, device="cuda",
                             min_block_size=1, require_full_compilation=True)
    with torch.inference_mode():
        got = compiled(xs, lengths.cuda()).float().cpu()
        again = compiled(xs * 0.5, lengths.cuda()).float().cpu()
    tol = {torch.float32: TF32_RTOL, torch.float16: FP16_REL_L2, torch.bfloat16: 3e-2}[dtype]
    assert rel_l2(got, expected) < tol
    assert rel_l2(again, expected_half) < tol
    kinds = [l["kind"] for e in ingot.inspect(compiled)["engines"] for l in e["layers"]]
    assert kinds.count("pointwise") == 2, kinds


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
def test_large_squeeze_excite_runs_as_gated_weights_and_a_batched_matmul(dtype):
    # build::squeeze_excite_into_projections on the GPU: the gates only (squeeze_excite without
    # scale_input), the per-sample weights (a broadcast multiply), the projection as a batched
    # cuBLASLt product with bias and residual; a replay on new data gives the new result.
    from test_gpu_passes import _SqueezeExcite

    torch.manual_seed(0)
    model = _SqueezeExcite().eval()
    x = torch.randn(9, 16, 64, 64)
    with torch.inference_mode():
        expected, expected_half = model(x), model(x * 0.5)
    model = model.cuda().to(dtype)
    xs = x.cuda().to(dtype)
    compiled = ingot.compile(model, inputs=[xs], enabled_precisions={dtype}, device="cuda", min_block_size=1,
                             require_full_compilation=True)
    with torch.inference_mode():
        got = compiled(xs).float().cpu()
        again = compiled(xs * 0.5).float().cpu()
    tol = {torch.float16: FP16_REL_L2, torch.bfloat16: 3e-2}[dtype]
    assert rel_l2(got, expected) < tol
    assert rel_l2(again, expected_half) < tol
    kinds = [l["kind"] for e in ingot.inspect(compiled)["engines"] for l in e["layers"]]
    assert kinds.count("squeeze_excite") == 1 and kinds.count("matmul") == 1, kinds
