"""INGOT_L2_PREFETCH=<MiB>: a side branch fetches the next layers' weights into L2
(runtime/cuda/l2_prefetch.h). It is a hint: the outputs must be bit for bit those of the same
engine without it, on the first (layer by layer) call, the call that captures the CUDA graph
and its replays on new data; windows smaller than a layer's weights skip that layer."""

import pytest
import torch

import ingot
from conftest import rel_l2

pytestmark = pytest.mark.gpu


class Tower(torch.nn.Module):
    """An embedding (a gathered table, never fetched whole) and eight 1024-wide linears (2 MiB of
    fp16 weights each), with LayerNorms between them."""

    def __init__(self, d=1024, depth=8):
        super().__init__()
        self.emb = torch.nn.Embedding(4096, d)
        self.fcs = torch.nn.ModuleList(torch.nn.Linear(d, d) for _ in range(depth))
        self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(d) for _ in range(depth))

    def forward(self, ids, x):
        h = x + self.emb(ids)
        for fc, norm in zip(self.fcs, self.norms):
            h = norm(h + torch.relu(fc(h)))
        return h


def _run(model, inputs, cache):
    compiled = ingot.compile(model, inputs=inputs, enabled_precisions={torch.float16}, device="cuda",
                             min_block_size=1, require_full_compilation=True, timing_cache=cache)
    outs = []
    with torch.inference_mode():
        for k in range(4):  # layer by layer, capture, replays on new data
            ids, x = inputs
            outs.append(compiled((ids + k) % 4096, x * (1 + k)).clone())
    torch.cuda.synchronize()
    return outs


@pytest.mark.parametrize("window", ["1", "3", "64"])
def test_prefetch_changes_no_output_bit(window, monkeypatch, tmp_path):
    torch.manual_seed(0)
    model = Tower().eval()
    ids, x = torch.randint(0, 4096, (2, 64)), torch.randn(2, 64, 1024)
    with torch.inference_mode():
        expected = model(ids, x)
    model = model.cuda().half()
    inputs = [ids.cuda(), x.cuda().half()]
    cache = str(tmp_path / "t.tc")
    monkeypatch.delenv("INGOT_L2_PREFETCH", raising=False)
    plain = _run(model, inputs, cache)  # times the tactics; the second build reads them
    monkeypatch.setenv("INGOT_L2_PREFETCH", window)
    fetched = _run(model, inputs, cache)
    assert rel_l2(plain[0].float().cpu(), expected) < 1e-2
    for k, (a, b) in enumerate(zip(plain, fetched)):
        assert torch.equal(a, b), f"call {k}: prefetch window {window} MiB changed the output"
    assert not torch.equal(plain[0], plain[1])  # the calls saw different data


@pytest.mark.parametrize("value", ["lots", "-1", "16MiB"])
def test_a_bad_window_is_an_error_naming_the_variable(value, monkeypatch):
    model = Tower(depth=1).eval().cuda().half()
    inputs = [torch.randint(0, 4096, (1, 8)).cuda(), torch.randn(1, 8, 1024).cuda().half()]
    monkeypatch.setenv("INGOT_L2_PREFETCH", value)
    with pytest.raises(Exception, match="INGOT_L2_PREFETCH"):
        compiled = ingot.compile(model, inputs=inputs, enabled_precisions={torch.float16}, device="cuda",
                                 min_block_size=1, require_full_compilation=True)
        with torch.inference_mode():
            compiled(*inputs)
