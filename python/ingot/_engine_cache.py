"""Reuse of built engines across torch.compile graphs.

A graph compiled by the ingot backend is identified by a hash of: its code (including the code
of nested graphs and the types of called submodules), the bytes of every weight and constant
tensor it reads, the shapes, dtypes and devices of its runtime inputs, the values of its fixed
scalars, and the compile settings. Two graphs with the same hash get the same compiled module
(engines are immutable and shareable), so a model compiled again after torch._dynamo.reset(),
or a second copy of a model with the same weights, builds nothing.
"""

from __future__ import annotations

import collections
import hashlib
import operator
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


def graph_key(gm: torch.fx.GraphModule, kinds: Sequence[str], args: Sequence[Any], settings_text: str) -> str:
    """The hash that identifies a graph specialized to `args` (see the module doc)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(gm.print_readable(print_output=False).encode())
    for name, mod in gm.named_modules():
        h.update(f"M{name}:{type(mod).__module__}.{type(mod).__qualname__}|".encode())
    for name, t in list(gm.named_parameters()) + list(gm.named_buffers()):
        h.update(f"S{name}|".encode())
        _update_tensor(h, t)
    for node in gm.graph.nodes:
        if node.op == "get_attr":
            value = operator.attrgetter(node.target)(gm)
            if isinstance(value, torch.Tensor):
                h.update(f"A{node.target}|".encode())
                _update_tensor(h, value)
    for kind, a in zip(kinds, args):
        h.update(f"I{kind}|".encode())
        if kind == "weight":
            _update_tensor(h, a)
        elif kind == "tensor":
            h.update(f"{tuple(a.shape)}{a.dtype}{a.device}|".encode())
        else:
            h.update(f"{type(a).__name__}={a!r}|".encode())
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
