"""Standalone engine files: ingot.convert_method_to_engine and the `ingot` command-line tool."""

import os
import subprocess

import pytest
import torch

import ingot

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def cli() -> str:
    import glob

    found = sorted(glob.glob(os.path.join(ROOT, "build", "*", "tools", "ingot")), key=os.path.getmtime)
    if not found:
        raise AssertionError("the ingot command-line tool is not built (build/<dir>/tools/ingot)")
    return found[-1]


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(16, 32)
        self.b = torch.nn.Linear(32, 4)

    def forward(self, x):
        return self.b(torch.nn.functional.gelu(self.a(x)))


@pytest.fixture(scope="module")
def engine_file(tmp_path_factory):
    data = ingot.convert_method_to_engine(MLP().eval(), inputs=[ingot.Input(shape=(3, 16))])
    path = tmp_path_factory.mktemp("engine") / "mlp.ingot"
    path.write_bytes(data)
    return path


def test_engine_bytes_verify_and_describe_the_model(engine_file):
    import json

    sig = json.loads(ingot._C.verify_plan(engine_file.read_bytes()))
    assert [i["shape"] for i in sig["inputs"]] == [[3, 16]]
    assert [o["shape"] for o in sig["outputs"]] == [[3, 4]]


def test_cli_inspect_and_run(engine_file):
    import json

    out = subprocess.run([cli(), "inspect", str(engine_file), "--summary"], capture_output=True, text=True,
                         check=True).stdout
    assert "input  x : float32[3, 16]" in out and "matmul" in out
    info = json.loads(subprocess.run([cli(), "inspect", str(engine_file)], capture_output=True, text=True,
                                     check=True).stdout)
    assert info["inputs"] == [{"name": "x", "dtype": "float32", "shape": [3, 16]}]
    assert [layer["kind"] for layer in info["layers"]].count("matmul") == 2
    prof = json.loads(subprocess.run([cli(), "profile", str(engine_file), "--iters", "4"], capture_output=True,
                                     text=True, check=True).stdout)
    assert prof["calls"] == 4 and len(prof["layers"]) == len(info["layers"])
    assert prof["layer_total_ms"] <= prof["engine_total_ms"]
    out = subprocess.run([cli(), "run", str(engine_file), "--iters", "3"], capture_output=True, text=True,
                         check=True).stdout
    assert "output" in out and "float32[3x4]" in out and "time per run" in out


def test_cli_rejects_corrupt_and_truncated_files(engine_file, tmp_path):
    data = engine_file.read_bytes()
    for name, bad in (("flipped", data[:100] + bytes([data[100] ^ 1]) + data[101:]), ("truncated", data[:-10])):
        p = tmp_path / f"{name}.ingot"
        p.write_bytes(bad)
        r = subprocess.run([cli(), "verify", str(p)], capture_output=True, text=True)
        assert r.returncode == 1
        assert str(p) in r.stderr and ("checksum" in r.stderr or "truncated" in r.stderr), r.stderr
    r = subprocess.run([cli(), "run", str(tmp_path / "missing.ingot")], capture_output=True, text=True)
    assert r.returncode == 1 and "cannot open" in r.stderr


def test_not_a_single_engine_is_refused():
    class TwoParts(torch.nn.Module):
        def forward(self, x):
            return torch.special.erfinv(torch.tanh(x))

    with pytest.raises(ingot.Error, match="require_full_compilation"):
        ingot.convert_method_to_engine(TwoParts(), inputs=[torch.randn(2, 2)])


def test_cli_tune_refuses_cpu_engines_and_bad_arguments(engine_file, tmp_path):
    out = tmp_path / "tuned.ingot"
    r = subprocess.run([cli(), "tune", str(engine_file), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and "cpu backend have no tactics to time" in r.stderr, r.stderr
    assert not out.exists()
    r = subprocess.run([cli(), "tune", str(engine_file)], capture_output=True, text=True)
    assert r.returncode == 2 and "tune FILE -o OUT" in r.stderr


@pytest.mark.gpu
def test_cli_tune_retimes_a_cuda_engine(tmp_path):
    import json

    torch.manual_seed(0)
    model = MLP().eval().cuda()
    data = ingot.convert_method_to_engine(model, inputs=[ingot.Input(shape=(3, 16))], device="cuda",
                                          optimization_level=0)
    src, dst = tmp_path / "mlp_cuda.ingot", tmp_path / "mlp_tuned.ingot"
    src.write_bytes(data)
    before = json.loads(subprocess.run([cli(), "inspect", str(src)], capture_output=True, text=True,
                                       check=True).stdout)
    assert all(not layer["timed"] for layer in before["layers"])
    r = subprocess.run([cli(), "tune", str(src), "-o", str(dst), "--level", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "timed the tactics of" in r.stderr and "at level 2" in r.stderr and f"wrote {dst}" in r.stdout
    after = json.loads(subprocess.run([cli(), "inspect", str(dst)], capture_output=True, text=True,
                                      check=True).stdout)
    assert [layer["kind"] for layer in after["layers"]] == [layer["kind"] for layer in before["layers"]]
    assert any(layer["timed"] and layer["tactic"] for layer in after["layers"] if layer["kind"] == "matmul")
    # the retuned engine computes the same function
    x = torch.randn(3, 16, device="cuda")
    with torch.no_grad():
        want = model(x)
    plan = torch.frombuffer(bytearray(dst.read_bytes()), dtype=torch.uint8)
    got = torch.ops.ingot.execute_engine([x], plan, ingot._C.verify_plan(dst.read_bytes()))[0]
    torch.testing.assert_close(got, want, rtol=1e-2, atol=1e-2)  # TF32 GEMMs
