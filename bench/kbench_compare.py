"""Compares kernel-bench runs of several builds, case by case.

The CUDA kernel bench (`ingot_cuda_kernel_bench ITERS FILTER`) prints one line per case,
"name [dims] x [dims]   12.34 us   567.8 GB/s", under "-- section" headers. A device call that
A/Bs builds (scripts/device_se_sums.sh with BEFORE and ROUNDS, scripts/device_kbench_ab.sh)
leaves one file per build and round; this reads them and prints, for every case that the first
build ran, each build's time (the minimum over its rounds: the bench's median is already the
noise filter within a round, and rounds differ mostly by what else the machine did) and its
ratio to the first build's, as a markdown table.

    python bench/kbench_compare.py base=kbench-depthwise-base-1.txt,kbench-depthwise-base-2.txt \\
        new=kbench-depthwise-1.txt,kbench-depthwise-2.txt [--match direct4] [--min-change 0.03]

A case that a build's files lack (a filter that differs, a failed round) shows as "-".
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_CASE = re.compile(r"^(?P<name>\S.*?)\s+(?P<us>\d+(?:\.\d+)?) us(?:\s+(?P<gbs>\d+(?:\.\d+)?) GB/s)?\s*$")


def parse(text: str) -> dict[str, float]:
    """{"section / case": microseconds} of one kernel-bench output; the first time wins where a
    case repeats within a file."""
    section = ""
    times: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("-- "):
            section = line[3:].strip()
            continue
        m = _CASE.match(line)
        if not m:
            continue
        key = f"{section} / {' '.join(m.group('name').split())}" if section else " ".join(m.group("name").split())
        times.setdefault(key, float(m.group("us")))
    return times


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per case, the least time over the rounds that ran it."""
    out: dict[str, float] = {}
    for run in runs:
        for key, us in run.items():
            out[key] = min(us, out.get(key, us))
    return out


def compare(builds: list[tuple[str, dict[str, float]]], match: str | None = None,
            min_change: float = 0.0) -> list[str]:
    """Markdown rows: case, each build's us, each later build's ratio to the first. Cases in the
    first build's order; `match` keeps those whose key contains it; `min_change` drops rows where
    no later build differs from the first by at least that fraction."""
    if not builds:
        raise ValueError("no builds to compare")
    names = [n for n, _ in builds]
    header = ["case"] + [f"{n} us" for n in names] + [f"{n} / {names[0]}" for n in names[1:]]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    base = builds[0][1]
    for key, us0 in base.items():
        if match and match not in key:
            continue
        cells = [key] + [f"{t[key]:.2f}" if key in t else "-" for _, t in builds]
        ratios = [t[key] / us0 if key in t and us0 > 0 else None for _, t in builds[1:]]
        if min_change > 0 and all(r is None or abs(r - 1.0) < min_change for r in ratios):
            continue
        cells += [f"{r:.3f}" if r is not None else "-" for r in ratios]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _build_arg(spec: str) -> tuple[str, list[Path]]:
    name, sep, files = spec.partition("=")
    if not sep or not name or not files:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE[,FILE...], got {spec!r}")
    return name, [Path(f) for f in files.split(",") if f]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("builds", nargs="+", type=_build_arg, help="NAME=FILE[,FILE...]; the first is the baseline")
    ap.add_argument("--match", help="only cases whose 'section / name [dims]' contains this")
    ap.add_argument("--min-change", type=float, default=0.0,
                    help="drop cases where every build is within this fraction of the baseline")
    args = ap.parse_args(argv)
    builds = []
    for name, files in args.builds:
        runs = []
        for f in files:
            try:
                runs.append(parse(f.read_text()))
            except OSError as e:
                print(f"kbench_compare: {name}: cannot read {f}: {e.strerror}", file=sys.stderr)
                return 2
        times = best_of(runs)
        if not times:
            print(f"kbench_compare: {name}: no kernel-bench cases in {', '.join(map(str, files))}", file=sys.stderr)
            return 2
        builds.append((name, times))
    print("\n".join(compare(builds, args.match, args.min_change)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
