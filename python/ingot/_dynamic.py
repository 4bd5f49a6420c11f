"""Dynamic shapes: optimization profiles, exporting with shared dimensions, and the symbol
ranges each profile gives the engines.

``inputs`` of ingot.compile is either one list of Input specs (one profile) or a list of such
lists, one per optimization profile (torch_tensorrt spells this as several profiles of one
engine; here each profile is a full list of the model's inputs). All profiles describe the same
inputs: same count, dtypes and ranks (a dim may be fixed in one profile and another size, or a
range, in the next). The model is
exported once over the union of the profiles' ranges; each engine gets every profile, and the
runtime runs a call with the first profile whose ranges contain the call's shapes.

Dimensions that the model forces to be equal (a sequence length shared by input_ids and
attention_mask) must be one torch.export symbol. `export` first tries one Dim per dynamic
dim; when torch.export rejects that, it lets torch.export find the equalities (Dim.AUTO),
then exports again with one named Dim per group, whose range is the intersection of the
group's ranges.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch.export import Dim

from ingot._errors import Error
from ingot._input import Input


def is_profile_list(inputs) -> bool:
    """True when `inputs` is a list of Input lists (several optimization profiles)."""
    return bool(inputs) and all(isinstance(x, (list, tuple)) for x in inputs)


def union_inputs(profiles: Sequence[Sequence[Input]]) -> List[Input]:
    """One Input per model input covering every profile: the smallest min, the largest max, and
    the first profile's opt. Checks that the profiles describe the same inputs."""
    first = profiles[0]
    for p, prof in enumerate(profiles):
        if len(prof) != len(first):
            raise Error(f"optimization profile {p} has {len(prof)} input(s), profile 0 has {len(first)}")
        for k, (a, b) in enumerate(zip(first, prof)):
            if not isinstance(b, Input):
                raise Error(f"optimization profile {p} input {k} must be an ingot.Input, got {type(b).__name__}")
            if a.dtype != b.dtype:
                raise Error(f"input {k} is {a.dtype} in profile 0 but {b.dtype} in profile {p}")
            if len(a.min_shape) != len(b.min_shape):
                raise Error(f"input {k} has rank {len(a.min_shape)} in profile 0 but {len(b.min_shape)} in profile {p}")
    out = []
    for k in range(len(first)):
        specs = [prof[k] for prof in profiles]
        lo = tuple(min(s.min_shape[d] for s in specs) for d in range(len(first[k].min_shape)))
        hi = tuple(max(s.max_shape[d] for s in specs) for d in range(len(first[k].min_shape)))
        if lo == hi:
            out.append(Input(shape=lo, dtype=first[k].dtype, name=first[k].name))
        else:
            opt = tuple(first[k].opt_shape)
            out.append(Input(min_shape=lo, opt_shape=opt, max_shape=hi, dtype=first[k].dtype, name=first[k].name))
    return out


def _example_shape(spec: Input) -> List[int]:
    """The opt shape, with dynamic dims of 0 or 1 raised to 2: torch.export specializes sizes 0
    and 1, so an example of that size would make the dim static."""
    shape = list(spec.opt_shape)
    for d in spec.dynamic_dims():
        if shape[d] < 2 <= spec.max_shape[d]:
            shape[d] = 2
    return shape


def _example(spec: Input, shape, device) -> torch.Tensor:
    s = Input(shape=shape, dtype=spec.dtype)
    s.tensor_domain = spec.tensor_domain
    return s.example_tensor(device=device)


def _export(module, args, kwarg_inputs, dynamic, defer=False):
    return torch.export.export(module, tuple(args), kwargs=kwarg_inputs or None, dynamic_shapes=dynamic,
                               prefer_deferred_runtime_asserts_over_guards=defer)


def export(module: torch.nn.Module, specs: Sequence[Input], example_tensors, kwarg_inputs, device):
    """torch.export of `module` with the ranges of `specs`; dims that the model forces equal
    become one symbol (see the module docstring)."""
    if example_tensors is not None or not any(s.is_dynamic() for s in specs):
        args = example_tensors if example_tensors is not None else [s.example_tensor(device=device) for s in specs]
        return _try(lambda: _export(module, args, kwarg_inputs, None))
    shapes = [_example_shape(s) for s in specs]
    dims = [(k, d) for k, s in enumerate(specs) for d in s.dynamic_dims()]
    per_dim = tuple({d: Dim(f"input{k}_dim{d}", min=s.min_shape[d], max=s.max_shape[d]) for d in s.dynamic_dims()}
                    or None for k, s in enumerate(specs))
    args = [_example(s, sh, device) for s, sh in zip(specs, shapes)]
    try:
        return _export(module, args, kwarg_inputs, per_dim)
    except Exception as first_error:  # noqa: BLE001 -- torch.export raises many types
        if len(dims) == 1:
            return _export_deferred(module, args, kwarg_inputs, per_dim)
        groups = _equal_dims(module, specs, shapes, kwarg_inputs, device, first_error)
    # One named Dim per group of equal dims, over the intersection of the group's ranges.
    dynamic: List[Optional[Dict[int, Dim]]] = [None] * len(specs)
    for g, members in enumerate(groups):
        lo = max(specs[k].min_shape[d] for k, d in members)
        hi = min(specs[k].max_shape[d] for k, d in members)
        names = ", ".join(f"input {k} dim {d}" for k, d in members)
        if lo > hi:
            raise Error(f"{names} must be equal in this model, but their ranges do not overlap")
        dim = Dim(f"dyn{g}", min=lo, max=hi)
        value = min(max(shapes[members[0][0]][members[0][1]], lo, 2), hi)
        for k, d in members:
            dynamic[k] = dynamic[k] or {}
            dynamic[k][d] = dim
            shapes[k][d] = value
    args = [_example(s, sh, device) for s, sh in zip(specs, shapes)]
    try:
        return _export(module, args, kwarg_inputs, tuple(dynamic))
    except Exception:  # noqa: BLE001
        return _export_deferred(module, args, kwarg_inputs, tuple(dynamic))


def _export_deferred(module, args, kwarg_inputs, dynamic):
    """torch.export cannot always prove a guard that holds over the whole range (e.g.
    min(s, 4*s) == s in nn.MultiheadAttention): let it defer such guards into runtime
    assertions, and check those at the ranges' corners."""
    ep = _try(lambda: _export(module, args, kwarg_inputs, dynamic, defer=True))
    _check_deferred_asserts(ep)
    return ep


def _check_deferred_asserts(ep) -> None:
    """Evaluates the runtime assertions of `ep` at every corner (min, max) of its symbol ranges;
    an assertion that fails at one means the model does not support that range."""
    import itertools

    ranges = {sym: (int(vr.lower), int(vr.upper)) for sym, vr in ep.range_constraints.items()
              if vr.upper.is_finite}
    for node in ep.graph.nodes:
        if node.op != "call_function" or node.target is not torch.ops.aten._assert_scalar.default:
            continue
        cond = node.args[0].meta.get("val") if isinstance(node.args[0], torch.fx.Node) else node.args[0]
        expr = cond.node.expr if hasattr(cond, "node") else None
        if expr is None or isinstance(cond, bool):
            continue
        syms = [s for s in expr.free_symbols if s in ranges]
        if len(syms) != len(expr.free_symbols) or len(syms) > 6:
            continue  # relates symbols that the engine binds itself (equal dims)
        for values in itertools.product(*(ranges[s] for s in syms)):
            if not bool(expr.subs(dict(zip(syms, values)))):
                at = ", ".join(f"{s} = {v}" for s, v in zip(syms, values))
                raise Error(f"the model does not support the whole dynamic range: its condition {expr} fails at {at}")


def _try(fn):
    try:
        return fn()
    except Error:
        raise
    except Exception as e:  # torch.export raises many types; name the stage
        raise Error(f"torch.export could not capture the model: {type(e).__name__}: {e}") from e


def _equal_dims(module, specs, shapes, kwarg_inputs, device, first_error) -> List[List[Tuple[int, int]]]:
    """Groups of (input, dim) that torch.export finds equal, found by exporting with Dim.AUTO.
    Shared dims get one example value so that the model traces."""
    # Dims with the same range are likely to be shared: give them one example value.
    by_range: Dict[Tuple[int, int], int] = {}
    for k, s in enumerate(specs):
        for d in s.dynamic_dims():
            shapes[k][d] = by_range.setdefault((s.min_shape[d], s.max_shape[d]), shapes[k][d])
    auto = tuple({d: Dim.AUTO(min=s.min_shape[d], max=s.max_shape[d]) for d in s.dynamic_dims()} or None
                 for s in specs)
    args = [_example(s, sh, device) for s, sh in zip(specs, shapes)]
    try:
        ep = _export(module, args, kwarg_inputs, auto)
    except Exception as e:  # noqa: BLE001
        raise Error(f"torch.export could not capture the model with dynamic dims: {type(first_error).__name__}: "
                    f"{first_error}\n(inferring shared dims failed too: {type(e).__name__}: {e})") from e
    vals = [n.meta["val"] for n in ep.graph.nodes
            if n.op == "placeholder" and n.name in ep.graph_signature.user_inputs]
    groups: Dict[str, List[Tuple[int, int]]] = {}
    for k, s in enumerate(specs):
        for d in s.dynamic_dims():
            size = vals[k].shape[d]
            if isinstance(size, int):
                names = f"input {k} dim {d}"
                raise Error(f"{names} is dynamic in the Input spec, but the model requires it to be {size}")
            groups.setdefault(str(size.node.expr), []).append((k, d))
    return list(groups.values())


def symbol_profiles(input_meta: Sequence[torch.Tensor], profiles: Sequence[Sequence[Input]]) -> List[dict]:
    """Per profile, {symbol: (min, opt, max)} for the symbols that are input dims of the exported
    program. A symbol shared by several dims gets the intersection of their ranges."""
    out = []
    for p, prof in enumerate(profiles):
        ranges: Dict[str, Tuple[int, int, int]] = {}
        for k, (val, spec) in enumerate(zip(input_meta, prof)):
            for d, size in enumerate(val.shape):
                if isinstance(size, int) or not hasattr(size, "node") or not size.node.expr.is_Symbol:
                    continue
                name = str(size.node.expr)
                lo, opt, hi = spec.min_shape[d], spec.opt_shape[d], spec.max_shape[d]
                if name in ranges:
                    plo, popt, phi = ranges[name]
                    lo, hi = max(lo, plo), min(hi, phi)
                    if lo > hi:
                        raise Error(f"optimization profile {p}: input {k} dim {d} must equal another input's dim, "
                                    f"but their ranges do not overlap")
                    opt = min(max(popt, lo), hi)
                ranges[name] = (lo, opt, hi)
        out.append(ranges)
    return out


def profile_dims(profiles: Sequence[Sequence[Input]]) -> Optional[tuple]:
    """Per profile, per input, ((min, max), ...): what check_inputs needs to pick a profile.
    None for a single profile (the union ranges say everything)."""
    if len(profiles) < 2:
        return None
    return tuple(tuple(tuple(zip(s.min_shape, s.max_shape)) for s in prof) for prof in profiles)


def last_profiles(module: torch.nn.Module) -> List[int]:
    """The optimization profile each engine of `module` (in graph order) ran its last call
    with; -1 for an engine without profiles or that has not run. A debugging aid."""
    out = []
    gm = module
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target == torch.ops.ingot.execute_engine.default:
            plan = getattr(gm, node.args[1].target)
            out.append(int(torch.ops.ingot.engine_last_profile(plan)))
    return out
