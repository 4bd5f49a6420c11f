"""torch.compile(model, backend="ingot"): graph breaks, recompilation, engine reuse, modes,
options, fallback, and discovery through the torch_dynamo_backends entry point."""

import copy
import functools
import importlib.metadata
import logging
import os
import subprocess
import sys

import pytest
import torch

import ingot
from ingot import _dynamo_backend
from conftest import assert_close


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    _dynamo_backend.clear_cache()
    yield
    torch._dynamo.reset()


@pytest.fixture
def compiled_graphs():
    """A backend that is the ingot backend and keeps what it returned, one entry per dynamo graph."""
    graphs = []

    def backend(gm, example_inputs, **kwargs):
        compiled = _dynamo_backend.ingot_backend(gm, example_inputs, **kwargs)
        graphs.append(compiled)
        return compiled

    backend.graphs = graphs
    return backend


def engine_calls(module):
    return [n for n in module.graph.nodes if n.target == torch.ops.ingot.execute_engine.default]


def builds():
    return _dynamo_backend.stats()["builds"]


class TwoParts(torch.nn.Module):
    """linear, relu | graph break | linear, sigmoid, plus the batch size (a non-tensor output)."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(8, 16)
        self.b = torch.nn.Linear(16, 4)

    def forward(self, x):
        y = torch.relu(self.a(x))
        torch._dynamo.graph_break()
        return torch.sigmoid(self.b(y)), x.shape[0]


class Scaled(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)
        self.use_relu = True

    def forward(self, x, k: int = 2):
        y = self.fc(x) * k
        return torch.relu(y) if self.use_relu else torch.tanh(y)


class WithErfinv(torch.nn.Module):
    """erfinv has no converter."""

    def forward(self, x):
        x = torch.tanh(torch.relu(x) + 1.0) * 0.5
        return torch.sigmoid(torch.special.erfinv(x) * 2.0)


def test_graph_break_gives_two_graphs_both_compiled(compiled_graphs):
    model = TwoParts().eval()
    x = torch.randn(3, 8)
    fn = torch.compile(model, backend=functools.partial(compiled_graphs, options={"min_block_size": 1}))
    out, n = fn(x)
    expected, n_expected = model(x)
    assert_close(out, expected)
    assert n == n_expected == 3
    assert len(compiled_graphs.graphs) == 2
    assert builds() == 2
    for g in compiled_graphs.graphs:
        [module] = g.compiled_modules()
        assert module is not None, "the graph fell back to PyTorch"
        assert len(engine_calls(module)) == 1
    assert _dynamo_backend.stats()["fallbacks"] == 0


def test_backend_by_name_with_options():
    model = TwoParts().eval()
    x = torch.randn(2, 8)
    fn = torch.compile(model, backend="ingot", options={"min_block_size": 1, "optimization_level": 1})
    out, n = fn(x)
    assert_close(out, model(x)[0])
    assert n == 2
    assert builds() == 2


def test_new_shape_recompiles_and_builds_again():
    model = Scaled().eval()
    fn = torch.compile(model, backend="ingot", options={"min_block_size": 1})
    for batch, expected_builds in [(2, 1), (5, 2), (7, 3), (5, 3), (2, 3)]:
        x = torch.randn(batch, 8)
        assert_close(fn(x), model(x))
        assert builds() == expected_builds, f"batch {batch}"
    assert _dynamo_backend.stats()["fallbacks"] == 0


def test_new_shape_recompiles_with_dynamic_false():
    model = Scaled().eval()
    fn = torch.compile(model, backend="ingot", dynamic=False, options={"min_block_size": 1})
    for batch in (2, 3, 4):
        x = torch.randn(batch, 8)
        assert_close(fn(x), model(x))
    assert builds() == 3


def test_changed_python_values_recompile():
    model = Scaled().eval()
    fn = torch.compile(model, backend="ingot", options={"min_block_size": 1})
    x = torch.randn(4, 8)
    assert_close(fn(x, 2), model(x, 2))
    assert builds() == 1
    # A new int argument fails dynamo's guard; the value is part of what the engine is built for.
    assert_close(fn(x, 3), model(x, 3))
    assert builds() == 2
    assert_close(fn(x, 4), model(x, 4))
    assert builds() == 3
    # A changed attribute changes the graph itself (tanh instead of relu).
    model.use_relu = False
    assert_close(fn(x, 3), model(x, 3))
    assert builds() == 4
    assert _dynamo_backend.stats()["fallbacks"] == 0


def test_identical_graph_reuses_the_engine():
    model = Scaled().eval()
    x = torch.randn(4, 8)
    assert_close(torch.compile(model, backend="ingot")(x), model(x))
    assert builds() == 1
    torch._dynamo.reset()
    assert_close(torch.compile(model, backend="ingot")(x), model(x))
    twin = copy.deepcopy(model)
    assert_close(torch.compile(twin, backend="ingot")(x), model(x))
    assert builds() == 1
    assert _dynamo_backend.stats()["reused"] == 2
    # Different weights, options or shapes are not the same graph.
    with torch.no_grad():
        twin.fc.weight.mul_(2.0)
    torch._dynamo.reset()
    assert_close(torch.compile(twin, backend="ingot")(x), twin(x))
    assert builds() == 2
    torch._dynamo.reset()
    torch.compile(model, backend="ingot", options={"optimization_level": 1})(x)
    assert builds() == 3


def test_instances_with_other_weights_get_their_own_engine(compiled_graphs):
    # Dynamo serves every instance of a class from one graph and passes the weights as inputs.
    first, second = Scaled().eval(), Scaled().eval()
    x = torch.randn(4, 8)
    assert_close(torch.compile(first, backend=compiled_graphs)(x), first(x))
    assert_close(torch.compile(second, backend=compiled_graphs)(x), second(x))
    assert_close(torch.compile(first, backend=compiled_graphs)(x), first(x))
    assert len(compiled_graphs.graphs) == 1
    assert builds() == 2


@pytest.mark.parametrize("mode", [torch.inference_mode, torch.no_grad])
def test_works_under_inference_mode_and_no_grad(mode):
    model = TwoParts().eval()
    fn = torch.compile(model, backend="ingot", options={"min_block_size": 1})
    with mode():
        for batch in (2, 3):
            x = torch.randn(batch, 8)
            out, n = fn(x)
            assert_close(out, model(x)[0])
            assert n == batch
    assert _dynamo_backend.stats()["fallbacks"] == 0
    assert builds() == 4


def test_graph_without_tensor_inputs():
    def make(n: int):
        return torch.arange(6, dtype=torch.float32).reshape(2, 3) * 2.0 + 1.0

    fn = torch.compile(make, backend="ingot", options={"min_block_size": 1})
    assert_close(fn(0), make(0))
    assert _dynamo_backend.stats()["fallbacks"] == 0


def test_unknown_option_is_an_error_naming_it():
    x = torch.randn(2, 8)
    fn = torch.compile(Scaled().eval(), backend="ingot", options={"min_block_size": 1, "bogus_option": 3})
    with pytest.raises(Exception) as info:
        fn(x)
    assert "bogus_option" in str(info.value)
    gm = torch.fx.symbolic_trace(Scaled().eval())
    with pytest.raises(ingot.Error, match="bogus_option"):
        _dynamo_backend.ingot_backend(gm, [x], options={"bogus_option": 3})
    with pytest.raises(ingot.Error, match="min_block_size"):
        _dynamo_backend.ingot_backend(gm, [x], options={"min_block_size": 0})
    with pytest.raises(ingot.Error, match="enabled_precisions"):
        _dynamo_backend.ingot_backend(gm, [x], options={"enabled_precisions": {torch.int8}})
    with pytest.raises(ingot.Error, match="mode"):
        _dynamo_backend.ingot_backend(gm, [x], mode="max-autotune")
    with pytest.raises(ingot.Error, match="options must be a dict"):
        _dynamo_backend.ingot_backend(gm, [x], options=[("min_block_size", 1)])


def test_require_full_compilation_with_unsupported_op_raises():
    fn = torch.compile(WithErfinv(), backend="ingot", options={"require_full_compilation": True, "min_block_size": 1})
    with pytest.raises(Exception) as info:
        fn(torch.randn(3, 4))
    assert "erfinv" in str(info.value)
    assert builds() == 0


def test_unsupported_op_runs_in_pytorch_inside_the_compiled_graph(compiled_graphs):
    model = WithErfinv()
    fn = torch.compile(model, backend=functools.partial(compiled_graphs, options={"min_block_size": 1}))
    x = torch.randn(3, 4)
    assert_close(fn(x), model(x))
    [module] = compiled_graphs.graphs[0].compiled_modules()
    assert len(engine_calls(module)) == 2
    assert any("erfinv" in str(n.target) for n in module.graph.nodes)


def test_graph_that_does_not_compile_falls_back_with_a_warning(caplog):
    def bump(x):
        x.add_(1.0)  # ingot engines do not write to their inputs
        return torch.relu(x) * 2.0

    fn = torch.compile(bump, backend="ingot", options={"min_block_size": 1})
    x = torch.randn(3, 4)
    x0 = x.clone()
    expected = bump(x0.clone())
    with caplog.at_level(logging.WARNING, logger="ingot"):
        actual = fn(x)
    assert_close(actual, expected)
    assert_close(x, x0 + 1.0)  # the in-place update happened
    assert _dynamo_backend.stats()["fallbacks"] == 1
    assert any("runs in PyTorch" in r.getMessage() and "mutates" in r.getMessage() for r in caplog.records)
    strict = torch.compile(bump, backend="ingot", options={"require_full_compilation": True})
    with pytest.raises(Exception, match="mutates"):
        strict(torch.randn(3, 4))


def _has_entry_point() -> bool:
    eps = importlib.metadata.entry_points(group="torch_dynamo_backends")
    return any(ep.name == "ingot" and ep.value == "ingot._dynamo_backend:ingot_backend" for ep in eps)


@pytest.mark.skipif(not _has_entry_point(),
                    reason="ingot is not installed with its torch_dynamo_backends entry point (pip install .)")
def test_backend_is_found_without_importing_ingot():
    script = (
        "import sys, torch\n"
        "m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())\n"
        "x = torch.randn(2, 4)\n"
        "out = torch.compile(m, backend='ingot', options={'min_block_size': 1})(x)\n"
        "assert 'ingot' in sys.modules, 'the backend did not load ingot'\n"
        "from ingot import _dynamo_backend\n"
        "assert _dynamo_backend.stats()['builds'] == 1, _dynamo_backend.stats()\n"
        "assert torch.allclose(out, m(x), atol=1e-5)\n"
        "print('ok')\n"
    )
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                          cwd=os.path.dirname(os.path.abspath(__file__)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
