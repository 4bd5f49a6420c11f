"""timing_cache=: tactics measured by one build are read by the next (CUDA), and bad paths or
files give clear errors."""

import os
import subprocess
import sys

import pytest
import torch

import ingot


class ConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 16, 1)

    def forward(self, x):
        return torch.relu(self.c2(torch.relu(self.c1(x))) + 1.0)


def test_timing_cache_in_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(ingot.Error, match="does not exist"):
        ingot.compile(ConvNet().eval(), inputs=[torch.randn(1, 8, 8, 8)], timing_cache=str(tmp_path / "no" / "c.txt"))
    with pytest.raises(ingot.Error, match="is a directory"):
        ingot.compile(ConvNet().eval(), inputs=[torch.randn(1, 8, 8, 8)], timing_cache=str(tmp_path))


def test_timing_cache_is_ignored_by_the_cpu_backend(tmp_path):
    path = tmp_path / "cache.txt"
    m = ConvNet().eval()
    x = torch.randn(1, 8, 8, 8)
    out = ingot.compile(m, inputs=[x], timing_cache=str(path))(x)
    torch.testing.assert_close(out, m(x), rtol=1e-4, atol=1e-4)


_BUILD = r"""
import json, sys, torch, ingot
sys.path.insert(0, {test_dir!r})
from test_timing_cache import ConvNet
torch.manual_seed(0)
m = ConvNet().eval().half().cuda()
x = torch.randn(4, 8, 32, 32, device="cuda", dtype=torch.half)
gm = ingot.compile(m, inputs=[x], enabled_precisions={{torch.float16}}, device="cuda", timing_cache={path!r})
tactics = [l["tactic"] for e in ingot.inspect(gm)["engines"] for l in e["layers"] if l["kind"] == "convolution"]
err = ((gm(x).float() - m(x).float()).norm() / m(x).float().norm()).item()
print(json.dumps({{"tactics": tactics, "timing_s": gm.build_report.phases["tactic_timing"], "err": err}}))
"""


def _build_in_subprocess(path):
    code = _BUILD.format(test_dir=os.path.dirname(__file__), path=str(path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.gpu
def test_timing_cache_file_is_reused_by_a_later_process(tmp_path):
    path = tmp_path / "ingot.timing"
    first = _build_in_subprocess(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "ingot-timing-cache 1"
    entries = [line.split("\t") for line in lines[1:]]
    conv_entries = [e for e in entries if ";convolution(" in e[0]]
    assert len(conv_entries) == 2 and all(len(e) == 3 for e in entries)
    assert sorted(e[1] for e in conv_entries) == sorted(first["tactics"])
    # c2 is 1x1: cuBLASLt's GEMMs ("lt:...") compete with cuDNN there.
    assert all(t.startswith(("cudnn:", "lt:")) for t in first["tactics"]), first
    # Point each convolution's entry at another tactic it timed: a build that reads the file
    # must use those, which no timing of its own would pick.
    wanted = []
    for e in conv_entries:
        timed = [item.rsplit("@", 1)[0] for item in e[2].split("|") if item]
        others = [t for t in timed if t != e[1]]
        e[1] = others[-1] if others else e[1]
        wanted.append(e[1])
    path.write_text("\n".join([lines[0]] + ["\t".join(e) for e in entries]) + "\n")
    second = _build_in_subprocess(path)
    assert sorted(second["tactics"]) == sorted(wanted)
    assert first["err"] < 1e-2 and second["err"] < 1e-2


@pytest.mark.gpu
def test_malformed_timing_cache_file_names_the_file(tmp_path):
    path = tmp_path / "bad.timing"
    path.write_text("not a cache\n")
    m = ConvNet().eval().half().cuda()
    x = torch.randn(1, 8, 8, 8, device="cuda", dtype=torch.half)
    with pytest.raises(ingot.Error, match="bad.timing.*not an ingot timing cache"):
        ingot.compile(m, inputs=[x], enabled_precisions={torch.float16}, device="cuda", timing_cache=str(path))


@pytest.mark.gpu
def test_cudnn_plans_are_kept_beside_the_timing_cache(tmp_path):
    """The cuDNN plans a build's layers run go into `<timing cache>.plans`; a build in a new
    process loads them (no compile) and runs the same tactics correctly; a damaged plan file is an
    error that names it."""
    path = tmp_path / "ingot.timing"
    first = _build_in_subprocess(path)
    plans = tmp_path / "ingot.timing.plans"
    data = plans.read_bytes()
    assert data.startswith(b"ingot-blobs v1\n\0")
    cudnn = [t for t in first["tactics"] if t.startswith("cudnn:")]
    assert all((";" + t).encode() in data for t in cudnn), (first, len(data))
    second = _build_in_subprocess(path)
    print(f"tactic timing phase: first build {first['timing_s']:.3f} s, new process with the plan file "
          f"{second['timing_s']:.3f} s")
    assert sorted(second["tactics"]) == sorted(first["tactics"]) and second["err"] < 1e-2
    plans.write_bytes(data[:-1])
    m = ConvNet().eval().half().cuda()
    x = torch.randn(4, 8, 32, 32, device="cuda", dtype=torch.half)
    with pytest.raises(ingot.Error, match="ingot.timing.plans.*checksum mismatch"):
        ingot.compile(m, inputs=[x], enabled_precisions={torch.float16}, device="cuda", timing_cache=str(path))
