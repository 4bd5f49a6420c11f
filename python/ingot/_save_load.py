"""ingot.save / ingot.load: compiled modules as torch.export archives (.pt2) with the engines
inside (each plan is a uint8 buffer of the program)."""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence

import torch

from ingot import _C, _dynamic, _runtime
from ingot._errors import Error
from ingot._input import Input


def save(module: torch.nn.Module, path, *, inputs: Optional[Sequence] = None, arg_inputs=None, kwarg_inputs=None,
         output_format: str = "exported_program") -> None:
    """Saves a module returned by ingot.compile to `path` (a torch.export archive). The input
    specs recorded at compile time are used unless `inputs` (Input specs or tensors) is given."""
    if output_format != "exported_program":
        raise Error(f"output_format={output_format!r} is not supported; use 'exported_program'")
    specs = inputs if inputs is not None else arg_inputs
    if specs is None:
        specs = getattr(module, "_ingot_input_specs", None)
        if specs is None:
            raise Error("ingot.save needs inputs= for a module that was not compiled by ingot.compile")
    if _dynamic.is_profile_list(specs):
        specs = _dynamic.union_inputs(specs)
    specs = [Input.from_tensor(x) if isinstance(x, torch.Tensor) else x for x in specs]
    settings = getattr(module, "_ingot_settings", None)
    device = settings.device if settings is not None else torch.device("cpu")
    ep = _dynamic.export(module, specs, None, kwarg_inputs, device)
    extra = {}
    checks = _input_checks(module)
    if checks is not None:
        extra[_CHECKS_FILE] = json.dumps(checks)
    try:
        torch.export.save(ep, path, extra_files=extra)
    except Exception as e:
        raise Error(f"cannot save the module to {os.fspath(path)}: {type(e).__name__}: {e}") from e


# The compiled module's input checks (names, dtypes, ranges, profiles), stored next to the
# program so that a loaded module reports out-of-range shapes as ingot.compile's module does
# (the guards torch.export adds would otherwise fire first, with their own wording).
_CHECKS_FILE = "ingot_input_checks.json"


def _input_checks(module):
    graph = getattr(module, "graph", None)
    if graph is None:
        return None
    for node in graph.nodes:
        if node.op == "call_function" and node.target is _runtime.check_inputs:
            return {"specs": node.args[1], "profiles": node.args[2] if len(node.args) > 2 else None}
    return None


def _tuples(x):
    return tuple(_tuples(v) for v in x) if isinstance(x, list) else x


class _CheckedModule(torch.nn.Module):
    """A loaded program behind ingot's input checks."""

    def __init__(self, inner: torch.nn.Module, specs, profiles):
        super().__init__()
        self.inner = inner
        self._specs = specs
        self._profiles = profiles

    def forward(self, *args, **kwargs):
        tensors = [x for x in torch.utils._pytree.tree_leaves((args, kwargs)) if isinstance(x, torch.Tensor)]
        _runtime.check_inputs(tuple(tensors), self._specs, self._profiles)
        return self.inner(*args, **kwargs)

    # per-layer profiling, as on compiled modules (the engines are found through `inner`)
    from ingot._profile import disable_profiling, enable_profiling, profiling_results  # noqa: E402


def _engine_buffers(ep):
    sig = ep.graph_signature
    for node in ep.graph.nodes:
        if node.op == "call_function" and node.target == torch.ops.ingot.execute_engine.default:
            plan_arg = node.args[1]
            name = sig.inputs_to_buffers.get(plan_arg.name) or sig.inputs_to_lifted_tensor_constants.get(plan_arg.name)
            tensor = ep.state_dict.get(name) if name in ep.state_dict else ep.constants.get(name)
            yield node, tensor


def load(path, *, verify: bool = True) -> torch.nn.Module:
    """Loads a module saved by ingot.save. Every engine is verified first (checksum, format
    version, backend); a corrupt or foreign file raises ingot.Error naming the problem."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise Error(f"cannot load {p}: no such file")
    extra = {_CHECKS_FILE: ""}
    try:
        ep = torch.export.load(p, extra_files=extra)
    except Exception as e:
        raise Error(f"cannot load {p}: not a readable torch.export archive ({type(e).__name__}: {e})") from e
    if verify:
        for node, tensor in _engine_buffers(ep):
            if tensor is None:
                raise Error(f"cannot load {p}: engine call %{node.name} has no plan buffer")
            try:
                _C.verify_plan(tensor.contiguous().numpy().tobytes())
            except Error as e:
                raise Error(f"cannot load {p}: engine in %{node.name} is invalid: {e}") from None
    module = ep.module()
    if isinstance(module, torch.fx.GraphModule) and any(True for _ in _engine_buffers(ep)):
        from ingot._profile import attach_methods

        attach_methods(module)
    if not extra[_CHECKS_FILE]:
        return module
    try:
        checks = json.loads(extra[_CHECKS_FILE])
    except ValueError as e:
        raise Error(f"cannot load {p}: corrupt {_CHECKS_FILE}: {e}") from None
    return _CheckedModule(module, _tuples(checks["specs"]), _tuples(checks["profiles"]))
