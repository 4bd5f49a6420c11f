"""ingot.tune: which min_block_size and optimization_level to use, measured.

    result = ingot.tune(model, [x], device="cuda", enabled_precisions={torch.float16})
    print(result)                       # table: settings, build s, latency, engines, error, speedup
    trt = ingot.compile(model, inputs=[x], **result.best_settings, device="cuda", ...)

Every combination of the candidate values is compiled and run on the given inputs. Outputs are
checked against eager PyTorch; a candidate whose error is above `max_rel_err` is reported but
never chosen. Latency is the median over `iters` timed runs after `warmup` runs (CUDA events on
the GPU, time.perf_counter on the CPU).
"""

from __future__ import annotations

import itertools
import logging
import statistics
import time
from typing import Dict, List, Optional, Sequence

import torch

from ingot._errors import Error

logger = logging.getLogger("ingot")

_METRICS = ("latency", "build_time")
_DEFAULT_LEVELS = (0, 3)
_TOLERANCE = {torch.float32: 1e-3, torch.float16: 2e-2, torch.bfloat16: 5e-2}


def _flatten(out) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flatten(o)]
    if isinstance(out, dict):
        return [t for k in sorted(out) for t in _flatten(out[k])]
    return []


def _max_rel_err(got, want) -> float:
    a, b = _flatten(got), _flatten(want)
    if len(a) != len(b):
        raise Error(f"the compiled model returns {len(a)} tensor(s), eager PyTorch {len(b)}")
    worst = 0.0
    for x, y in zip(a, b):
        if x.shape != y.shape:
            raise Error(f"the compiled model returns shape {tuple(x.shape)} where eager PyTorch returns {tuple(y.shape)}")
        if not (x.is_floating_point() or y.is_floating_point()):
            worst = max(worst, 0.0 if torch.equal(x, y) else 1.0)
            continue
        x, y = x.double(), y.double()
        scale = max(y.abs().max().item(), 1e-6)
        worst = max(worst, (x - y).abs().max().item() / scale)
    return worst


def measure_latency_ms(fn, inputs: Sequence[torch.Tensor], warmup: int, iters: int) -> float:
    """Median milliseconds per call of fn(*inputs)."""
    cuda = any(isinstance(t, torch.Tensor) and t.is_cuda for t in inputs)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            fn(*inputs)
        if cuda:
            torch.cuda.synchronize()
        for _ in range(iters):
            if cuda:
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn(*inputs)
                stop.record()
                stop.synchronize()
                times.append(start.elapsed_time(stop))
            else:
                t0 = time.perf_counter()
                fn(*inputs)
                times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


class TuneResult:
    """What ingot.tune measured. `table` has one row per combination tried:
    settings, build_s, latency_ms, engines, ops_in_engines, num_ops, max_rel_err, speedup
    (eager latency / latency), ok (error within tolerance), error (why a build failed, else None).
    `best_settings` is the chosen row's settings (compile keyword arguments)."""

    def __init__(self, metric: str, eager_latency_ms: float, table: List[dict], best: Optional[dict]):
        self.metric = metric
        self.eager_latency_ms = eager_latency_ms
        self.table = table
        self.best = best
        self.best_settings: Dict[str, int] = dict(best["settings"]) if best else {}

    def __str__(self) -> str:
        head = (f"ingot.tune (metric={self.metric}); eager PyTorch {self.eager_latency_ms:.3f} ms\n"
                f"  {'min_block_size':>14} {'opt_level':>9} {'build s':>8} {'latency ms':>10} {'speedup':>7} "
                f"{'engines':>7} {'ops in eng.':>11} {'max rel err':>11}")
        lines = [head]
        for row in self.table:
            s = row["settings"]
            mark = " <- best" if row is self.best else ""
            if row["error"]:
                lines.append(f"  {s['min_block_size']:>14} {s['optimization_level']:>9}  failed: {row['error']}")
                continue
            lines.append(f"  {s['min_block_size']:>14} {s['optimization_level']:>9} {row['build_s']:>8.2f} "
                         f"{row['latency_ms']:>10.3f} {row['speedup']:>6.2f}x {row['engines']:>7} "
                         f"{row['ops_in_engines']:>5}/{row['num_ops']:<5} {row['max_rel_err']:>11.2e}"
                         f"{'' if row['ok'] else ' (error too large)'}{mark}")
        if self.best is None:
            lines.append("  no combination built and matched eager PyTorch")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"TuneResult(best_settings={self.best_settings!r}, rows={len(self.table)})"


def tune(model: torch.nn.Module, inputs: Sequence[torch.Tensor], metric: str = "latency",
         min_block_sizes: Optional[Sequence[int]] = None, optimization_levels: Optional[Sequence[int]] = None,
         *, warmup: int = 3, iters: int = 20, max_rel_err: Optional[float] = None, **compile_kwargs) -> TuneResult:
    """Builds `model` with each combination of min_block_sizes x optimization_levels, checks the
    outputs against eager PyTorch, measures build time and latency, and returns a TuneResult
    whose best_settings minimize `metric` ("latency" or "build_time") among the combinations
    whose error is within tolerance. min_block_sizes default to the values the segmentation
    report lists as giving different partitions; optimization_levels default to (0, 3).
    Other keyword arguments go to every ingot.compile call."""
    from ingot._compile import compile, dryrun_report

    if metric not in _METRICS:
        raise Error(f"metric must be one of {', '.join(_METRICS)}, got {metric!r}")
    if not isinstance(model, torch.nn.Module):
        raise Error(f"ingot.tune takes an nn.Module, got {type(model).__name__}")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, torch.Tensor):
            raise Error(f"inputs[{i}] must be a tensor (tune runs the model), got {type(x).__name__}")
    for key in ("min_block_size", "optimization_level", "dryrun"):
        if key in compile_kwargs:
            raise Error(f"{key} is chosen by ingot.tune; do not pass it (use min_block_sizes= / optimization_levels=)")
    if warmup < 0 or iters < 1:
        raise Error(f"need warmup >= 0 and iters >= 1, got warmup={warmup}, iters={iters}")
    model = model.eval()

    if min_block_sizes is None:
        report = dryrun_report(model, inputs=inputs, **compile_kwargs)
        min_block_sizes = sorted({o[0] for o in report["options"]}) or [report["current_min_block_size"]]
    levels = list(_DEFAULT_LEVELS if optimization_levels is None else optimization_levels)
    sizes = list(min_block_sizes)
    if not sizes or not levels:
        raise Error("min_block_sizes and optimization_levels must not be empty")
    for v in sizes:
        if int(v) < 1:
            raise Error(f"min_block_sizes must be >= 1, got {v}")
    for v in levels:
        if not 0 <= int(v) <= 5:
            raise Error(f"optimization_levels must be in 0..5, got {v}")

    with torch.inference_mode():
        reference = model(*inputs)
    eager_ms = measure_latency_ms(model, inputs, warmup, iters)
    precisions = compile_kwargs.get("enabled_precisions") or {torch.float32}
    tol = max_rel_err if max_rel_err is not None else max(_TOLERANCE.get(p, 1e-3) for p in precisions)

    table: List[dict] = []
    for size, level in itertools.product(sizes, levels):
        settings = {"min_block_size": int(size), "optimization_level": int(level)}
        row = {"settings": settings, "build_s": None, "latency_ms": None, "engines": None, "ops_in_engines": None,
               "num_ops": None, "max_rel_err": None, "speedup": None, "ok": False, "error": None}
        t0 = time.perf_counter()
        try:
            gm = compile(model, inputs=inputs, progress=False, **settings, **compile_kwargs)
        except Error as e:
            row["error"] = str(e).splitlines()[0]
            table.append(row)
            logger.info("tune: %s failed to build: %s", settings, row["error"])
            continue
        row["build_s"] = time.perf_counter() - t0
        seg = gm._ingot_report
        row["engines"], row["ops_in_engines"], row["num_ops"] = seg["num_engines"], seg["ops_in_engines"], seg["num_ops"]
        with torch.inference_mode():
            row["max_rel_err"] = _max_rel_err(gm(*inputs), reference)
        row["ok"] = row["max_rel_err"] <= tol
        row["latency_ms"] = measure_latency_ms(gm, inputs, warmup, iters)
        row["speedup"] = eager_ms / row["latency_ms"] if row["latency_ms"] > 0 else float("inf")
        logger.info("tune: %s built in %.2f s, %.3f ms per call, max rel err %.2e", settings, row["build_s"],
                    row["latency_ms"], row["max_rel_err"])
        table.append(row)
        del gm

    key = "latency_ms" if metric == "latency" else "build_s"
    candidates = [r for r in table if r["ok"]]
    best = min(candidates, key=lambda r: (r[key], r["settings"]["min_block_size"])) if candidates else None
    return TuneResult(metric, eager_ms, table, best)
