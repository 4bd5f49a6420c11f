"""Reuse of built engines across torch.compile graphs.

A graph compiled by the ingot backend is identified, once exported for one input signature, by a
hash of: the exported ATen graph (with nested graphs) and its signature, the bytes of every
weight and constant tensor, the shapes, dtypes and devices of the inputs, and the compile
settings. Graphs with the same hash share one compiled module (engines are immutable and
shareable): a model compiled again after torch._dynamo.reset(), a second copy of a model with the
same weights, or a static and a dynamic dynamo graph called with the same shapes build once.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from typing import Any, Callable, Dict, Sequence

import torch

_MAX_ENTRIES = 64

_lock = threading.Lock()
_entries: "collections.OrderedDict[str, Any]" = collections.OrderedDict()
_stats: Dict[str, int] = {"builds": 0, "reused": 0, "fallbacks": 0}


def _update_tensor(h, t: torch.Tensor) -> None:
    t = t.detach()
    h.update(f"T{tuple(t.shape)}{t.dtype}{t.device}|".encode())
    if t.numel() == 0:
        return
    data = t.cpu().contiguous().reshape(-1).view(torch.uint8)
    h.update(memoryview(data.numpy()))


def program_key(ep: torch.export.ExportedProgram, inputs: Sequence[torch.Tensor], settings_text: str) -> str:
    """The hash that identifies a specialized graph (see the module doc)."""
    h = hashlib.blake2b(digest_size=20)
    for name, mod in ep.graph_module.named_modules():
        if isinstance(mod, torch.fx.GraphModule):
            h.update(f"G{name}:{mod.graph}|".encode())
    h.update(f"S{ep.graph_signature}|".encode())
    for name, t in sorted(list(ep.state_dict.items()) + list(ep.constants.items()), key=lambda kv: kv[0]):
        h.update(f"W{name}|".encode())
        if isinstance(t, torch.Tensor):
            _update_tensor(h, t)
        else:
            h.update(f"{type(t).__name__}:{t!r}|".encode())
    for t in inputs:
        h.update(f"I{tuple(t.shape)}{t.dtype}{t.device}|".encode())
    h.update(settings_text.encode())
    return h.hexdigest()


def get_or_build(key: str, build: Callable[[], Any]) -> Any:
    """The cached value for `key`, or build() stored under it. Builds run outside the lock."""
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            _stats["reused"] += 1
            return _entries[key]
    value = build()
    with _lock:
        _stats["builds"] += 1
        _entries[key] = value
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def count_fallback() -> None:
    with _lock:
        _stats["fallbacks"] += 1


def stats() -> Dict[str, int]:
    """builds: graphs compiled into engines; reused: graphs served from the cache;
    fallbacks: graphs (or input signatures) left to PyTorch because they did not compile;
    cached: entries held now."""
    with _lock:
        return dict(_stats, cached=len(_entries))


def clear() -> None:
    """Forgets every cached engine and resets the counters."""
    with _lock:
        _entries.clear()
        for k in _stats:
            _stats[k] = 0
