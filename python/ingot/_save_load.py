"""ingot.save / ingot.load: compiled modules as torch.export archives (.pt2) with the engines
inside (each plan is a uint8 buffer of the program)."""

from __future__ import annotations

import os
from typing import Optional, Sequence

import torch
from torch.export import Dim

from ingot import _C
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
    specs = [Input.from_tensor(x) if isinstance(x, torch.Tensor) else x for x in specs]
    settings = getattr(module, "_ingot_settings", None)
    device = settings.device if settings is not None else torch.device("cpu")
    args = tuple(s.example_tensor(device=device) for s in specs)
    dynamic = None
    if any(s.is_dynamic() for s in specs):
        dynamic = tuple({d: Dim(f"input{k}_dim{d}", min=s.min_shape[d], max=s.max_shape[d]) for d in s.dynamic_dims()}
                        or None for k, s in enumerate(specs))
    try:
        ep = torch.export.export(module, args, kwargs=kwarg_inputs or None, dynamic_shapes=dynamic)
        torch.export.save(ep, path)
    except Error:
        raise
    except Exception as e:
        raise Error(f"cannot save the module to {os.fspath(path)}: {type(e).__name__}: {e}") from e


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
    try:
        ep = torch.export.load(p)
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
    return module
