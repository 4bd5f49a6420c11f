"""Partitioning: torch_executed_ops, min_block_size, require_full_compilation, and the report."""

import pytest
import torch

import ingot
from conftest import assert_close, run_compiled


class Chain(torch.nn.Module):
    """relu, relu | erfinv (no converter) | sigmoid, tanh, neg, relu"""

    def forward(self, x):
        x = torch.relu(torch.relu(x) + 1.0)
        x = torch.special.erfinv(torch.tanh(x) * 0.5)
        return torch.relu(-torch.tanh(torch.sigmoid(x) * 2.0))


def engine_calls(gm):
    return [n for n in gm.graph.nodes if n.target == torch.ops.ingot.execute_engine.default]


def aten_calls(gm, name):
    return [n for n in gm.graph.nodes if getattr(n.target, "__name__", "").startswith(name)]


def test_unsupported_op_runs_in_pytorch_and_matches():
    x = torch.randn(3, 4)
    gm, expected, actual = run_compiled(Chain(), [x], min_block_size=2)
    assert_close(actual, expected)
    assert len(engine_calls(gm)) == 2
    assert aten_calls(gm, "erfinv")


def test_torch_executed_ops_forces_hybrid_graph():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.Sigmoid(),
                                torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    x = torch.randn(5, 8)
    gm, expected, actual = run_compiled(model, [x], min_block_size=1, torch_executed_ops={torch.ops.aten.sigmoid.default})
    assert_close(actual, expected)
    assert aten_calls(gm, "sigmoid")
    assert len(engine_calls(gm)) == 2
    # All the string spellings name the same op.
    for spelling in ("aten::sigmoid", "torch.ops.aten.sigmoid.default", torch.ops.aten.sigmoid):
        gm2, _, actual2 = run_compiled(model, [x], min_block_size=1, torch_executed_ops=[spelling])
        assert aten_calls(gm2, "sigmoid")
        assert_close(actual2, expected)


def test_min_block_size_demotes_small_blocks():
    x = torch.randn(3, 4)
    gm, expected, actual = run_compiled(Chain(), [x], min_block_size=4)
    assert_close(actual, expected)
    # The first block (relu, add, relu, tanh, mul: 5 ops) stays; the last (sigmoid, mul, tanh, neg, relu) too.
    report = ingot.segmentation_report(gm)
    assert all(n >= 4 for n in report["ops_per_engine"])
    gm, _, actual = run_compiled(Chain(), [x], min_block_size=100)
    assert_close(actual, expected)
    assert not engine_calls(gm)


def test_require_full_compilation_lists_each_unsupported_op():
    with pytest.raises(ingot.Error) as e:
        ingot.compile(Chain(), inputs=[torch.randn(3, 4)], require_full_compilation=True)
    msg = str(e.value)
    assert "require_full_compilation" in msg and "aten::erfinv" in msg and "no converter" in msg


def test_segmentation_report_numbers():
    gm, _, _ = run_compiled(Chain(), [torch.randn(3, 4)], min_block_size=2)
    r = ingot.segmentation_report(gm)
    # Graph after lowering: relu, add, relu, tanh, mul | erfinv | sigmoid, mul, tanh, neg, relu
    assert r["num_ops"] == 11
    assert r["num_engines"] == 2 and r["ops_per_engine"] == [5, 5]
    assert r["ops_in_engines"] == 10 and r["num_torch_segments"] == 1
    assert r["max_ops_per_engine"] == 5 and r["avg_ops_per_engine"] == 5.0
    # Both blocks have 5 ops: any min_block_size up to 5 keeps 2 engines; 6 gives none.
    assert [tuple(o) for o in r["options"]] == [(1, 2, 10), (2, 2, 10), (6, 0, 0)]
    assert r["recommended_min_block_size"] == 1 and r["recommended_engines"] == 2
    assert "aten::erfinv" in r["text"] and "no converter" in r["text"]


def test_segmentation_report_recommends_fewest_engines():
    class Uneven(torch.nn.Module):
        def forward(self, x):
            x = torch.relu(torch.relu(x) * 2.0)          # 3 ops
            x = torch.special.erfinv(torch.tanh(x) * 0.5)  # tanh, mul | erfinv
            return torch.sigmoid(x) + 1.0                  # 2 ops

    gm, _, _ = run_compiled(Uneven(), [torch.randn(3, 4)], min_block_size=1)
    r = ingot.segmentation_report(gm)
    assert r["ops_per_engine"] == [5, 2]
    # 3 is the smallest min_block_size that demotes the 2-op block and keeps the 5-op one.
    assert r["recommended_min_block_size"] == 3 and r["recommended_engines"] == 1


def test_dryrun_builds_nothing(capsys):
    out = ingot.compile(Chain(), inputs=[torch.randn(3, 4)], dryrun=True, min_block_size=2)
    assert out is None
    assert "segmentation report" in capsys.readouterr().out


def test_view_in_pytorch_after_lowering_removed_a_copy():
    class PermuteView(torch.nn.Module):
        def forward(self, x):
            y = torch.relu(x).permute(0, 2, 1).contiguous()  # lowering removes this copy
            return y.view(2, -1) * 2.0

    x = torch.randn(2, 3, 4)
    gm, expected, actual = run_compiled(PermuteView(), [x], min_block_size=1, torch_executed_ops=["aten::view"])
    assert_close(actual, expected)
    assert aten_calls(gm, "reshape")
