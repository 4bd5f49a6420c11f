"""bench/kbench_compare.py: kernel-bench outputs of several builds side by side (CPU only)."""

import importlib.util
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("kbench_compare", _ROOT / "bench" / "kbench_compare.py")
kc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kc)

BASE = """NVIDIA H100 80GB HBM3, 132 SMs; fp16; a CUDA graph of 200 launches per shape
-- bert bs32
layer_norm                   [4096,768] x [768] x [768]              6.98 us    1803.8 GB/s
-- vit bs32
layer_norm                   [6304,768] x [768] x [768]             10.10 us    1917.9 GB/s
depthwise k3 s1 column sums  [1,112,112,32]                          7.74 us
"""
NEW_1 = """-- bert bs32
layer_norm                   [4096,768] x [768] x [768]              5.60 us    2248.0 GB/s
-- vit bs32
layer_norm                   [6304,768] x [768] x [768]              7.90 us    2452.0 GB/s
"""
NEW_2 = """-- bert bs32
layer_norm                   [4096,768] x [768] x [768]              5.40 us    2331.0 GB/s
-- vit bs32
layer_norm                   [6304,768] x [768] x [768]              8.10 us    2391.0 GB/s
"""


def test_parse_keys_cases_by_section_and_normalised_name():
    t = kc.parse(BASE)
    assert t == {
        "bert bs32 / layer_norm [4096,768] x [768] x [768]": 6.98,
        "vit bs32 / layer_norm [6304,768] x [768] x [768]": 10.10,
        "vit bs32 / depthwise k3 s1 column sums [1,112,112,32]": 7.74,
    }


def test_best_of_takes_each_case_fastest_round():
    t = kc.best_of([kc.parse(NEW_1), kc.parse(NEW_2)])
    assert t["bert bs32 / layer_norm [4096,768] x [768] x [768]"] == 5.40
    assert t["vit bs32 / layer_norm [6304,768] x [768] x [768]"] == 7.90


def test_compare_prints_times_and_ratios_to_the_first_build():
    rows = kc.compare([("base", kc.parse(BASE)), ("new", kc.best_of([kc.parse(NEW_1), kc.parse(NEW_2)]))])
    assert rows[0] == "| case | base us | new us | new / base |"
    assert rows[2] == "| bert bs32 / layer_norm [4096,768] x [768] x [768] | 6.98 | 5.40 | 0.774 |"
    assert rows[3] == "| vit bs32 / layer_norm [6304,768] x [768] x [768] | 10.10 | 7.90 | 0.782 |"
    # A case the later build did not run: shown, without a ratio.
    assert rows[4] == "| vit bs32 / depthwise k3 s1 column sums [1,112,112,32] | 7.74 | - | - |"


def test_compare_match_and_min_change_filter_rows():
    same = kc.parse(BASE)
    rows = kc.compare([("a", kc.parse(BASE)), ("b", same)], match="layer_norm")
    assert len(rows) == 4 and all("column sums" not in r for r in rows)
    assert kc.compare([("a", kc.parse(BASE)), ("b", same)], min_change=0.01)[2:] == []
    moved = dict(same)
    moved["vit bs32 / layer_norm [6304,768] x [768] x [768]"] = 9.0
    kept = kc.compare([("a", kc.parse(BASE)), ("b", moved)], min_change=0.05)[2:]
    assert len(kept) == 1 and "0.891" in kept[0]


def test_main_reads_rounds_and_reports_unreadable_or_empty_files(tmp_path, capsys):
    (tmp_path / "b.txt").write_text(BASE)
    (tmp_path / "n1.txt").write_text(NEW_1)
    (tmp_path / "n2.txt").write_text(NEW_2)
    (tmp_path / "empty.txt").write_text("kernel bench: no CUDA device\n")
    assert kc.main([f"base={tmp_path / 'b.txt'}", f"new={tmp_path / 'n1.txt'},{tmp_path / 'n2.txt'}"]) == 0
    assert "| 6.98 | 5.40 | 0.774 |" in capsys.readouterr().out
    assert kc.main([f"base={tmp_path / 'b.txt'}", f"new={tmp_path / 'missing.txt'}"]) == 2
    assert "new: cannot read" in capsys.readouterr().err
    assert kc.main([f"base={tmp_path / 'empty.txt'}"]) == 2
    assert "no kernel-bench cases" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        kc.main(["base"])  # not NAME=FILE


def test_parses_a_stored_run():
    t = kc.parse((_ROOT / "bench" / "results" / "2026-12-07-H100-kbench-layer_norm.txt").read_text())
    assert t["vit bs32 / layer_norm [6304,768] x [768] x [768]"] == 10.10
    assert t["large (bandwidth) / layer_norm [65536,1024] x [1024] x [1024]"] == 183.12
