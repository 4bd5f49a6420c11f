"""A TorchDynamo FX graph, specialized to one set of concrete inputs, as an ExportedProgram.

Dynamo hands a backend a torch-level FX graph whose placeholders are, in order, a mix of
  - weights: parameters and buffers of inlined nn.Modules (dynamo lifts them to inputs),
  - runtime tensors: the user's tensors, possibly with symbolic sizes,
  - scalars: SymInt / SymFloat / SymBool inputs (symbolic sizes, ints dynamo made dynamic).
The ingot backend compiles one static engine per concrete input signature: weights are frozen
into the program as buffers, scalars are baked in as constants, runtime tensors stay inputs.
Outputs that are not tensors (a size, None) are constants of that signature; a run on fake
tensors records them and `SpecializedGraph.merge_outputs` puts them back.
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import torch

from ingot._errors import Error

WEIGHT, TENSOR, SCALAR = "weight", "tensor", "scalar"


def placeholder_kinds(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> List[str]:
    """WEIGHT, TENSOR or SCALAR for each placeholder of a dynamo graph."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(example_inputs):
        raise Error(f"the graph has {len(placeholders)} inputs but dynamo gave {len(example_inputs)} example inputs")
    kinds = []
    for node, example in zip(placeholders, example_inputs):
        if isinstance(example, torch.Tensor):
            kinds.append(WEIGHT if _is_module_state(node, example) else TENSOR)
        elif isinstance(example, (int, float, bool, torch.SymInt, torch.SymFloat, torch.SymBool)):
            kinds.append(SCALAR)
        else:
            raise Error(f"graph input {node.name} is a {type(example).__name__}; "
                        f"the ingot backend takes tensors and numbers")
    return kinds


def _is_module_state(node: torch.fx.Node, example: torch.Tensor) -> bool:
    # Parameters and buffers of inlined modules: dynamo marks them "unguarded" static inputs
    # and their source goes through the module's _parameters / _buffers.
    if getattr(example, "_dynamo_static_input_type", None) == "unguarded":
        return True
    from torch._dynamo.source import is_from_unspecialized_param_buffer_source

    grapharg = node.meta.get("grapharg")
    source = getattr(grapharg, "source", None)
    return source is not None and is_from_unspecialized_param_buffer_source(source)


def is_symbolic(gm: torch.fx.GraphModule) -> bool:
    """True when dynamo traced the graph with symbolic sizes or values (after a recompilation)."""
    for node in gm.graph.nodes:
        if node.op != "placeholder":
            continue
        val = node.meta.get("example_value")
        if isinstance(val, (torch.SymInt, torch.SymFloat, torch.SymBool)):
            return True
        if isinstance(val, torch.Tensor) and any(not isinstance(d, int) for d in val.shape):
            return True
    return False


def _plain(t: torch.Tensor) -> torch.Tensor:
    """A normal (not inference, not requiring grad) tensor with t's values, sharing memory when allowed."""
    t = t.detach()
    return t.clone() if t.is_inference() else t


class SpecializedGraph(torch.nn.Module):
    """The dynamo graph with weights frozen and scalars fixed; forward takes the runtime tensors
    and returns the tensor outputs."""

    def __init__(self, gm: torch.fx.GraphModule, kinds: Sequence[str], args: Sequence[Any]):
        super().__init__()
        self.graph_module = gm
        self._slots: List[Tuple[str, Any]] = []
        for i, (kind, value) in enumerate(zip(kinds, args)):
            if kind == WEIGHT:
                name = f"weight{i}"
                self.register_buffer(name, _plain(value))
                self._slots.append((WEIGHT, name))
            elif kind == SCALAR:
                self._slots.append((SCALAR, _concrete(value)))
            else:
                self._slots.append((TENSOR, None))
        self._output_template: List[Any] = []

    def _graph_outputs(self, tensors) -> tuple:
        it = iter(tensors)
        args = [getattr(self, v) if kind == WEIGHT else v if kind == SCALAR else next(it) for kind, v in self._slots]
        outs = self.graph_module(*args)
        return tuple(outs) if isinstance(outs, (tuple, list)) else (outs,)

    def forward(self, *tensors):
        return tuple(o for o in self._graph_outputs(tensors) if isinstance(o, torch.Tensor))

    def record_outputs(self, tensors: Sequence[torch.Tensor]) -> None:
        """Runs the graph on fake copies of `tensors` to learn which outputs are tensors and the
        values of the others (constants of this input signature)."""
        from torch._subclasses.fake_tensor import FakeTensorMode

        with FakeTensorMode(allow_non_fake_inputs=True) as mode:
            outs = self._graph_outputs([mode.from_tensor(t) for t in tensors])
        template = []
        for o in outs:
            if isinstance(o, torch.Tensor):
                template.append(None)
            elif isinstance(o, (torch.SymInt, torch.SymFloat, torch.SymBool)):
                raise Error(f"the graph returns a symbolic {type(o).__name__} ({o}) that depends on tensor data")
            else:
                template.append(("constant", o))
        self._output_template = template

    def merge_outputs(self, tensor_outs: Sequence[torch.Tensor]) -> tuple:
        """The graph's full outputs: the compiled tensor outputs with the recorded constants put back."""
        it = iter(tensor_outs)
        return tuple(next(it) if slot is None else slot[1] for slot in self._output_template)

    def runtime_tensors(self, args: Sequence[Any]) -> List[torch.Tensor]:
        return [a for (kind, _), a in zip(self._slots, args) if kind == TENSOR]


def _concrete(value):
    if isinstance(value, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        raise Error(f"got a symbolic scalar ({value}) where a concrete value was expected")
    return value


def export(spec: SpecializedGraph, tensors: Sequence[torch.Tensor]) -> torch.export.ExportedProgram:
    """Exports the specialized graph with static shapes (the tensors' own), functionalized."""
    examples = tuple(_plain(t) for t in tensors)
    spec.record_outputs(examples)
    try:
        ep = torch.export.export(spec, examples, strict=False)
    except Error:
        raise
    except Exception as e:  # torch.export raises many types; name the stage
        raise Error(f"torch.export could not capture the graph: {type(e).__name__}: {e}") from e
    try:
        # Functionalize (no decompositions yet): in-place updates of inputs show in the signature.
        ep = ep.run_decompositions({})
    except Exception as e:
        raise Error(f"torch.export could not functionalize the graph: {type(e).__name__}: {e}") from e
    sig = ep.graph_signature
    if sig.user_inputs_to_mutate or sig.buffers_to_mutate:
        mutated = sorted(list(sig.user_inputs_to_mutate.values()) + list(sig.buffers_to_mutate.values()))
        raise Error(f"the graph mutates its inputs or module state in place ({', '.join(mutated)}); "
                    f"ingot engines do not write to their inputs")
    return ep
