"""ingot's main job on a bundled default model:

    python -m ingot [--model resnet18] [--batch 2] [--device auto|cpu|cuda] [--iters 5]

Compiles torchvision ResNet-18 (random weights) with ingot, runs it, and prints the largest
error against PyTorch and the time per call of both. Uses the GPU when there is one and the
CUDA backend is built, else the CPU reference backend.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import torch

import ingot


def _time(fn, x, iters: int, device: torch.device) -> float:
    times = []
    for _ in range(iters):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ingot", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet18", help="a torchvision classification model name")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=224, help="input height and width")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--iters", type=int, default=5)
    args = ap.parse_args(argv)
    # torch.export's own pytree code warns about its internals; nothing for the user to act on.
    warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec.*")

    import torchvision

    torch.manual_seed(0)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    model = getattr(torchvision.models, args.model)(weights=None).eval().to(device)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    print(f"ingot {ingot.__version__}: torchvision {args.model} (random weights), input {tuple(x.shape)} float32, "
          f"device {device}")

    t0 = time.perf_counter()
    try:
        compiled = ingot.compile(model, ir="dynamo", inputs=[ingot.Input(shape=tuple(x.shape), dtype=torch.float32)],
                                 enabled_precisions={torch.float32}, min_block_size=5, device=device)
    except ingot.Error as e:
        if device.type != "cuda":
            raise
        print(f"  the CUDA backend could not build this model ({e}); using the CPU reference backend")
        device = torch.device("cpu")
        model, x = model.cpu(), x.cpu()
        t0 = time.perf_counter()
        compiled = ingot.compile(model, ir="dynamo", inputs=[ingot.Input(shape=tuple(x.shape))], device=device)
    build_s = time.perf_counter() - t0
    report = ingot.segmentation_report(compiled)
    backend = "CUDA" if device.type == "cuda" else "CPU reference"
    print(f"  compiled in {build_s:.1f} s: {report['num_engines']} engine(s) on the {backend} backend, "
          f"{report['ops_in_engines']}/{report['num_ops']} ops in engines")

    with torch.inference_mode():
        expected = model(x)
        got = compiled(x)
    err = (got - expected).abs().max().item()
    rel = ((got - expected).norm() / expected.norm()).item()
    print(f"  max abs error vs PyTorch: {err:.3g} (relative L2 {rel:.3g})")

    with torch.inference_mode():
        t_ingot = _time(compiled, x, args.iters, device)
        t_torch = _time(model, x, args.iters, device)
    print(f"  time per call (median of {args.iters}): ingot {t_ingot:.2f} ms, PyTorch eager {t_torch:.2f} ms")
    if device.type == "cpu":
        print("  (the CPU reference backend is written for clarity, not speed; the product is the CUDA backend)")
    return 0 if rel < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
