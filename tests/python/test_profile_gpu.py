"""Profiling and the inspector on the CUDA backend (skipped without a GPU)."""

import pytest
import torch
import torchvision

import ingot

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval().cuda().half()
    x = torch.randn(4, 3, 224, 224, device="cuda", dtype=torch.half)
    gm = ingot.compile(model, inputs=[x], enabled_precisions={torch.float16}, device="cuda", optimization_level=3)
    return model, gm, x


def test_cuda_profile_sum_rule_and_outputs(resnet):
    model, gm, x = resnet
    with torch.inference_mode():
        want = gm(x)
        gm(x)  # the CUDA graph of this shape now exists; profiling must bypass it
        with ingot.profile(gm) as prof:
            got = [gm(x) for _ in range(5)]
        after = gm(x)  # graph replay again
    for y in got + [after]:
        torch.testing.assert_close(y, want, rtol=1e-3, atol=1e-3)
    e = prof.engines[0]
    assert e["backend"] == "cuda" and e["clock"] == "cuda events" and e["calls"] == 5
    layer_sum = sum(layer["total_ms"] for layer in e["layers"])
    assert 0.9 * e["engine_total_ms"] <= layer_sum <= e["engine_total_ms"] * 1.0001
    conv = [layer for layer in e["layers"] if layer["kind"] == "convolution"]
    assert conv and all(layer["total_ms"] > 0 for layer in conv)
    assert any("layer1.0.conv1" in layer["modules"] for layer in conv)


def test_cuda_inspect_shows_timed_alternatives(resnet):
    _, gm, _ = resnet
    e = ingot.inspect(gm)["engines"][0]
    assert e["backend"] == "cuda" and e["memory"]["workspace_bytes"] is None
    tuned = [layer for layer in e["layers"] if layer["kind"] in ("convolution", "matmul") and layer["timed"]]
    assert tuned, "no convolution or matmul recorded its timed tactics"
    for layer in tuned:
        assert all(t["ms"] >= 0 for t in layer["timed"])
        if layer["tactic"]:
            assert layer["tactic"] in {t["tactic"] for t in layer["timed"]}
    assert {layer["precision"] for layer in e["layers"] if layer["kind"] == "convolution"} == {"float16"}


def test_cuda_tune_picks_a_measured_setting():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.GELU(), torch.nn.Linear(256, 64)).eval().cuda()
    x = torch.randn(32, 256, device="cuda")
    result = ingot.tune(model, [x], min_block_sizes=[1, 2], optimization_levels=[0, 3], device="cuda", iters=10)
    assert result.best_settings in [row["settings"] for row in result.table]
    assert all(row["latency_ms"] > 0 and row["ok"] for row in result.table)
