"""Per-layer profiling of compiled modules.

    with ingot.profile(trt) as prof:
        for _ in range(10):
            trt(x)
    print(prof)                          # table: engines and their slowest layers
    prof.save_json("profile.json")
    prof.save_chrome_trace("trace.json")  # chrome://tracing, https://ui.perfetto.dev

or `trt.enable_profiling()` ... `prof = trt.disable_profiling()`.

While profiling, every engine call records its time and each layer's time with one clock
(std::chrono on the CPU backend; CUDA events on the GPU backend, which then runs layer by layer
instead of replaying CUDA graphs and waits for each call to finish). Profiling adds overhead,
so measure end-to-end latency without it.
"""

from __future__ import annotations

import json
import os
from typing import List

import torch

from ingot._errors import Error

_EXECUTE = None


def _execute_op():
    global _EXECUTE
    if _EXECUTE is None:
        _EXECUTE = torch.ops.ingot.execute_engine.default
    return _EXECUTE


def _get_attr(root: torch.nn.Module, target: str):
    obj = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def engine_plans(module: torch.nn.Module) -> List[torch.Tensor]:
    """The plan buffers of every engine a compiled module calls, in graph order (each once)."""
    if not isinstance(module, torch.nn.Module):
        raise Error(f"expected a module returned by ingot.compile or ingot.load, got {type(module).__name__}")
    plans, seen = [], set()
    for gm in module.modules():
        if not isinstance(gm, torch.fx.GraphModule):
            continue
        for node in gm.graph.nodes:
            if node.op != "call_function" or node.target is not _execute_op():
                continue
            plan_node = node.args[1]
            if not isinstance(plan_node, torch.fx.Node) or plan_node.op != "get_attr":
                raise Error(f"engine call {node.name} does not read its plan from a module attribute")
            plan = _get_attr(gm, plan_node.target)
            if id(plan) not in seen:
                seen.add(id(plan))
                plans.append(plan)
    if not plans:
        raise Error("this module calls no ingot engine (was it produced by ingot.compile or ingot.load?)")
    return plans


def _control(plan: torch.Tensor, action: str) -> dict:
    try:
        return json.loads(torch.ops.ingot.profile_engine(plan, action))
    except RuntimeError as e:
        raise Error(str(e)) from None


class Profile:
    """What ingot.profile recorded: one entry per engine (the JSON of runtime/profiler.h)."""

    def __init__(self, engines: List[dict]):
        self.engines = engines

    # ------------------------------------------------------------ views

    @property
    def total_ms(self) -> float:
        """Engine time over all recorded calls, summed over engines."""
        return sum(e["engine_total_ms"] for e in self.engines)

    def layers(self) -> List[dict]:
        """Every layer of every engine, with its engine's name, slowest first."""
        rows = [dict(layer, engine=e["engine"]) for e in self.engines for layer in e["layers"]]
        return sorted(rows, key=lambda r: -r["total_ms"])

    def to_dict(self) -> dict:
        return {"version": 1, "engines": self.engines, "total_ms": self.total_ms}

    def __str__(self) -> str:
        lines = []
        for e in self.engines:
            lines.append(f"engine {e['engine']} ({e['backend']}, {e['clock']}): {e['calls']} call(s), "
                         f"{e['engine_mean_ms']:.4f} ms per call; layers sum to "
                         f"{100 * e['layer_sum_ratio']:.1f}% of it")
            layers = sorted(e["layers"], key=lambda r: -r["total_ms"])
            for layer in layers[:15]:
                where = ", ".join(layer["modules"]) or ", ".join(layer["origins"]) or "-"
                lines.append(f"  {layer['mean_ms']:9.4f} ms {100 * layer['share']:5.1f}%  {layer['kind']:<13} "
                             f"{layer['name']}  [{where}]")
            if len(layers) > 15:
                lines.append(f"  ... {len(layers) - 15} more layer(s)")
        return "\n".join(lines)

    # ------------------------------------------------------------ files

    def save_json(self, path) -> None:
        with open(os.fspath(path), "w") as f:
            json.dump(self.to_dict(), f, indent=1)

    def chrome_trace(self) -> dict:
        """The profile in the trace-event format (chrome://tracing, Perfetto): one row per
        engine; per call an event for the engine and, inside it, one per layer laid end to end
        from the call's start (times in microseconds)."""
        events = [{"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "ingot engines"}}]
        for tid, e in enumerate(self.engines, start=1):
            events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
                           "args": {"name": f"engine {e['engine']} ({e['backend']})"}})
            layers = e["layers"]
            for k, call in enumerate(e["call_records"]):
                start = call["start_us"]
                events.append({"name": e["engine"], "cat": "engine", "ph": "X", "pid": 1, "tid": tid, "ts": start,
                               "dur": call["engine_ms"] * 1000.0, "args": {"call": k}})
                t = start
                for layer, ms in zip(layers, call["layer_ms"]):
                    events.append({"name": layer["name"], "cat": layer["kind"], "ph": "X", "pid": 1, "tid": tid,
                                   "ts": t, "dur": ms * 1000.0,
                                   "args": {"origins": layer["origins"], "ops": layer["ops"],
                                            "modules": layer["modules"], "call": k}})
                    t += ms * 1000.0
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def save_chrome_trace(self, path) -> None:
        with open(os.fspath(path), "w") as f:
            json.dump(self.chrome_trace(), f)


class profile(Profile):
    """Context manager: profiles every engine of `module` for the calls made inside it.

    `with ingot.profile(trt) as prof: trt(x)` -- after the block `prof` holds the profile (an
    ingot.Profile); inside it, `prof.read()` returns what was recorded so far."""

    def __init__(self, module: torch.nn.Module):
        super().__init__([])
        self._plans = engine_plans(module)

    def __enter__(self) -> "profile":
        start(self._plans)
        return self

    def __exit__(self, *exc) -> None:
        self.engines = stop(self._plans).engines

    def read(self) -> Profile:
        return read(self._plans)


def start(plans: List[torch.Tensor]) -> None:
    for p in plans:
        _control(p, "start")


def read(plans: List[torch.Tensor]) -> Profile:
    return Profile([_control(p, "read") for p in plans])


def stop(plans: List[torch.Tensor]) -> Profile:
    return Profile([_control(p, "stop") for p in plans])


# ---------------------------------------------------------------- methods of compiled modules

def enable_profiling(self) -> None:
    """Starts per-layer profiling of this module's engines (a fresh profile)."""
    start(engine_plans(self))


def profiling_results(self) -> Profile:
    """What was recorded since enable_profiling(), without stopping."""
    return read(engine_plans(self))


def disable_profiling(self) -> Profile:
    """Stops profiling and returns what was recorded."""
    return stop(engine_plans(self))


def attach_methods(gm: torch.fx.GraphModule) -> None:
    """Adds enable_profiling / profiling_results / disable_profiling to a compiled module (its
    class is its own: torch.fx makes one per GraphModule)."""
    cls = type(gm)
    cls.enable_profiling = enable_profiling
    cls.profiling_results = profiling_results
    cls.disable_profiling = disable_profiling
