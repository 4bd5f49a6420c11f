"""Compile settings: one home and one default for each."""

from __future__ import annotations

import dataclasses
from typing import FrozenSet, List, Optional

import torch

from ingot._errors import Error

_PRECISIONS = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


@dataclasses.dataclass
class CompileSettings:
    enabled_precisions: FrozenSet[torch.dtype] = frozenset({torch.float32})
    min_block_size: int = 5
    torch_executed_ops: List[str] = dataclasses.field(default_factory=list)
    require_full_compilation: bool = False
    device: torch.device = torch.device("cpu")
    optimization_level: int = 3
    disable_tf32: bool = False
    dryrun: bool = False
    fold_constants: bool = True
    timing_cache: str = ""  # a file; tactics measured by earlier builds are reused (CUDA)

    def to_spec(self, name: str) -> dict:
        return {
            "min_block_size": int(self.min_block_size),
            "torch_executed_ops": list(self.torch_executed_ops),
            "require_full_compilation": bool(self.require_full_compilation),
            "enabled_precisions": sorted(_PRECISIONS[p] for p in self.enabled_precisions),
            "backend": "cuda" if self.device.type == "cuda" else "cpu",
            "optimization_level": int(self.optimization_level),
            "disable_tf32": bool(self.disable_tf32),
            "dryrun": bool(self.dryrun),
            "fold_constants": bool(self.fold_constants),
            "timing_cache": self.timing_cache,
            "name": name,
        }


def op_name(op) -> str:
    """Normalizes a torch_executed_ops entry to an IR op name ("aten::relu", "aten::add.Tensor")."""
    if isinstance(op, torch._ops.OpOverload):
        schema = op._schema
        return schema.name + (f".{schema.overload_name}" if schema.overload_name else "")
    if isinstance(op, torch._ops.OpOverloadPacket):
        return op._qualified_op_name
    if isinstance(op, str):
        s = op
        if s.startswith("torch.ops."):
            s = s[len("torch.ops."):]
            ns, _, rest = s.partition(".")
            s = f"{ns}::{rest}"
        if s.endswith(".default"):
            s = s[: -len(".default")]
        if "::" not in s:
            raise Error(f"torch_executed_ops entry {op!r} must name an op like 'aten::relu' or torch.ops.aten.relu.default")
        return s
    raise Error(f"torch_executed_ops entry {op!r} must be an op overload or a string")


def make_settings(enabled_precisions=None, min_block_size=5, torch_executed_ops=None, require_full_compilation=False,
                  device=None, optimization_level=None, disable_tf32=False, dryrun=False,
                  timing_cache=None) -> CompileSettings:
    precisions = set(enabled_precisions or {torch.float32})
    for p in precisions:
        if p not in _PRECISIONS:
            raise Error(f"enabled_precisions may hold torch.float32, torch.float16 and torch.bfloat16; got {p}")
    if int(min_block_size) < 1:
        raise Error(f"min_block_size must be >= 1, got {min_block_size}")
    level = 3 if optimization_level is None else int(optimization_level)
    if not 0 <= level <= 5:
        raise Error(f"optimization_level must be in 0..5, got {optimization_level}")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return CompileSettings(
        enabled_precisions=frozenset(precisions),
        min_block_size=int(min_block_size),
        torch_executed_ops=[op_name(o) for o in (torch_executed_ops or [])],
        require_full_compilation=bool(require_full_compilation),
        device=dev,
        optimization_level=level,
        disable_tf32=bool(disable_tf32),
        dryrun=bool(dryrun),
        timing_cache=_timing_cache_path(timing_cache),
    )


def _timing_cache_path(path) -> str:
    if path is None:
        return ""
    import os
    p = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(parent):
        raise Error(f"timing_cache {p!r}: directory {parent!r} does not exist")
    if os.path.isdir(p):
        raise Error(f"timing_cache {p!r} is a directory; give a file path")
    return p
