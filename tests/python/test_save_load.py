"""ingot.save / ingot.load round trips, and bad files give ingot.Error."""

import os

import pytest
import torch
import torchvision

import ingot
from conftest import assert_close, run_compiled


@pytest.fixture(scope="module")
def resnet_pair():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(2, 3, 64, 64)
    compiled = ingot.compile(model, ir="dynamo", inputs=[ingot.Input(shape=(2, 3, 64, 64), dtype=torch.float32)],
                             enabled_precisions={torch.float32}, min_block_size=5)
    return model, compiled, x


def test_save_load_same_outputs(resnet_pair, tmp_path):
    model, compiled, x = resnet_pair
    path = tmp_path / "resnet18.pt2"
    ingot.save(compiled, path)
    again = ingot.load(path)
    with torch.inference_mode():
        assert_close(again(x), compiled(x))
        assert_close(again(x), model(x))
    # The engines are inside the archive: it is about as big as the weights.
    assert os.path.getsize(path) > 40e6


def test_save_load_hybrid_module(tmp_path):
    class Hybrid(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(6, 6)
            self.b = torch.nn.Linear(6, 3)

        def forward(self, x):
            return self.b(torch.special.erfinv(torch.tanh(self.a(x)) * 0.5)).relu(), x.sum()

    x = torch.randn(4, 6)
    compiled, expected, _ = run_compiled(Hybrid(), [x], min_block_size=1)
    path = tmp_path / "hybrid.pt2"
    ingot.save(compiled, path)
    again = ingot.load(path)
    with torch.inference_mode():
        assert_close(list(again(x)), list(expected))


def test_load_missing_file(tmp_path):
    with pytest.raises(ingot.Error, match="no such file"):
        ingot.load(tmp_path / "nope.pt2")


def test_load_not_an_archive(tmp_path):
    p = tmp_path / "junk.pt2"
    p.write_bytes(b"this is not a torch.export archive")
    with pytest.raises(ingot.Error, match="cannot load"):
        ingot.load(p)


def _rewrite_plan_bytes(src, dst, mutate):
    """Copies a .pt2 archive, changing the bytes of each stored engine plan."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            pos = data.find(b"INGOTPLN")
            if pos >= 0:
                data = mutate(data, pos)
            zout.writestr(info, data)


def test_load_corrupt_engine(resnet_pair, tmp_path):
    _, compiled, _ = resnet_pair
    good = tmp_path / "good.pt2"
    ingot.save(compiled, good)

    def flip(data, pos):
        b = bytearray(data)
        b[pos + 200] ^= 0xFF
        return bytes(b)

    bad = tmp_path / "bad.pt2"
    _rewrite_plan_bytes(good, bad, flip)
    with pytest.raises(ingot.Error, match="checksum"):
        ingot.load(bad)

    def wrong_version(data, pos):
        b = bytearray(data)
        b[pos + 8] = 99
        return bytes(b)

    _rewrite_plan_bytes(good, bad, wrong_version)
    with pytest.raises(ingot.Error, match="version"):
        ingot.load(bad)


def test_verify_plan_rejects_truncated_bytes(resnet_pair):
    _, compiled, _ = resnet_pair
    plan = next(b for n, b in compiled.named_buffers() if n.startswith("_ingot_engine_"))
    data = plan.numpy().tobytes()
    assert ingot._C.verify_plan(data)
    for cut in (0, 7, 63, 64, 1000, len(data) - 1):
        with pytest.raises(ingot.Error):
            ingot._C.verify_plan(data[:cut])


def test_compile_result_hands_plans_over_once():
    """A compile result's plans move into torch tensors that own them (no copy); a second read
    of `engines` is an error, not a list of empty plans."""
    from ingot import _build_log, _frontend, _settings
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4)).eval()
    ep = torch.export.export(model, (torch.randn(2, 8),)).run_decompositions()
    graph = _frontend.GraphBuilder(ep).build()
    spec = _settings.make_settings(min_block_size=1).to_spec("engine")
    result = ingot._C.compile(graph, spec, _build_log.Progress(False))
    assert result.engine_count == 1
    plan = result.engines[0]["plan"]
    assert plan.dtype == torch.uint8 and plan.dim() == 1 and plan.numel() > 0
    with pytest.raises(ingot.Error, match="read once"):
        result.engines
    del result
    assert ingot._C.verify_plan(bytes(plan.tolist()))  # the bytes outlive the result
