"""Tactic timing knobs on the GPU.
- INGOT_GEMM_SEARCH=wide (runtime/gemm_search.h): matmul layers also time split-K / tile / stage
  variants of cuBLASLt's heuristic candidates. Its engine must match eager, on the first call
  and on a replay with new data, and its layers must have timed more cuBLASLt configurations
  than the heuristic build's.
- INGOT_TUNE_REPLAYS=N: candidates are timed as the median of up to N graph replays.
A bad value of either is an error that names the variable."""

import pytest
import torch

import ingot
from conftest import rel_l2
from test_linear_gpu import Mlp  # x + fc2(gelu(fc1(x)))

pytestmark = pytest.mark.gpu


def _build(model, xs, dtype):
    compiled = ingot.compile(model, inputs=[xs], enabled_precisions={dtype}, device="cuda", min_block_size=1,
                             require_full_compilation=True)
    layers = [l for e in ingot.inspect(compiled)["engines"] for l in e["layers"] if l["kind"] == "matmul"]
    return compiled, layers


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_wide_search_times_more_and_matches_eager(dtype, monkeypatch):
    torch.manual_seed(0)
    model = Mlp(768, 3072).eval()  # BERT-base's widths
    x = torch.randn(1, 128, 768)
    expected, expected_half = model(x), model(x * 0.5)  # before .cuda() moves the model's weights
    model = model.cuda().to(dtype)
    xs = x.cuda().to(dtype)
    monkeypatch.setenv("INGOT_GEMM_SEARCH", "heuristic")
    _, narrow = _build(model, xs, dtype)
    monkeypatch.setenv("INGOT_GEMM_SEARCH", "wide")
    compiled, wide = _build(model, xs, dtype)
    with torch.inference_mode():
        got = compiled(xs).float().cpu()
        again = compiled(xs * 0.5).float().cpu()
    assert rel_l2(got, expected) < 1e-2
    assert rel_l2(again, expected_half) < 1e-2
    assert len(wide) == len(narrow) == 2
    for n, w in zip(narrow, wide):
        n_lt = [t for t in n["timed"] if t["tactic"].startswith("lt:")]
        w_lt = [t for t in w["timed"] if t["tactic"].startswith("lt:")]
        assert len(w_lt) > len(n_lt), (w["name"], len(w_lt), len(n_lt))
        assert w["tactic"].startswith("lt:"), w["tactic"]
        best = lambda ts: min(t["ms"] for t in ts) * 1e3
        print(dtype, w["name"], f"heuristic {len(n_lt)} best {best(n_lt):.2f} us, wide {len(w_lt)} best {best(w_lt):.2f} us")


def test_a_bad_search_value_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("INGOT_GEMM_SEARCH", "exhaustive")
    model = Mlp(64, 128).eval().cuda().half()
    xs = torch.randn(1, 16, 64, device="cuda").half()
    with pytest.raises(Exception, match="INGOT_GEMM_SEARCH='exhaustive'"):
        _build(model, xs, torch.float16)


def test_median_of_several_timed_replays_builds_an_engine_that_matches(monkeypatch):
    # INGOT_TUNE_REPLAYS=5: every candidate under ~1 ms is timed as the median of up to 5 replays.
    monkeypatch.setenv("INGOT_TUNE_REPLAYS", "5")
    torch.manual_seed(0)
    model = Mlp(256, 1024).eval()
    x = torch.randn(1, 64, 256)
    expected = model(x)
    xs = x.cuda().half()
    compiled, layers = _build(model.cuda().half(), xs, torch.float16)
    with torch.inference_mode():
        assert rel_l2(compiled(xs).float().cpu(), expected) < 1e-2
    for layer in layers:
        assert layer["timed"] and all(t["ms"] > 0 for t in layer["timed"]), layer["timed"]


@pytest.mark.parametrize("value", ["0", "many", "101"])
def test_a_bad_replay_count_is_an_error_naming_the_variable(value, monkeypatch):
    monkeypatch.setenv("INGOT_TUNE_REPLAYS", value)
    model = Mlp(64, 128).eval().cuda().half()
    xs = torch.randn(1, 16, 64, device="cuda").half()
    with pytest.raises(Exception, match=f"INGOT_TUNE_REPLAYS='{value}'"):
        _build(model, xs, torch.float16)
