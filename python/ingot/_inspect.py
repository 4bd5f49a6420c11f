"""ingot.inspect: what an engine became, as JSON (the same C++ code as `ingot inspect FILE`)."""

from __future__ import annotations

import json
import os

import torch

from ingot import _C
from ingot._errors import Error

_MAGIC = b"INGOTPLN"


def _inspect_bytes(data: bytes) -> dict:
    return json.loads(_C.inspect_plan(bytes(data)))


def inspect(obj) -> dict:
    """Describes engines: layers, the ATen nodes and nn.Module paths fused into each, precision,
    layout, chosen tactic and the alternatives timed, memory (activations, weights, workspace).

    `obj` is a module returned by ingot.compile or ingot.load (gives {"engines": [...]}, one
    entry per engine), the path of an .ingot engine file or of a .pt2 archive saved by
    ingot.save, or serialized plan bytes (both give one engine's entry)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return _inspect_bytes(bytes(obj))
    if isinstance(obj, torch.Tensor):
        if obj.dtype != torch.uint8 or obj.dim() != 1:
            raise Error(f"a plan tensor must be 1-D uint8, got {obj.dtype} with shape {tuple(obj.shape)}")
        return _inspect_bytes(obj.cpu().numpy().tobytes())
    if isinstance(obj, (str, os.PathLike)):
        path = os.fspath(obj)
        try:
            with open(path, "rb") as f:
                head = f.read(len(_MAGIC))
        except OSError as e:
            raise Error(f"cannot open engine file '{path}': {e.strerror}") from None
        if head == _MAGIC:
            with open(path, "rb") as f:
                data = f.read()
            try:
                return _inspect_bytes(data)
            except Error as e:
                raise Error(f"engine file '{path}': {e}") from None
        from ingot._save_load import load

        return inspect(load(path))
    if isinstance(obj, torch.nn.Module):
        from ingot._profile import engine_plans

        return {"engines": [inspect(p) for p in engine_plans(obj)]}
    raise Error(f"ingot.inspect takes a compiled module, an engine file path or plan bytes, got {type(obj).__name__}")
