"""The engine inspector (ingot.inspect, `ingot inspect FILE`), dry runs, and ingot.tune."""

import json
import subprocess

import pytest
import torch

import ingot
from test_engine_file import cli


class ConvBnReluLinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8 * 8 * 8, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


X = torch.randn(2, 3, 8, 8)


def check_known_engine(e):
    kinds = [layer["kind"] for layer in e["layers"]]
    assert "convolution" in kinds and "matmul" in kinds
    assert e["backend"] == "cpu" and e["inputs"][0]["shape"] == [2, 3, 8, 8] and e["inputs"][0]["dtype"] == "float32"
    assert e["memory"]["weights_bytes"] > (8 * 3 * 9 + 8 * 8 * 8 * 5) * 4 - 1
    assert e["memory"]["workspace_bytes"] == 0 and e["memory"]["arena_bytes"] > 0
    conv = [layer for layer in e["layers"] if layer["kind"] == "convolution"][0]
    ops = {o["op"] for o in conv["origins"]}
    assert "aten::convolution" in ops
    assert {o["module"] for o in conv["origins"]} >= {"conv"}
    assert conv["precision"] == "float32" and conv["layout"] == "row-major"
    assert conv["params"]["padding"] == [1, 1] and conv["params"]["groups"] == 1
    assert conv["timed"] == [] and conv["tactic"] == ""  # the CPU backend times nothing
    assert [i["role"] for i in conv["inputs"]][:2] == ["input", "constant"]
    mm = [layer for layer in e["layers"] if layer["kind"] == "matmul"][0]
    assert any(o["module"] == "fc" for o in mm["origins"])
    assert e["layer_kinds"]["convolution"] == 1


def test_inspect_compiled_module():
    gm = ingot.compile(ConvBnReluLinear().eval(), inputs=[X], min_block_size=1)
    info = ingot.inspect(gm)
    assert len(info["engines"]) == 1
    check_known_engine(info["engines"][0])
    json.dumps(info)  # plain JSON data


def test_inspect_engine_file_bytes_and_cli(tmp_path):
    data = ingot.convert_method_to_engine(ConvBnReluLinear().eval(), inputs=[X])
    path = tmp_path / "model.ingot"
    path.write_bytes(data)
    from_file = ingot.inspect(path)
    check_known_engine(from_file)
    assert ingot.inspect(data) == from_file == ingot.inspect(str(path))
    out = subprocess.run([cli(), "inspect", str(path)], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == from_file


def test_inspect_saved_archive(tmp_path):
    gm = ingot.compile(ConvBnReluLinear().eval(), inputs=[X], min_block_size=1)
    path = tmp_path / "model.pt2"
    ingot.save(gm, path, inputs=[X])
    info = ingot.inspect(path)
    check_known_engine(info["engines"][0])


def test_inspect_bad_inputs(tmp_path):
    with pytest.raises(ingot.Error, match="cannot open engine file"):
        ingot.inspect(tmp_path / "missing.ingot")
    data = ingot.convert_method_to_engine(ConvBnReluLinear().eval(), inputs=[X])
    bad = tmp_path / "bad.ingot"
    bad.write_bytes(data[:-8])
    with pytest.raises(ingot.Error, match="bad.ingot"):
        ingot.inspect(bad)
    with pytest.raises(ingot.Error, match="takes a compiled module"):
        ingot.inspect(3)


class ThreeReasons(torch.nn.Module):
    """sigmoid: listed in torch_executed_ops; erfinv: no converter; a float64 cast: the
    converter exists but rejects the dtype."""

    def forward(self, x):
        y = torch.relu(torch.sigmoid(x) * 2 + 1)
        z = torch.special.erfinv(torch.tanh(y))
        w = (z.double() * 3).float()
        return torch.relu(w + 1) - 2


def test_dryrun_builds_nothing_and_names_three_kinds_of_reason(capsys):
    x = torch.randn(4, 4)
    out = ingot.compile(ThreeReasons(), inputs=[x], dryrun=True, min_block_size=1,
                        torch_executed_ops=["aten::sigmoid"])
    assert out is None
    text = capsys.readouterr().out
    assert "segments in execution order" in text and "min_block_size options" in text
    assert "recommendation: min_block_size=" in text
    assert "[torch_executed_ops]" in text and "[no_converter]" in text and "[converter_rejected]" in text

    from ingot._compile import dryrun_report

    report = dryrun_report(ThreeReasons(), inputs=[x], min_block_size=1, torch_executed_ops=["aten::sigmoid"])
    kinds = {f["op"]: f["kind"] for f in report["fallbacks"]}
    assert kinds["aten::sigmoid"] == "torch_executed_ops"
    assert kinds["aten::erfinv"] == "no_converter"
    assert "converter_rejected" in kinds.values()
    rejected = [f for f in report["fallbacks"] if f["kind"] == "converter_rejected"]
    assert all("converter rejected" in f["reason"] or "dtype" in f["reason"] for f in rejected)
    assert report["num_engines"] >= 1  # what would be built...
    assert "engines" not in report  # ...but nothing was


def test_dryrun_names_small_blocks():
    report = ingot._compile.dryrun_report(ThreeReasons(), inputs=[torch.randn(4, 4)], min_block_size=50)
    assert {f["kind"] for f in report["fallbacks"]} >= {"below_min_block_size", "no_converter"}


def test_tune_returns_measured_settings_among_those_tried():
    torch.manual_seed(0)
    model = ConvBnReluLinear().eval()
    result = ingot.tune(model, [X], min_block_sizes=[1, 3], optimization_levels=[0, 2], iters=3, warmup=1)
    tried = [row["settings"] for row in result.table]
    assert len(tried) == 4
    assert {(s["min_block_size"], s["optimization_level"]) for s in tried} == {(1, 0), (1, 2), (3, 0), (3, 2)}
    assert result.best_settings in tried
    for row in result.table:
        assert row["error"] is None and row["ok"]
        assert row["build_s"] > 0 and row["latency_ms"] > 0 and row["speedup"] > 0
        assert row["engines"] >= 1 and row["max_rel_err"] < 1e-3
    best = result.best
    assert best["latency_ms"] == min(r["latency_ms"] for r in result.table)
    assert result.eager_latency_ms > 0
    text = str(result)
    assert "<- best" in text and "latency ms" in text


def test_tune_defaults_to_the_report_options_and_checks_arguments():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()).eval()
    x = torch.randn(2, 4)
    result = ingot.tune(model, [x], optimization_levels=[0], iters=2, warmup=0, metric="build_time")
    report = ingot._compile.dryrun_report(model, inputs=[x])
    assert sorted(r["settings"]["min_block_size"] for r in result.table) == sorted({o[0] for o in report["options"]})
    assert result.best is not None and result.best["build_s"] == min(r["build_s"] for r in result.table)
    with pytest.raises(ingot.Error, match="metric"):
        ingot.tune(model, [x], metric="memory")
    with pytest.raises(ingot.Error, match="chosen by ingot.tune"):
        ingot.tune(model, [x], min_block_size=3)
    with pytest.raises(ingot.Error, match="must be a tensor"):
        ingot.tune(model, [ingot.Input(shape=(2, 4))])
