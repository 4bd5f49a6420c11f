"""EfficientNet-style blocks on the CUDA backend: x * sigmoid(x) folds into the convolutions as
SiLU, depthwise convolutions time our kernels ("ingot:depthwise", and "ingot:depthwise-direct<P>"
with 1, 2 and 4 pixels a thread) and 1x1 convolutions cuBLASLt
GEMMs ("lt:...") and, with at most 64 input channels, our pointwise kernel ("ingot:pointwise")
next to cuDNN, and recorded tactics of each kind load again, including where they do not apply
(skipped without a GPU)."""

import json
import os
import subprocess
import sys

import pytest
import torch

import ingot
from conftest import rel_l2

pytestmark = pytest.mark.gpu

FP16_REL_L2 = 1e-2


class MBConv(torch.nn.Module):
    """EfficientNet's inverted bottleneck: 1x1 expand, depthwise kxk, squeeze-excite, 1x1 project,
    residual; SiLU written out as torch.export decomposes it."""

    def __init__(self, c=16, expand=4, k=3):
        super().__init__()
        e = c * expand
        self.expand = torch.nn.Conv2d(c, e, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(e)
        self.dw = torch.nn.Conv2d(e, e, k, padding=k // 2, groups=e, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(e)
        self.se_reduce = torch.nn.Conv2d(e, 8, 1)
        self.se_expand = torch.nn.Conv2d(8, e, 1)
        self.project = torch.nn.Conv2d(e, c, 1, bias=False)
        self.bn3 = torch.nn.BatchNorm2d(c)

    def forward(self, x):
        y = self.bn1(self.expand(x))
        y = y * torch.sigmoid(y)
        y = self.bn2(self.dw(y))
        y = torch.sigmoid(y) * y
        s = y.mean((2, 3), keepdim=True)
        s = self.se_reduce(s)
        s = s * torch.sigmoid(s)
        y = y * torch.sigmoid(self.se_expand(s))
        return self.bn3(self.project(y)) + x


def blocks():
    """Two MBConv blocks between dense 3x3 convolutions (which neither own tactic applies to; the
    last without bias, so that the two get timing-cache entries of their own)."""
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.BatchNorm2d(16), MBConv(16, 4, 3),
                            MBConv(16, 6, 5), torch.nn.Conv2d(16, 16, 3, padding=1, bias=False)).eval()
    for mod in m.modules():  # non-trivial statistics, so that the folded biases matter
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    return m.cuda()


def conv_layers(gm):
    return [l for e in ingot.inspect(gm)["engines"] for l in e["layers"] if l["kind"] == "convolution"]


def is_depthwise(layer):
    return layer["params"]["groups"] > 1 and layer["params"]["groups"] == layer["outputs"][0]["shape"][-1]


def is_pointwise_gemm(layer):
    w = [i for i in layer["inputs"] if i["role"] == "constant"][0]["shape"]
    p = layer["params"]
    return p["groups"] == 1 and w[1:3] == [1, 1] and p["stride"] == [1, 1] and p["padding"] == [0, 0]


def test_mbconv_fp16_silu_fused_and_own_tactics_timed(tmp_path, monkeypatch):
    monkeypatch.setenv("INGOT_CUDA_SQUEEZE_EXCITE", "0")  # the gates' 1x1 convolutions stay convolutions
    m = blocks()
    x = torch.randn(4, 16, 24, 24, device="cuda")
    gm = ingot.compile(m, inputs=[x], device="cuda", enabled_precisions={torch.float16})
    with torch.inference_mode():
        expected = m(x)
        actual = gm(x)
    assert rel_l2(actual.float(), expected.float()) <= FP16_REL_L2

    layers = [l for e in ingot.inspect(gm)["engines"] for l in e["layers"]]
    unary_ops = [l["params"]["op"] for l in layers if l["kind"] == "unary"]
    # The squeeze-excite gates' sigmoids multiply another tensor: they stay. Every other
    # sigmoid was half of a SiLU and went into a convolution.
    assert unary_ops.count("sigmoid") <= 2, unary_ops
    assert "silu" not in unary_ops, unary_ops
    convs = conv_layers(gm)
    assert sum(l["params"]["activation"] == "silu" for l in convs) == 6  # expand, dw, se_reduce, twice
    depthwise = [l for l in convs if is_depthwise(l)]
    pointwise = [l for l in convs if is_pointwise_gemm(l)]
    assert len(depthwise) == 2 and len(pointwise) >= 4
    for l in depthwise:
        timed = [t["tactic"] for t in l["timed"]]
        for tactic in ("ingot:depthwise", "ingot:depthwise-direct1", "ingot:depthwise-direct2", "ingot:depthwise-direct4"):
            assert tactic in timed, l["timed"]
        assert l["tactic"].startswith(("ingot:depthwise", "cudnn:")), l["tactic"]
    for l in pointwise:
        assert any(t["tactic"].startswith("lt:") for t in l["timed"]), l["timed"]
        assert l["tactic"].startswith(("lt:", "cudnn:", "ingot:pointwise")), l["tactic"]
    print("tactics:", {l["name"]: l["tactic"][:16] for l in convs})

    path = tmp_path / "mbconv.pt2"  # the recorded tactics build again on load
    ingot.save(gm, path)
    again = ingot.load(path)
    with torch.inference_mode():
        assert rel_l2(again(x).float(), actual.float()) <= 1e-6


def test_squeeze_excite_gates_fuse_into_one_layer(tmp_path):
    m = blocks()
    x = torch.randn(4, 16, 24, 24, device="cuda")
    gm = ingot.compile(m, inputs=[x], device="cuda", enabled_precisions={torch.float16})
    with torch.inference_mode():
        assert rel_l2(gm(x).float(), m(x).float()) <= FP16_REL_L2
    layers = [l for e in ingot.inspect(gm)["engines"] for l in e["layers"]]
    # Each squeeze-excite (mean, se_reduce + SiLU, se_expand + sigmoid, the multiply) is one layer.
    gates = [l for l in layers if l["kind"] == "squeeze_excite"]
    assert len(gates) == 2, [l["kind"] for l in layers]
    assert all(l["params"]["act1"] == "silu" and l["params"]["act2"] == "sigmoid" for l in gates), gates
    assert all(l["params"]["scale_input"] for l in gates), gates
    assert not [l for l in layers if l["kind"] == "elementwise" and l["params"]["op"] == "mul"], layers
    assert sum(l["params"]["activation"] == "silu" for l in conv_layers(gm)) == 4  # expand, dw, twice
    # The multiply timed three ways (in the gate blocks, a separate kernel, one cooperative launch
    # that also sums x: these shapes fit the device's blocks); the fastest recorded, and the
    # recorded one builds again on load.
    modes = {"ingot:se-in-gate", "ingot:se-separate", "ingot:se-fused"}
    for l in gates:
        assert {t["tactic"] for t in l["timed"]} == modes, l["timed"]
        assert l["tactic"] in modes, l["tactic"]
    path = tmp_path / "se.pt2"
    ingot.save(gm, path)
    again = ingot.load(path)
    with torch.inference_mode():
        assert rel_l2(again(x).float(), gm(x).float()) <= 1e-6


@pytest.mark.parametrize("direct", ["1", "0"], ids=["direct-kernels", "cudnn-and-column-sums"])
def test_depthwise_convolutions_add_the_gates_channel_sums(direct, monkeypatch):
    # build::squeeze_excite_sums on the GPU: each depthwise convolution writes its output's sums
    # over H x W for the gate after it; the direct kernels add them as they store y, every other
    # tactic is followed by the column-sum launch (INGOT_CUDA_DEPTHWISE_DIRECT=0 leaves only
    # those), whose time the build adds to theirs. A replay on new data gives the new result.
    monkeypatch.setenv("INGOT_CUDA_DEPTHWISE_DIRECT", direct)
    monkeypatch.setenv("INGOT_SE_SUMS", "1")  # these gates multiply x: the default leaves them
    m = blocks()
    x = torch.randn(4, 16, 24, 24, device="cuda")
    gm = ingot.compile(m, inputs=[x], device="cuda", enabled_precisions={torch.float16})
    with torch.inference_mode():
        assert rel_l2(gm(x).float(), m(x).float()) <= FP16_REL_L2
        assert rel_l2(gm(x * 0.5 + 1).float(), m(x * 0.5 + 1).float()) <= FP16_REL_L2
    layers = [l for e in ingot.inspect(gm)["engines"] for l in e["layers"]]
    depthwise = [l for l in conv_layers(gm) if is_depthwise(l)]
    gates = [l for l in layers if l["kind"] == "squeeze_excite"]
    assert len(depthwise) == 2 and len(gates) == 2
    for l in depthwise:
        assert l["params"]["channel_sums"] and l["outputs"][1]["dtype"] == "float64", l
        timed = {t["tactic"] for t in l["timed"]}
        assert "channel-sums (added to the others)" in timed, timed
        assert ("ingot:depthwise-direct2" in timed) == (direct == "1"), timed
    assert all(len(g["inputs"]) == 6 for g in gates), gates


_BUILD = r"""
import json, sys, torch, ingot
sys.path.insert(0, {test_dir!r})
from test_conv_tactics_gpu import blocks, conv_layers
m = blocks()
x = torch.randn({batch}, 16, 24, 24, device="cuda")
gm = ingot.compile(m, inputs=[x], enabled_precisions={{torch.float16}}, device="cuda", timing_cache={path!r})
with torch.inference_mode():
    err = ((gm(x).float() - m(x).float()).norm() / m(x).float().norm()).item()
print(json.dumps({{"tactics": {{l["name"]: l["tactic"] for l in conv_layers(gm)}}, "err": err}}))
"""


def _build(path, batch=4):
    code = _BUILD.format(test_dir=os.path.dirname(__file__), path=str(path), batch=batch)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_forced_own_tactics_run_and_misplaced_ones_fall_back_to_cudnn(tmp_path):
    path = tmp_path / "ingot.timing"
    first = _build(path)
    assert first["err"] < FP16_REL_L2
    lines = path.read_text().splitlines()
    entries = [line.split("\t") for line in lines[1:]]
    conv_entries = [e for e in entries if ";convolution(" in e[0]]
    # Every depthwise layer gets our kernel, every 1x1 a cuBLASLt algorithm it timed, and every
    # other convolution one of those two, which does not apply to it.
    # The first 1x1 convolution that timed our pointwise kernel (the channels-last ones with at
    # most 64 input channels) gets it instead of a GEMM.
    # The first depthwise layer gets our direct kernel with 2 pixels a thread, the other the
    # one-wave kernel.
    forced = pointwise = depthwise = 0
    for e in conv_entries:
        timed = [item.rsplit("@", 1)[0] for item in e[2].split("|") if item]
        lt = [t for t in timed if t.startswith("lt:")]
        if "ingot:depthwise" in timed:
            e[1] = "ingot:depthwise-direct2" if depthwise == 0 else "ingot:depthwise"
            depthwise += 1
        elif "ingot:pointwise" in timed and pointwise == 0:
            e[1] = "ingot:pointwise"
            pointwise += 1
        elif lt:
            e[1] = lt[-1]
        else:
            e[1] = "ingot:depthwise" if forced % 2 == 0 else "lt:00"
            forced += 1
    assert forced == 2  # the two dense convolutions: one gets "ingot:depthwise", one a GEMM's
    path.write_text("\n".join([lines[0]] + ["\t".join(e) for e in entries]) + "\n")
    second = _build(path)
    assert second["err"] < FP16_REL_L2, second
    assert "ingot:depthwise" in second["tactics"].values()
    assert "ingot:depthwise-direct2" in second["tactics"].values()
    assert "ingot:pointwise" in second["tactics"].values()
    assert any(t.startswith("lt:") for t in second["tactics"].values())
    # Another batch size (other keys: timed afresh) still builds and agrees.
    assert _build(path, batch=3)["err"] < FP16_REL_L2


_STEM = r"""
import json, sys, torch, ingot
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, stride=2, padding=1), torch.nn.BatchNorm2d(32), torch.nn.SiLU(),
                        torch.nn.Conv2d(32, 16, 1)).eval().cuda()
x = torch.randn(2, 3, 64, 66, device="cuda")
gm = ingot.compile(m, inputs=[x], enabled_precisions={torch.float16}, device="cuda", timing_cache=sys.argv[1],
                    min_block_size=1)  # three ATen nodes: below the default block size
with torch.inference_mode():
    err = ((gm(x).float() - m(x).float()).norm() / m(x).float().norm()).item()
    again = ((gm(x * 0.5).float() - m(x * 0.5).float()).norm() / m(x * 0.5).float().norm()).item()
layers = [l for e in ingot.inspect(gm)["engines"] for l in e["layers"] if l["kind"] == "convolution"]
print(json.dumps({"tactics": [l["tactic"] for l in layers], "err": max(err, again)}))
"""


def test_image_stem_times_and_runs_the_small_input_kernel(tmp_path):
    # An EfficientNet stem (3 -> 32 channels, 3x3 / 2, SiLU fused): with INGOT_CUDA_SMALL_INPUT=1
    # the build times our small-input kernel ("ingot:small-input") next to cuDNN; forced through
    # the timing cache, the engine runs it and matches eager (also on a second input).
    path = tmp_path / "ingot.timing"
    env = dict(os.environ, INGOT_CUDA_SMALL_INPUT="1")

    def build():
        proc = subprocess.run([sys.executable, "-c", _STEM, str(path)], capture_output=True, text=True, timeout=600,
                              env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first = build()
    assert first["err"] < FP16_REL_L2, first
    lines = path.read_text().splitlines()
    entries = [line.split("\t") for line in lines[1:]]
    stems = [e for e in entries if ";convolution(" in e[0] and "ingot:small-input" in e[2]]
    assert len(stems) == 1, [e[:3] for e in entries]
    stems[0][1] = "ingot:small-input"
    path.write_text("\n".join([lines[0]] + ["\t".join(e) for e in entries]) + "\n")
    second = build()
    assert second["err"] < FP16_REL_L2, second
    assert second["tactics"][0] == "ingot:small-input", second
