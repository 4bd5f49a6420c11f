"""The torch.compile backend: torch.compile(model, backend="ingot", options={...}).

Dynamo calls `ingot_backend` once per FX graph (one per region between graph breaks, and again
on each recompilation). Each graph is compiled by the ingot.compile pipeline into a module
whose supported parts run in engines. Choices:
  - Static engines per input signature. A graph dynamo traced with symbolic sizes (after a
    recompilation, or with dynamic=True) is compiled on its first call with each new
    signature (shapes, dtypes, scalar values); a static graph is compiled right away.
  - Weights are frozen: parameters and buffers are read once, when the graph is compiled.
    Other weight tensors (another instance of the model) get their own build; after changing
    weights in place, call torch._dynamo.reset() and ingot._dynamo_backend.clear_cache().
  - Identical graphs (same exported ATen graph, weights, input shapes, options) share one build.
  - A graph that does not compile runs in PyTorch with a logged warning, unless
    require_full_compilation is set, which raises.
  - Inference only: the engines have no autograd.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional, Sequence

import torch

from ingot import _compile, _dynamo_graph, _engine_cache
from ingot._errors import Error
from ingot._settings import CompileSettings, make_settings

logger = logging.getLogger("ingot")

BACKEND_NAME = "ingot"

# The compile settings the backend takes in options={...}, with ingot.compile's meaning.
OPTIONS = ("enabled_precisions", "min_block_size", "torch_executed_ops", "require_full_compilation", "device",
           "optimization_level", "disable_tf32", "timing_cache")


def parse_options(options: Optional[Dict[str, Any]], example_inputs: Sequence[Any]) -> CompileSettings:
    """Validates the backend options into CompileSettings. The device defaults to the device of
    the graph's first tensor input (CUDA tensors get CUDA engines)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise Error(f"the ingot backend's options must be a dict, got {type(options).__name__}")
    unknown = sorted(str(k) for k in options if k not in OPTIONS)
    if unknown:
        raise Error(f"unknown ingot backend option(s): {', '.join(unknown)}; the options are: {', '.join(OPTIONS)}")
    kwargs = dict(options)
    if kwargs.get("device") is None:
        kwargs["device"] = next((t.device for t in example_inputs if isinstance(t, torch.Tensor)), torch.device("cpu"))
    settings = make_settings(**kwargs)
    if settings.device.type not in ("cpu", "cuda"):
        raise Error(f"device {settings.device} is not supported; use a CUDA device or 'cpu'")
    return settings


def _settings_text(s: CompileSettings) -> str:
    return repr(sorted(s.to_spec("engine").items())) + str(s.device)


def ingot_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any], *, options: Optional[Dict[str, Any]] = None,
                  mode: Optional[str] = None, **kwargs) -> Callable:
    """The dynamo backend. `options` are ingot.compile's settings; keyword arguments are merged
    into them (for use as `functools.partial(ingot_backend, min_block_size=1)`)."""
    if mode is not None:
        raise Error(f"torch.compile mode={mode!r} is not supported by the ingot backend; "
                    f"use options={{'optimization_level': 0..5}} to set the build effort")
    if options is not None and not isinstance(options, dict):
        raise Error(f"the ingot backend's options must be a dict, got {type(options).__name__}")
    merged = dict(options or {})
    for k, v in kwargs.items():
        if k in merged:
            raise Error(f"ingot backend option {k} is given twice (in options and as a keyword)")
        merged[k] = v
    return CompiledGraph(gm, list(example_inputs), parse_options(merged, example_inputs))


class CompiledGraph:
    """What the backend returns for one dynamo graph: a callable that runs the graph's compiled
    module for the signature of its arguments (building it on first use), or the graph itself
    in PyTorch where compiling failed.

    The signature holds the identity of each weight tensor: dynamo passes weights as graph
    inputs and serves every instance of a model class from one graph, so another instance (other
    weights) gets its own build. Each variant keeps its weight tensors alive, so identities are
    never reused while it exists."""

    def __init__(self, gm: torch.fx.GraphModule, example_inputs: list, settings: CompileSettings):
        self.gm = gm
        self.settings = settings
        self.settings_text = _settings_text(settings)
        self.kinds = _dynamo_graph.placeholder_kinds(gm, example_inputs)
        self.dynamic = _dynamo_graph.is_symbolic(gm)
        self.weight_index = [i for i, k in enumerate(self.kinds) if k == _dynamo_graph.WEIGHT]
        self.variants: Dict[tuple, Callable] = {}
        # Static graphs: (weight identities, variant) of the build for the example inputs.
        self.static: Optional[tuple] = None
        if not self.dynamic:
            # Symbolic graphs get SymInts among their example inputs: they are built at their first call.
            self.static = (self._weight_ids(example_inputs), self._variant(example_inputs))

    def __call__(self, *args):
        if self.static is not None and self._weight_ids(args) == self.static[0]:
            return self.static[1](args)
        key = self._signature(args)
        run = self.variants.get(key) or self._variant(args, key)
        return run(args)

    def compiled_modules(self) -> list:
        """The ingot modules built for this graph so far, one per signature (None: runs in PyTorch)."""
        return [v.module for v in self.variants.values()]

    def _weight_ids(self, args) -> tuple:
        return tuple(id(args[i]) for i in self.weight_index)

    def _signature(self, args) -> tuple:
        sig = []
        for kind, a in zip(self.kinds, args):
            if kind == _dynamo_graph.TENSOR:
                sig.append((tuple(a.shape), a.dtype, a.device))
            elif kind == _dynamo_graph.SCALAR:
                sig.append((type(a), a))
            else:
                sig.append(id(a))
        return tuple(sig)

    def _variant(self, args, key: Optional[tuple] = None) -> Callable:
        with torch.inference_mode(False), torch.no_grad():
            try:
                variant = self._build(args)
            except Exception as e:  # never crash the user's program unless told to
                if self.settings.require_full_compilation:
                    if isinstance(e, Error):
                        raise
                    raise Error(f"the ingot backend could not compile a graph: {type(e).__name__}: {e}") from e
                variant = self._fallback(e)
        variant.weights = [args[i] for i in self.weight_index]
        self.variants[key if key is not None else self._signature(args)] = variant
        return variant

    def _build(self, args) -> Callable:
        spec = _dynamo_graph.SpecializedGraph(self.gm, self.kinds, args)
        tensors = spec.runtime_tensors(args)
        ep = _dynamo_graph.export(spec, tensors)
        key = _engine_cache.program_key(ep, tensors, self.settings_text)
        module = _engine_cache.get_or_build(key, lambda: self._compile(ep, tensors))

        def run(call_args):
            return spec.merge_outputs(module(*spec.runtime_tensors(call_args)))

        run.module = module
        return run

    def _compile(self, ep, tensors) -> torch.fx.GraphModule:
        s = self.settings
        module = _compile.compile(
            ep, ir="dynamo", inputs=tensors, enabled_precisions=s.enabled_precisions, min_block_size=s.min_block_size,
            torch_executed_ops=s.torch_executed_ops, require_full_compilation=s.require_full_compilation,
            device=s.device, optimization_level=s.optimization_level, disable_tf32=s.disable_tf32,
            timing_cache=s.timing_cache or None)
        logger.info("ingot backend: compiled a graph of %d nodes into %d engine(s) in %.2f s",
                    len(self.gm.graph.nodes), len(module._ingot_report.get("ops_per_engine", [])),
                    module._ingot_build_seconds)
        return module

    def _fallback(self, error: Exception) -> Callable:
        _engine_cache.count_fallback()
        logger.warning("ingot backend: a graph runs in PyTorch because it did not compile: %s: %s",
                       type(error).__name__, error)
        gm = self.gm

        def run(call_args):
            return gm(*call_args)

        run.module = None
        return run


def stats() -> Dict[str, int]:
    """Counters of the backend: builds, reused (cache hits), fallbacks, cached (entries)."""
    return _engine_cache.stats()


def clear_cache() -> None:
    """Forgets the engines the backend built and resets stats()."""
    _engine_cache.clear()


def register() -> None:
    """Registers the backend with torch under the name "ingot", unless torch finds it by itself
    through the torch_dynamo_backends entry point of an installed ingot. (Registering a name
    twice is an error in torch: an entry point is loaded by registering what it names.)"""
    global _registered
    if _registered:
        return
    _registered = True
    from importlib.metadata import entry_points

    if any(ep.name == BACKEND_NAME for ep in entry_points(group="torch_dynamo_backends")):
        return
    from torch._dynamo import register_backend

    register_backend(ingot_backend, name=BACKEND_NAME)


_registered = False
