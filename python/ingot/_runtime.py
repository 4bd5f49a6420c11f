"""The PyTorch side of running engines: loads the torch op library that registers
torch.ops.ingot.execute_engine, registers the op's shape function (for FakeTensor tracing,
torch.export and save/load), and checks a compiled module's inputs."""

from __future__ import annotations

import functools
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from ingot._errors import Error

_LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libingot_torch.so")
if not hasattr(torch.ops.ingot, "execute_engine"):
    if not os.path.exists(_LIB):
        raise ImportError(f"ingot's torch op library is missing: {_LIB} (is ingot built?)")
    torch.ops.load_library(_LIB)

_TORCH_DTYPES = {
    "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64,
    "int8": torch.int8, "uint8": torch.uint8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
    "bool": torch.bool,
}


@functools.lru_cache(maxsize=256)
def parse_signature(signature: str) -> dict:
    try:
        sig = json.loads(signature)
    except ValueError as e:
        raise Error(f"corrupt engine signature: {e}") from None
    for io in sig["inputs"] + sig["outputs"]:
        io["torch_dtype"] = _TORCH_DTYPES[io["dtype"]]
    return sig


def _eval_dim(dim, env):
    if isinstance(dim, int):
        return dim
    # The grammar of ingot's symbolic expressions is a subset of Python's, with the same floor
    # semantics for // and %.
    return eval(dim, {"__builtins__": {}}, {**env, "max": torch.sym_max, "min": torch.sym_min})  # noqa: S307


def output_shapes(sig: dict, inputs: Sequence[torch.Tensor]) -> List[List]:
    env: Dict[str, object] = {}
    for spec, t in zip(sig["inputs"], inputs):
        for d, size in zip(spec["shape"], t.shape):
            if isinstance(d, str) and d.isidentifier():
                env.setdefault(d, size)
    return [[_eval_dim(d, env) for d in spec["shape"]] for spec in sig["outputs"]]


@torch.library.register_fake("ingot::execute_engine")
def _execute_engine_fake(inputs, plan, signature):
    sig = parse_signature(signature)
    device = inputs[0].device if inputs else torch.device("cpu")
    if sig["backend"] == "cpu":
        device = torch.device("cpu")
    return [torch.empty(shape, dtype=spec["torch_dtype"], device=device)
            for shape, spec in zip(output_shapes(sig, inputs), sig["outputs"])]


def _tracing(x) -> bool:
    if type(x) is torch.Tensor and not torch.compiler.is_compiling():
        # A plain tensor outside dynamo: real data unless a fake mode is active. The cheap test
        # first (this runs on every call of a compiled module, before any GPU work is queued).
        return torch._C._get_dispatch_mode(torch._C._TorchDispatchModeKey.FAKE) is not None
    return isinstance(x, torch._subclasses.FakeTensor) or torch.compiler.is_compiling() or (
        torch._guards.detect_fake_mode() is not None)


def check_inputs(inputs: Tuple[torch.Tensor, ...], specs: Tuple, profiles: Optional[Tuple] = None) -> None:
    """Checks a compiled module's inputs against what it was compiled for; raises ingot.Error
    naming the input and the expectation. `specs`: (name, dtype name, ((min, max), ...)) per
    input, the ranges over all profiles; `profiles`: per optimization profile, per input,
    ((min, max), ...), or None for one profile."""
    if len(inputs) != len(specs):
        raise Error(f"the compiled module takes {len(specs)} tensor input(s), got {len(inputs)}")
    for x, (name, dtype, dims) in zip(inputs, specs):
        if not isinstance(x, torch.Tensor):
            raise Error(f"input '{name}' must be a tensor, got {type(x).__name__}")
        if _tracing(x):
            return
        if str(x.dtype).replace("torch.", "") != dtype:
            raise Error(f"input '{name}' must have dtype torch.{dtype}, got {x.dtype}")
        if x.dim() != len(dims):
            raise Error(f"input '{name}' must have rank {len(dims)} (shape {_range_str(dims)}), got shape {tuple(x.shape)}")
        for i, (size, (lo, hi)) in enumerate(zip(x.shape, dims)):
            if lo <= size <= (hi if hi is not None else size):
                continue
            if lo == hi:
                raise Error(f"input '{name}' dim {i} must be {lo} (shape {_range_str(dims)}), got shape {tuple(x.shape)}")
            raise Error(f"input '{name}' dim {i} is {size}, outside the range [{lo}, {_bound(hi)}] the module was "
                        f"compiled for (shape {_range_str(dims)}, got {tuple(x.shape)})")
    if profiles:
        _check_profiles(inputs, specs, profiles)


def _check_profiles(inputs, specs, profiles) -> None:
    def fits(prof):
        return all(lo <= size <= hi for x, dims in zip(inputs, prof) for size, (lo, hi) in zip(x.shape, dims))

    if any(fits(prof) for prof in profiles):
        return
    # Name a dim whose value no profile's range holds; else the combination is the problem.
    for k, (x, (name, _, _)) in enumerate(zip(inputs, specs)):
        for i, size in enumerate(x.shape):
            ranges = [prof[k][i] for prof in profiles]
            if not any(lo <= size <= hi for lo, hi in ranges):
                allowed = ", ".join(f"[{lo}, {hi}] (profile {p})" for p, (lo, hi) in enumerate(ranges))
                raise Error(f"input '{name}' dim {i} is {size}, which no optimization profile covers; the profiles "
                            f"allow {allowed} (got shape {tuple(x.shape)})")
    shapes = ", ".join(f"'{name}' {tuple(x.shape)}" for x, (name, _, _) in zip(inputs, specs))
    allowed = "; ".join(f"profile {p}: " + ", ".join(f"'{name}' {_range_str(dims)}" for (name, _, _), dims
                                                      in zip(specs, prof)) for p, prof in enumerate(profiles))
    raise Error(f"no optimization profile covers the input shapes {shapes} together ({allowed})")


def _bound(hi) -> str:
    return "inf" if hi is None else str(hi)


def _range_str(dims) -> str:
    return "(" + ", ".join(str(lo) if lo == hi else f"{lo}..{hi if hi is not None else 'inf'}" for lo, hi in dims) + ")"
