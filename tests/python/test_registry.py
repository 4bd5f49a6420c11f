"""The published op table is generated from the registry and must match it."""

import os
import subprocess
import sys

import ingot

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_supported_ops_doc_matches_registry():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_supported_ops.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_documented_op_is_registered():
    doc = open(os.path.join(ROOT, "docs", "supported_ops.md")).read()
    listed = {line.split("`")[1] for line in doc.splitlines() if line.startswith("| `")}
    registered = {s.split("(", 1)[0] for s in ingot.list_supported_ops()}
    assert listed == registered


def test_foundation_models_need_only_registered_ops():
    needed = ["aten::convolution", "aten::_native_batch_norm_legit_no_training", "aten::relu", "aten::add.Tensor",
              "aten::max_pool2d_with_indices", "aten::mean.dim", "aten::linear", "aten::addmm", "aten::gelu",
              "aten::native_layer_norm", "aten::scaled_dot_product_attention", "aten::_softmax", "aten::view",
              "aten::permute", "aten::matmul", "aten::where.self", "aten::any.dim", "aten::eq.Scalar",
              "aten::logical_not", "aten::full_like", "aten::select.int", "aten::expand", "aten::clone"]
    registered = {s.split("(", 1)[0] for s in ingot.list_supported_ops()}
    assert not [op for op in needed if op not in registered]
