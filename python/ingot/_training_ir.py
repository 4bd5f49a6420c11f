"""Export's training IR -> the ATen forms ingot converts, by editing the FX graph in place.

torch.export returns the training IR: composite ops (conv2d, linear, batch_norm, layer_norm,
reshape, transpose, dropout) and in-place ops (relu_, add_, silu_). ExportedProgram.
run_decompositions turns that into functional core ATen by retracing the whole program through
AOT autograd: 1.4-2.2 s for ResNet-50 / ViT-B/16 / BERT-base (bench/NOTES.md note 34), most of a
build whose tactics come from a warm timing cache. An inference graph needs little of that
retrace, so lower() rewrites the graph directly:

- an in-place op becomes its functional overload when no later node can observe the write: the
  written tensor is the output of an earlier op (no input, weight or buffer), no view or alias,
  and neither it nor a view of it is read after the write;
- composite ops become the forms run_decompositions gives (conv2d -> convolution, batch_norm ->
  _native_batch_norm_legit_no_training, layer_norm -> native_layer_norm, transpose -> permute,
  reshape / flatten / unflatten -> view, adaptive average pooling to 1x1 -> mean.dim, ...),
  and a few into ops ingot converts (roll -> slices and cat, addcmul -> mul and add, diff ->
  slices and sub, two-operand einsum -> permutes, views and bmm);
- an in-place op on slices / selects of a tensor made in the graph (Swin's window mask, a bias
  zeroed in part) becomes the view's new value scattered back (slice_scatter / select_scatter)
  into a new version of that tensor, which every later reader reads; declined when a view of it
  is read after a later write (that read would see the write through memory);
- dropout outside training and contiguous go away;
- every other op must be one that ingot's converters take as it is (its schema is in the
  converter registry), a shape computation, or one of export's metadata assertions.

Anything else (an op outside these rules, an in-place write that something observes, a buffer
mutation, a higher-order op) leaves the graph untouched and lower() returns why; the caller then
runs run_decompositions as before. So the fast path only ever takes graphs it can keep exact.
"""

from __future__ import annotations

import math
import operator
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.fx
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind

from ingot import _C
from ingot._frontend import _TRACE_ASSERTS  # skipped by the frontend; kept as they are

_aten = torch.ops.aten
Action = Callable[[torch.fx.Graph, torch.fx.Node, object], None]

_supported_schemas: Optional[frozenset] = None

# Dropout outside training returns its input: its result may share memory with its argument
# although the schema does not say so (and its in-place form writes nothing).
_DROPOUTS = ("dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout")


def _supported() -> frozenset:
    global _supported_schemas
    if _supported_schemas is None:
        _supported_schemas = frozenset(_C.list_supported_ops())
    return _supported_schemas


class PartlyLowered(Exception):
    """A rewrite failed after others had changed the graph: the program must be exported again."""


def lower(ep: ExportedProgram) -> Optional[str]:
    """Rewrites `ep`'s graph in place into the forms above. Returns None when done, or why the
    graph needs run_decompositions (then nothing was changed). Raises PartlyLowered if a
    rewrite fails midway (a fake-tensor run that the plan did not foresee); `ep` is then
    unusable."""
    why = _signature_reason(ep)
    if why:
        return why
    graph = ep.graph_module.graph
    plan = _plan(graph)
    if isinstance(plan, str):
        return plan
    fake_mode = torch._guards.detect_fake_mode(
        [n.meta.get("val") for n in graph.nodes if n.op == "placeholder"])
    if fake_mode is None:
        return "the exported graph carries no fake-tensor metadata"
    try:
        for node, functional in plan:
            # Derived again here: earlier rewrites may have replaced this node's arguments.
            action = _action(node, functional)
            if isinstance(action, str):
                raise PartlyLowered(action)
            if action is not None:
                action(graph, node, fake_mode)
        # The views that writes into views read from (each write takes its view afresh).
        for node in reversed(list(graph.nodes)):
            if node.op == "call_function" and not node.users and _overload_name(node) in _SCATTERS:
                graph.erase_node(node)
        graph.lint()
        ep.graph_module.recompile()
    except PartlyLowered:
        raise
    except Exception as e:  # noqa: BLE001 -- fake-tensor propagation raises many types
        raise PartlyLowered(f"{type(e).__name__}: {e}") from e
    return None


def _signature_reason(ep: ExportedProgram) -> Optional[str]:
    sig = ep.graph_signature
    for s in sig.input_specs:
        if s.kind not in (InputKind.USER_INPUT, InputKind.PARAMETER, InputKind.BUFFER,
                          InputKind.CONSTANT_TENSOR):
            return f"input {s.arg.name} is a {s.kind.name.lower()}"
    for s in sig.output_specs:
        if s.kind != OutputKind.USER_OUTPUT:
            return f"the program has a {s.kind.name.lower()} output ({s.target or s.arg.name})"
    return None


def _plan(graph: torch.fx.Graph):
    """[(node, its functional op)] for every node that changes, or the reason the graph cannot
    be lowered here. Reads the graph only."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    plan: List[Tuple[torch.fx.Node, object]] = []
    versions: Dict[torch.fx.Node, torch.fx.Node] = {}  # for writes into views (_ViewWrite)
    for node in graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        if node.op != "call_function":
            return f"node {node.name} is a {node.op} ({node.target})"
        if node.target is operator.getitem:
            continue
        val = node.meta.get("val")
        if not isinstance(node.target, torch._ops.OpOverload):
            if isinstance(val, (int, bool, torch.SymInt, torch.SymBool)):
                continue  # shape arithmetic
            return f"node {node.name} calls {getattr(node.target, '__name__', node.target)}"
        op = node.target
        if op.namespace != "aten":
            return f"node {node.name} calls {op} (not an ATen op)"
        schema = op._schema
        qualified = schema.name + (f".{schema.overload_name}" if schema.overload_name else "")
        if qualified in _TRACE_ASSERTS or isinstance(val, (int, bool, torch.SymInt)):
            continue
        functional = op
        if _writes_first_argument(op) and not _no_op_in_place(node):
            functional, why = _functional_of(node, order)
            if why is _THROUGH_A_VIEW:
                functional, why = _view_write_of(node, order, versions)
            if why:
                return why
            if isinstance(functional, _ViewWrite):
                plan.append((node, functional))
                continue
        action = _action(node, functional)
        if isinstance(action, str):
            return action
        if action is not None:
            plan.append((node, functional))
    return plan


def _action(node, functional):
    """What to do with `node`, a call of `functional` or of its in-place form."""
    if isinstance(functional, _ViewWrite):
        return functional.act
    action = _rewrite(node, functional)
    if action is None and functional is not node.target:
        action = _retarget(functional, node.args, dict(node.kwargs), check_dtype=True)
    return action


# ---------------------------------------------------------------- in-place ops

def _no_op_in_place(node) -> bool:
    """An in-place op that changes no values: detach_, or dropout outside training (or p == 0)."""
    name = node.target._schema.name.split("::")[-1]
    if name == "detach_":
        return True
    if name.rstrip("_") not in _DROPOUTS:
        return False
    b = _bound(node, node.target)
    return not b["train"] or b["p"] == 0


def _writes_first_argument(op) -> bool:
    args = op._schema.arguments
    return bool(args) and args[0].alias_info is not None and args[0].alias_info.is_write


def _is_alias(node) -> bool:
    """Whether `node`'s result may share memory with one of its arguments."""
    if node.op != "call_function":
        return False
    target = node.target
    if target is operator.getitem:
        return _is_alias(node.args[0])
    if not isinstance(target, torch._ops.OpOverload):
        return False
    if target._schema.name.split("::")[-1] in _DROPOUTS:
        return True
    return any(r.alias_info is not None for r in target._schema.returns)


def _functional_of(node, order) -> Tuple[object, Optional[str]]:
    """The functional overload of in-place `node` if replacing it is unobservable, else a reason."""
    op = node.target
    name = op._schema.name.split("::")[-1]
    if torch.Tag.inplace_view in op.tags:
        return None, f"node {node.name} ({name}) changes a tensor's shape in place"
    if not name.endswith("_") or sum(1 for a in op._schema.arguments if a.alias_info and a.alias_info.is_write) != 1:
        return None, f"node {node.name} ({name}) writes to an argument and has no functional form"
    packet = getattr(_aten, name[:-1], None)
    overload = op._overloadname
    functional = getattr(packet, overload, None) if packet is not None else None
    if functional is None:
        return None, f"node {node.name} ({name}) has no functional overload {name[:-1]}.{overload}"
    written = node.args[0]
    # An earlier in-place op's result is its argument: follow the chain to the tensor itself.
    root = written
    while isinstance(root, torch.fx.Node) and root.op == "call_function" and _writes_first_argument_node(root):
        root = root.args[0]
    if not isinstance(root, torch.fx.Node) or root.op != "call_function":
        return None, f"node {node.name} ({name}) writes to {getattr(root, 'name', root)}, a model input or weight"
    if _is_alias(root):
        return functional, _THROUGH_A_VIEW
    # The tensor, its views and the earlier in-place results on it: nothing may read any of
    # them after the write.
    seen, todo = set(), [root]
    while todo:
        t = todo.pop()
        if t in seen:
            continue
        seen.add(t)
        for u in t.users:
            if u is node:
                continue
            if order[u] > order[node]:
                return None, (f"node {node.name} ({name}) writes to {root.name}, which {u.name} reads "
                              f"afterwards")
            if _is_alias(u):
                todo.append(u)
    return functional, None


# _functional_of's answer for a write into a view: _view_write_of decides.
_THROUGH_A_VIEW = "through a view"

# Views a write may go through, and how their functional scatter puts a new value back:
# slice(x, dim, start, end, step) / select(x, dim, index) / alias(x).
_SCATTERS = {
    "slice.Tensor": _aten.slice_scatter.default,
    "select.int": _aten.select_scatter.default,
    "alias.default": None,
}


def _overload_name(node) -> str:
    t = node.target
    if not isinstance(t, torch._ops.OpOverload):
        return ""
    return t._schema.name.split("::")[-1] + "." + (t._overloadname or "default")


class _ViewWrite:
    """An in-place op on slices / selects of a tensor B made in the graph (Swin's attention mask
    filled a window at a time, a bias zeroed in part), made functional as run_decompositions
    does: the view's new value, scattered back into a new version of B that every later reader
    of B reads. The plan checked that nothing reads a view of B, or the write's own result,
    after a later write to B (those would see the write through memory)."""

    def __init__(self, functional, name, chain, base, versions):
        self.functional = functional  # the op computing the view's new value (None: fill / copy)
        self.name = name
        self.chain = chain  # the views from base to the written tensor, base's first
        self.base = base  # B as exported
        self.versions = versions  # B as exported -> its newest version, shared by B's writes

    def act(self, graph, node, fake_mode):
        chain = self.chain
        base = self.versions.get(self.base, self.base)

        emit = _emitter(graph, node, fake_mode)
        with graph.inserting_before(node):
            # The view of B as it is now (earlier writes replaced B's readers by its newer
            # versions; the view nodes themselves may be older than those writes).
            views = [base]
            for v in chain:
                views.append(views[-1] if v.target is _aten.alias.default
                             else emit(v.target, (views[-1],) + tuple(v.args[1:]), dict(v.kwargs)))
            rest = tuple(node.args[1:])
            if self.name in ("zero_", "fill_") and not isinstance(rest[0] if rest else None, torch.fx.Node):
                value = emit(_aten.full_like.default, (views[-1], rest[0] if rest else 0))
            elif self.name in ("fill_", "copy_"):
                value = emit(_aten.copy.default, (views[-1], rest[0]))
            else:
                value = emit(self.functional, (views[-1],) + rest, dict(node.kwargs))
                if value.meta["val"].dtype != views[-1].meta["val"].dtype:
                    value = emit(_aten._to_copy.default, (value,), {"dtype": views[-1].meta["val"].dtype})
            new = value
            for v, parent in zip(reversed(chain), reversed(views[:-1])):
                scatter = _SCATTERS[_overload_name(v)]
                if scatter is not None:
                    new = emit(scatter, (parent, new) + tuple(v.args[1:]), dict(v.kwargs))
        order = {n: i for i, n in enumerate(graph.nodes)}
        for user in list(base.users):
            if order[user] > order[node]:
                user.replace_input_with(base, new)
        self.versions[self.base] = new
        node.replace_all_uses_with(value)
        graph.erase_node(node)


def _view_write_of(node, order, versions) -> Tuple[object, Optional[str]]:
    """A _ViewWrite for in-place `node` on views of a tensor made in the graph, or a reason."""
    op = node.target
    name = op._schema.name.split("::")[-1]
    if name in ("zero_", "fill_", "copy_"):
        functional = None
    else:
        functional, why = _functional_of_op(node)
        if why:
            return None, why
    t = node.args[0]
    chain = []
    while True:
        while isinstance(t, torch.fx.Node) and _writes_first_argument_node(t):
            t = t.args[0]
        if not isinstance(t, torch.fx.Node) or _overload_name(t) not in _SCATTERS:
            break
        chain.append(t)
        t = t.args[0]
    base = t
    if not chain or not isinstance(base, torch.fx.Node) or base.op != "call_function" or _is_alias(base):
        what = getattr(base, "name", base)
        return None, f"node {node.name} ({name}) writes to {node.args[0].name}, a view of {what} other than slices of a tensor made in the graph"
    if name == "copy_" and (node.kwargs or len(node.args) > 2 and node.args[2]):
        return None, f"node {node.name} (copy_) copies non-blocking"
    # Every write to `base` through anything, and everything aliasing it.
    aliases, todo = [], [base]
    while todo:
        a = todo.pop()
        for u in a.users:
            if _is_alias(u) and u not in aliases:
                aliases.append(u)
                todo.append(u)
    writes = sorted(order[a] for a in aliases if _writes_first_argument_node(a) and not _no_op_in_place(a))
    for a in aliases:
        for u in a.users:
            if _writes_first_argument_node(u) and u.args[0] is a:
                continue  # a later write: it reads the view afresh
            if any(order[a] < w < order[u] for w in writes):
                return None, (f"node {u.name} reads {a.name}, a view of {base.name}, after a write to "
                              f"{base.name} changed it")
    chain.reverse()
    return _ViewWrite(functional, name, chain, base, versions), None


def _functional_of_op(node) -> Tuple[object, Optional[str]]:
    op = node.target
    name = op._schema.name.split("::")[-1]
    packet = getattr(_aten, name[:-1], None)
    functional = getattr(packet, op._overloadname, None) if packet is not None else None
    if functional is None:
        return None, f"node {node.name} ({name}) has no functional overload {name[:-1]}.{op._overloadname}"
    if _rewrite(node, functional) is not None:
        return None, f"node {node.name} ({name}) writes into a view with an op ingot takes only in another form"
    return functional, None


def _writes_first_argument_node(node) -> bool:
    return isinstance(node.target, torch._ops.OpOverload) and _writes_first_argument(node.target)


# ---------------------------------------------------------------- rewrites

def _bound(node, op) -> Dict[str, object]:
    """`node`'s arguments by schema name, defaults filled in."""
    out = {}
    pos = 0
    for a in op._schema.arguments:
        if not a.kwarg_only and pos < len(node.args):
            out[a.name] = node.args[pos]
            pos += 1
        elif a.name in node.kwargs:
            out[a.name] = node.kwargs[a.name]
        elif a.has_default_value():
            out[a.name] = a.default_value
        else:
            out[a.name] = None
    return out


def _val(x):
    return x.meta.get("val") if isinstance(x, torch.fx.Node) else x


def _static_shape(node) -> Optional[List[int]]:
    val = node.meta.get("val")
    if not isinstance(val, torch.Tensor):
        return None
    return list(val.shape)


def _rewrite(node, op):
    """The action that puts a call of functional `op` into ingot's form: None to keep it as it
    is, an action, or the reason the op needs run_decompositions."""
    b = _bound(node, op)
    name = op._schema.name.split("::")[-1]
    key = (name, op._overloadname)
    if key in (("conv1d", "default"), ("conv2d", "default"), ("conv3d", "default")):
        x, w = _val(b["input"]), _val(b["weight"])
        if not isinstance(x, torch.Tensor) or not isinstance(w, torch.Tensor) or x.dim() != w.dim():
            return f"node {node.name} ({name}) has an unbatched input"
        n = w.dim() - 2

        def per_dim(v):
            v = list(v) if isinstance(v, (list, tuple)) else [v]
            return v * n if len(v) == 1 else v
        args = (b["input"], b["weight"], b["bias"], per_dim(b["stride"]), per_dim(b["padding"]),
                per_dim(b["dilation"]), False, [0] * n, b["groups"])
        return _retarget(_aten.convolution.default, args, {})
    if key == ("batch_norm", "default"):
        if b["training"] or b["running_mean"] is None or b["running_var"] is None:
            return f"node {node.name} (batch_norm) normalizes with batch statistics"
        args = (b["input"], b["weight"], b["bias"], b["running_mean"], b["running_var"], b["momentum"], b["eps"])
        return _first_of(_aten._native_batch_norm_legit_no_training.default, args)
    if key == ("layer_norm", "default"):
        args = (b["input"], b["normalized_shape"], b["weight"], b["bias"], b["eps"])
        return _first_of(_aten.native_layer_norm.default, args)
    if key == ("group_norm", "default"):
        x = _val(b["input"])
        n, c = x.shape[0], x.shape[1]
        hw = 1
        for d in x.shape[2:]:
            hw = hw * d
        args = (b["input"], b["weight"], b["bias"], n, c, hw, b["num_groups"], b["eps"])
        return _first_of(_aten.native_group_norm.default, args)
    if key in (("adaptive_avg_pool2d", "default"), ("adaptive_avg_pool3d", "default")):
        size = [int(s) if not isinstance(s, torch.SymInt) else s for s in b["output_size"]]
        if all(isinstance(s, int) and s == 1 for s in size):
            dims = [-1 - i for i in range(len(size))]
            return _retarget(_aten.mean.dim, (b["self"], dims, True), {})
        target = _aten._adaptive_avg_pool2d.default if name.endswith("2d") else _aten._adaptive_avg_pool3d.default
        return _retarget(target, (b["self"], b["output_size"]), {})
    if name.rstrip("_") in _DROPOUTS:
        if b["train"] and b["p"] != 0:
            return f"node {node.name} ({name}) drops values (train=True)"
        return _identity(b[op._schema.arguments[0].name])
    if key == ("pad", "default"):
        if b["mode"] != "constant":
            return f"node {node.name} (pad) pads in mode '{b['mode']}'"
        value = 0.0 if b["value"] is None else b["value"]
        return _retarget(_aten.constant_pad_nd.default, (b["self"], b["pad"], value), {})
    if key in (("min", "other"), ("max", "other")):
        target = _aten.minimum.default if name == "min" else _aten.maximum.default
        return _retarget(target, (b["self"], b["other"]), {})
    if key in (("clamp_min", "default"), ("clamp_max", "default")):
        bounds = (b["min"], None) if name == "clamp_min" else (None, b["max"])
        return _retarget(_aten.clamp.default, (b["self"],) + bounds, {})
    if key in (("where", "ScalarOther"), ("where", "ScalarSelf"), ("masked_fill", "Scalar")):
        out = node.meta.get("val")
        if name == "masked_fill":  # masked_fill(x, mask, v) = where(mask, v, x)
            return _where_with_scalar(b["mask"], b["value"], b["self"], 1, out)
        if op._overloadname == "ScalarOther":
            return _where_with_scalar(b["condition"], b["self"], b["other"], 2, out)
        return _where_with_scalar(b["condition"], b["self"], b["other"], 1, out)
    if key == ("arange", "start"):
        kwargs = {k: b[k] for k in ("dtype", "layout", "device", "pin_memory") if b[k] is not None}
        return _retarget(_aten.arange.start_step, (b["start"], b["end"], 1), kwargs)
    if key == ("lift_fresh_copy", "default"):
        return _retarget(_aten.clone.default, (b["self"],), {})
    if key == ("stack", "default"):
        rank = _val(node).dim()
        return _stack(list(b["tensors"]), b["dim"] % rank)
    if key in (("contiguous", "default"), ("detach_", "default")):
        return _identity(b["self"])
    if key in (("transpose", "int"), ("swapaxes", "default"), ("swapdims", "default")):
        rank = _val(b["self"]).dim()
        if rank == 0:
            return _identity(b["self"])
        first, second = ("axis0", "axis1") if name == "swapaxes" else ("dim0", "dim1")
        d0, d1 = b[first] % rank, b[second] % rank
        perm = list(range(rank))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return _retarget(_aten.permute.default, (b["self"], perm), {})
    if key == ("t", "default"):
        rank = _val(b["self"]).dim()
        if rank < 2:
            return _identity(b["self"])
        return _retarget(_aten.permute.default, (b["self"], [1, 0]), {})
    if key == ("reshape", "default"):
        return _retarget(_aten.view.default, (b["self"], b["shape"]), {})
    if key in (("flatten", "using_ints"), ("unflatten", "int"), ("view_as", "default"), ("reshape_as", "default")):
        shape = _static_shape(node)
        if shape is None or any(isinstance(d, torch.SymInt) for d in shape):
            return f"node {node.name} ({name}) has a dynamic output shape"
        return _retarget(_aten.view.default, (b["self"], shape), {})
    if key == ("expand_as", "default"):
        shape = _static_shape(node)
        if shape is None or any(isinstance(d, torch.SymInt) for d in shape):
            return f"node {node.name} (expand_as) has a dynamic output shape"
        return _retarget(_aten.expand.default, (b["self"], shape), {})
    if name == "to" and op._overloadname in ("dtype", "dtype_layout", "device"):
        x, out = _val(b["self"]), node.meta.get("val")
        if not isinstance(out, torch.Tensor) or out.device != x.device:
            return f"node {node.name} (to.{op._overloadname}) moves a tensor to another device"
        return _retarget(_aten._to_copy.default, (b["self"],), {"dtype": out.dtype})
    if key == ("type_as", "default"):
        return _retarget(_aten._to_copy.default, (b["self"],), {"dtype": node.meta["val"].dtype})
    if key in (("softmax", "int"), ("log_softmax", "int")):
        x = _val(b["self"])
        if b["dtype"] is not None and b["dtype"] != x.dtype:
            return f"node {node.name} ({name}) computes in {b['dtype']} for a {x.dtype} input"
        target = _aten._softmax.default if name == "softmax" else _aten._log_softmax.default
        return _retarget(target, (b["self"], b["dim"], False), {})
    if key == ("unbind", "int"):
        if not all(u.target is operator.getitem and isinstance(u.args[1], int) for u in node.users):
            return f"node {node.name} (unbind) is used other than by indexing"
        return _unbind(b["self"], b["dim"])
    if key == ("chunk", "default"):
        size = _val(b["self"]).shape[b["dim"]]
        if isinstance(size, torch.SymInt):
            return f"node {node.name} (chunk) splits a dynamic dimension"
        return _retarget(_aten.split.Tensor, (b["self"], -(-int(size) // b["chunks"]), b["dim"]), {})
    if key in (("__and__", "Tensor"), ("__or__", "Tensor"), ("__xor__", "Tensor")):
        target = {"__and__": _aten.bitwise_and.Tensor, "__or__": _aten.bitwise_or.Tensor,
                  "__xor__": _aten.bitwise_xor.Tensor}[name]
        return _retarget(target, (b["self"], b["other"]), {})
    if name in ("new_ones", "new_zeros", "ones", "zeros") and op._overloadname == "default":
        out = node.meta.get("val")
        fill = 1 if "ones" in name else 0
        return _retarget(_aten.full.default, (b["size"], fill), {"dtype": out.dtype, "device": out.device})
    if key == ("roll", "default"):
        return _roll(node, b)
    if key == ("addcmul", "default"):
        return _addcmul(b)
    if key == ("diff", "default"):
        return _diff(node, b)
    if key == ("einsum", "default"):
        return _einsum(node, b)
    if str(op._schema) in _supported():
        return None
    return f"node {node.name} calls {op._schema.name}.{op._overloadname}, which ingot converts only in core ATen form"


def _static_sizes(x) -> Optional[List[int]]:
    if not isinstance(x, torch.Tensor) or any(isinstance(d, torch.SymInt) for d in x.shape):
        return None
    return [int(d) for d in x.shape]


def _roll(node, b):
    """roll(x, shifts, dims) -> per dim, cat([x[n - s:], x[:n - s]]) along it; without dims,
    the same on x flattened, viewed back (run_decompositions gathers with computed indices)."""
    shape = _static_sizes(_val(b["self"]))
    if shape is None:
        return f"node {node.name} (roll) rolls a tensor of dynamic shape"
    shifts, dims = list(b["shifts"]), list(b["dims"])
    if any(isinstance(v, torch.SymInt) for v in shifts):
        return f"node {node.name} (roll) has a dynamic shift"
    flat = not dims
    if flat:
        if len(shifts) != 1:
            return f"node {node.name} (roll) has {len(shifts)} shifts and no dims"
        dims = [0]
    elif len(shifts) != len(dims):
        return f"node {node.name} (roll) has {len(shifts)} shifts for {len(dims)} dims"

    def build(emit):
        x = emit(_aten.view.default, (b["self"], [-1])) if flat else b["self"]
        sizes = [math.prod(shape)] if flat else shape
        for shift, dim in zip(shifts, dims):
            dim = dim % len(sizes)
            n = sizes[dim]
            cut = n - shift % n if n else 0
            if cut in (0, n):
                continue
            tail = emit(_aten.slice.Tensor, (x, dim, cut, n))
            head = emit(_aten.slice.Tensor, (x, dim, 0, cut))
            x = emit(_aten.cat.default, ([tail, head], dim))
        if flat:
            x = emit(_aten.view.default, (x, shape))
        return x if x is not b["self"] else emit(_aten.clone.default, (x,))
    return _expand(build)


def _addcmul(b):
    """addcmul(x, t1, t2, value) -> x + t1 * value * t2, as run_decompositions gives it."""
    def build(emit):
        t1 = b["tensor1"] if b["value"] == 1 else emit(_aten.mul.Tensor, (b["tensor1"], b["value"]))
        return emit(_aten.add.Tensor, (b["self"], emit(_aten.mul.Tensor, (t1, b["tensor2"]))))
    return _expand(build)


def _diff(node, b):
    """diff(x, n, dim, prepend, append) -> x cat'ed with prepend / append, then n times
    x[1:] - x[:-1] along dim (slices and a subtraction, as run_decompositions gives it)."""
    x = _val(b["self"])
    if not isinstance(x, torch.Tensor) or x.dtype == torch.bool:
        return f"node {node.name} (diff) differences a bool tensor"
    shape = _static_sizes(x)
    extra = [_val(t) for t in (b["prepend"], b["append"]) if t is not None]
    if shape is None or any(_static_sizes(t) is None for t in extra):
        return f"node {node.name} (diff) has a dynamic shape"
    dim = b["dim"] % len(shape)
    n = shape[dim] + sum(t.shape[dim] for t in extra)

    def build(emit):
        parts = [t for t in (b["prepend"], b["self"], b["append"]) if t is not None]
        y = parts[0] if len(parts) == 1 else emit(_aten.cat.default, (parts, dim))
        size = n
        for _ in range(b["n"]):
            if size == 0:
                break
            hi = emit(_aten.slice.Tensor, (y, dim, 1, size))
            lo = emit(_aten.slice.Tensor, (y, dim, 0, size - 1))
            y = emit(_aten.sub.Tensor, (hi, lo))
            size -= 1
        return y if y is not b["self"] else emit(_aten.clone.default, (y,))
    return _expand(build)


def _emitter(graph, node, fake_mode):
    """emit(target, args, kwargs): adds a call at the graph's insertion point with `node`'s
    metadata (module stack, source) and its own fake value, and returns it."""
    def emit(target, args, kwargs=None):
        new = graph.call_function(target, tuple(args), kwargs or {})
        new.meta = {k: v for k, v in node.meta.items() if k != "val"}
        new.meta["val"] = _fake_run(new, fake_mode)
        return new
    return emit


def _einsum(node, b):
    """einsum of two operands with distinct labels and no ellipsis (MaxViT's attention) -> each
    operand summed over the labels only it has, permuted to [batch, free, contracted] and viewed
    as 3-D, one bmm, viewed back and permuted to the output's labels (run_decompositions does the
    same through unsqueezes)."""
    eq = b["equation"].replace(" ", "")
    operands = list(b["tensors"])
    if "->" not in eq or "." in eq or len(operands) != 2:
        return f"node {node.name} (einsum '{b['equation']}') is not a two-operand einsum with an explicit output"
    lhs, out = eq.split("->")
    ins = lhs.split(",")
    vals = [_val(t) for t in operands]
    shapes = [_static_sizes(v) for v in vals]
    if (len(ins) != 2 or any(s is None for s in shapes) or any(len(l) != len(s) for l, s in zip(ins, shapes))
            or any(len(set(l)) != len(l) for l in ins + [out]) or not set(out) <= set(ins[0] + ins[1])
            or vals[0].dtype != vals[1].dtype):
        return f"node {node.name} (einsum '{b['equation']}') has repeated labels, dynamic shapes or mixed dtypes"
    size = {}
    for labels, shape in zip(ins, shapes):
        for c, n in zip(labels, shape):
            if size.setdefault(c, n) != n:
                return f"node {node.name} (einsum '{b['equation']}') broadcasts label {c}"
    a, bl = ins
    batch = [c for c in out if c in a and c in bl]
    left = [c for c in out if c in a and c not in bl]
    right = [c for c in out if c in bl and c not in a]
    contract = [c for c in a if c in bl and c not in out]

    def prod(labels):
        return math.prod(size[c] for c in labels)

    def build(emit):
        def operand(t, labels, order, dims):
            alone = [i for i, c in enumerate(labels) if c not in order]
            if alone:  # a label only this operand has and the output lacks: summed first
                t = emit(_aten.sum.dim_IntList, (t, alone))
                labels = "".join(c for c in labels if c in order)
            perm = [labels.index(c) for c in order]
            if perm != list(range(len(perm))):
                t = emit(_aten.permute.default, (t, perm))
            if not _val(t).is_contiguous():  # a copy where a view cannot be (ingot drops it)
                t = emit(_aten.clone.default, (t,), {"memory_format": torch.contiguous_format})
            return emit(_aten.view.default, (t, dims))
        x = operand(operands[0], a, batch + left + contract, [prod(batch), prod(left), prod(contract)])
        y = operand(operands[1], bl, batch + contract + right, [prod(batch), prod(contract), prod(right)])
        z = emit(_aten.bmm.default, (x, y))
        now = batch + left + right
        z = emit(_aten.view.default, (z, [size[c] for c in now]))
        perm = [now.index(c) for c in out]
        return z if perm == list(range(len(perm))) else emit(_aten.permute.default, (z, perm))
    return _expand(build)


def _expand(build) -> Action:
    """Replaces `node` by the nodes `build(emit)` creates before it; emit(target, args) adds one
    (with its fake value) and returns it, and build returns the node that takes node's place."""
    def act(graph, node, fake_mode):
        with graph.inserting_before(node):
            out = build(_emitter(graph, node, fake_mode))
        node.replace_all_uses_with(out)
        graph.erase_node(node)
    return act


def _retarget(target, args, kwargs, check_dtype=False) -> Action:
    def act(graph, node, fake_mode):
        node.target = target
        node.args = tuple(args)
        node.kwargs = kwargs
        if check_dtype:
            out = _fake_run(node, fake_mode)
            old = node.meta.get("val")
            if isinstance(out, torch.Tensor) and isinstance(old, torch.Tensor) and out.dtype != old.dtype:
                # An in-place op keeps its first argument's dtype where the functional one
                # promotes: cast back, as the in-place op would have.
                node.meta["val"] = out
                with graph.inserting_after(node):
                    cast = graph.call_function(_aten._to_copy.default, (node,), {"dtype": old.dtype})
                node.replace_all_uses_with(cast, delete_user_cb=lambda u: u is not cast)
                cast.meta = dict(node.meta)
                cast.meta["val"] = old
    return act


def _identity(src) -> Action:
    def act(graph, node, fake_mode):
        node.replace_all_uses_with(src)
        graph.erase_node(node)
    return act


def _where_with_scalar(cond, a, b, scalar_at, out) -> Action:
    """where(cond, a, b) with argument `scalar_at` (1: a, 2: b) a Scalar: that one becomes a
    scalar_tensor of the result's dtype and device, as run_decompositions makes it."""
    def act(graph, node, fake_mode):
        args = [cond, a, b]
        with graph.inserting_before(node):
            st = graph.call_function(_aten.scalar_tensor.default, (args[scalar_at],),
                                     {"dtype": out.dtype, "device": out.device})
            st.meta = {k: v for k, v in node.meta.items() if k != "val"}
            st.meta["val"] = _fake_run(st, fake_mode)
        args[scalar_at] = st
        node.target = _aten.where.self
        node.args = tuple(args)
        node.kwargs = {}
    return act


def _stack(tensors, dim) -> Action:
    """stack(ts, dim) -> cat([unsqueeze(t, dim) for t in ts], dim), as run_decompositions gives it."""
    def act(graph, node, fake_mode):
        parts = []
        with graph.inserting_before(node):
            for t in tensors:
                u = graph.call_function(_aten.unsqueeze.default, (t, dim))
                u.meta = {k: v for k, v in node.meta.items() if k != "val"}
                u.meta["val"] = _fake_run(u, fake_mode)
                parts.append(u)
        node.target = _aten.cat.default
        node.args = (parts, dim)
        node.kwargs = {}
    return act


def _unbind(src, dim) -> Action:
    """unbind(x, dim)[i] -> select(x, dim, i) for each of its (indexing) users."""
    def act(graph, node, fake_mode):
        for user in list(node.users):
            user.target = _aten.select.int
            user.args = (src, dim, user.args[1])
        graph.erase_node(node)
    return act


def _first_of(target, args) -> Action:
    """Replaces `node` by getitem(target(*args), 0) (native norms return saved statistics too)."""
    def act(graph, node, fake_mode):
        with graph.inserting_before(node):
            full = graph.call_function(target, tuple(args), {})
            full.meta = {k: v for k, v in node.meta.items() if k != "val"}
            full.meta["val"] = _fake_run(full, fake_mode)
            first = graph.call_function(operator.getitem, (full, 0))
            first.meta = dict(node.meta)
        node.replace_all_uses_with(first)
        graph.erase_node(node)
    return act


def _fake_run(node, fake_mode):
    def val(x):
        if isinstance(x, torch.fx.Node):
            return x.meta["val"]
        if isinstance(x, (list, tuple)):
            return type(x)(val(y) for y in x)
        return x
    with fake_mode:
        return node.target(*val(node.args), **{k: val(v) for k, v in node.kwargs.items()})


def exported_ops(ep: ExportedProgram) -> Sequence[str]:
    """The ATen ops of `ep`'s graph (for tests and logs)."""
    return sorted({str(n.target) for n in ep.graph.nodes if n.op == "call_function"})
