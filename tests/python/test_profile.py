"""Per-layer profiling (ingot.profile, enable_profiling), the Chrome trace, and the build report."""

import json
import logging

import pytest
import torch

import ingot


class ConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 24, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(24)
        self.conv2 = torch.nn.Conv2d(24, 24, 3, padding=1)
        self.fc = torch.nn.Linear(24 * 16 * 16, 10)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        y = torch.relu(self.conv2(y))
        return self.fc(y.flatten(1))


@pytest.fixture(scope="module")
def compiled():
    torch.manual_seed(0)
    model = ConvNet().eval()
    x = torch.randn(2, 3, 16, 16)
    return ingot.compile(model, inputs=[x], min_block_size=1), x


def test_profile_json_fields_and_sum_rule(compiled, tmp_path):
    gm, x = compiled
    gm(x)
    with ingot.profile(gm) as prof:
        for _ in range(3):
            gm(x)
    assert len(prof.engines) == 1
    e = prof.engines[0]
    assert e["backend"] == "cpu" and e["clock"] == "std::chrono::steady_clock"
    assert e["calls"] == 3 and len(e["call_records"]) == 3
    layer_sum = sum(layer["total_ms"] for layer in e["layers"])
    assert layer_sum == pytest.approx(e["layer_total_ms"])
    # The sum rule: layers timed with the engine's clock add up to the engine time.
    assert 0.95 * e["engine_total_ms"] <= layer_sum <= e["engine_total_ms"]
    assert e["layer_sum_ratio"] == pytest.approx(layer_sum / e["engine_total_ms"])
    for layer in e["layers"]:
        assert set(layer) >= {"index", "name", "kind", "origins", "ops", "modules", "calls", "total_ms", "mean_ms", "share", "view"}
        assert layer["calls"] == 3 and (layer["total_ms"] > 0 or layer["view"])
        assert layer["mean_ms"] == pytest.approx(layer["total_ms"] / 3)
    conv = [layer for layer in e["layers"] if "conv" in layer["modules"]]
    assert conv and conv[0]["kind"] == "convolution" and "aten::convolution" in conv[0]["ops"]
    assert any("fc" in layer["modules"] and layer["kind"] == "matmul" for layer in e["layers"])
    for rec in e["call_records"]:
        assert sum(rec["layer_ms"]) <= rec["engine_ms"] * 1.0001
    assert "conv" in str(prof) and "ms per call" in str(prof)

    path = tmp_path / "profile.json"
    prof.save_json(path)
    saved = json.loads(path.read_text())
    assert saved["engines"][0]["calls"] == 3 and saved["total_ms"] == pytest.approx(prof.total_ms)


def test_chrome_trace_is_trace_event_json(compiled, tmp_path):
    gm, x = compiled
    with ingot.profile(gm) as prof:
        gm(x)
        gm(x)
    path = tmp_path / "trace.json"
    prof.save_chrome_trace(path)
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    assert isinstance(events, list) and events
    complete = [ev for ev in events if ev["ph"] == "X"]
    meta = [ev for ev in events if ev["ph"] == "M"]
    assert {ev["name"] for ev in meta} == {"process_name", "thread_name"}
    for ev in complete:
        assert isinstance(ev["name"], str)
        assert isinstance(ev["ts"], (int, float)) and isinstance(ev["dur"], (int, float)) and ev["dur"] >= 0
        assert isinstance(ev["pid"], int) and isinstance(ev["tid"], int)
    engines = [ev for ev in complete if ev["cat"] == "engine"]
    layers = [ev for ev in complete if ev["cat"] != "engine"]
    assert len(engines) == 2 and len(layers) == 2 * len(prof.engines[0]["layers"])
    # Layers sit inside their call's engine event, one after another.
    for call in (0, 1):
        eng = [ev for ev in engines if ev["args"]["call"] == call][0]
        mine = [ev for ev in layers if ev["args"]["call"] == call]
        assert mine[0]["ts"] == eng["ts"]
        for a, b in zip(mine, mine[1:]):
            assert b["ts"] == pytest.approx(a["ts"] + a["dur"])
        assert mine[-1]["ts"] + mine[-1]["dur"] <= eng["ts"] + eng["dur"] + 1e-3


def test_enable_and_disable_profiling_methods(compiled):
    gm, x = compiled
    gm.enable_profiling()
    gm(x)
    assert gm.profiling_results().engines[0]["calls"] == 1
    gm(x)
    prof = gm.disable_profiling()
    assert prof.engines[0]["calls"] == 2
    gm(x)  # not profiled any more
    with pytest.raises(ingot.Error, match="not being profiled"):
        gm.profiling_results()
    # A fresh profile starts at zero.
    with ingot.profile(gm) as again:
        gm(x)
    assert again.engines[0]["calls"] == 1


def test_profile_rejects_modules_without_engines():
    with pytest.raises(ingot.Error, match="no ingot engine"):
        ingot.profile(torch.nn.Linear(2, 2))
    with pytest.raises(ingot.Error, match="expected a module"):
        ingot.profile("model.pt2")


def test_build_report_logging_and_progress(monkeypatch, caplog):
    from ingot import _build_log

    seen = []

    class Recording(_build_log.Progress):
        def __call__(self, phase, done, total):
            seen.append((phase, done, total))
            super().__call__(phase, done, total)

    monkeypatch.setattr(_build_log, "Progress", Recording)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4)).eval()
    with caplog.at_level(logging.DEBUG, logger="ingot"):
        gm = ingot.compile(model, inputs=[torch.randn(2, 8)], min_block_size=1, progress=False)
    report = gm.build_report
    assert set(report.phases) == set(_build_log.BuildReport.PHASES)
    assert all(v >= 0 for v in report.phases.values())
    assert report.engines == 1 and report.total_s >= sum(
        report.phases[k] for k in ("export", "lowering", "partition", "convert", "backend_build", "serialization"))
    assert "lowering" in str(report) and "engine(s)" in str(report)
    assert ("lower", 0, 1) in seen and ("partition", 1, 1) in seen and ("build", 1, 1) in seen
    messages = [r.getMessage() for r in caplog.records if r.name == "ingot"]
    assert any(m.startswith("built 1 engine(s)") for m in messages)
    assert any("phase lowering" in m for m in messages) and any("lowering pass" in m for m in messages)


def test_progress_bar_appears_only_after_the_delay(monkeypatch):
    pytest.importorskip("tqdm")
    from ingot._build_log import Progress

    p = Progress(True, delay_s=3600)
    p("build", 0, 2)
    assert p.bar is None  # a fast build shows nothing
    p = Progress(True, delay_s=0)
    p("build", 1, 2)
    assert p.bar is not None and p.bar.n == 1 and p.bar.total == 2
    p.close()
    p = Progress(False, delay_s=0)
    p("build", 1, 2)
    assert p.bar is None
