"""torch.export ExportedProgram -> ingot IR graph (ingot._C.Graph).

Every FX node becomes one IR node named like the FX node, with its arguments in schema order
(defaults filled in) and its output types from the node's FakeTensor metadata. Parameters,
buffers and lifted constants become IR constants that borrow the tensors' memory (host
memory: weights on another device are copied to the host once, for building). Symbolic
integers (SymInt arguments, sym_size nodes, arithmetic on them) become symbolic expressions.
"""

from __future__ import annotations

import operator
from typing import Any, Dict, List, Tuple

import sympy
import torch
from torch.export import ExportedProgram

from ingot import _C
from ingot._errors import Error

_DTYPE_NAMES = {
    torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float64: "float64",
    torch.int8: "int8", torch.uint8: "uint8", torch.int16: "int16", torch.int32: "int32", torch.int64: "int64",
    torch.bool: "bool",
}


# Assertions that torch.export inserts about metadata it already traced (dtypes, devices, symbol
# ranges). They produce nothing; the compiled module checks its inputs itself.
_TRACE_ASSERTS = {
    "aten::_assert_tensor_metadata", "aten::_assert_scalar", "aten::_assert_async", "aten::_assert_async.msg",
    "aten::sym_constrain_range", "aten::sym_constrain_range_for_size", "aten::_functional_assert_async.msg",
    "aten::_functional_sym_constrain_range", "aten::_functional_sym_constrain_range_for_size",
}


def dtype_name(dt: torch.dtype) -> str:
    return _DTYPE_NAMES.get(dt, "opaque")


# ---------------------------------------------------------------- symbolic expressions

def sym_text(x) -> str:
    """Text of an int or SymInt in ingot's symbolic expression grammar."""
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, int):
        return str(x)
    if isinstance(x, torch.SymInt):
        return _sympy_text(x.node.expr)
    if isinstance(x, sympy.Basic):
        return _sympy_text(x)
    raise Error(f"expected an int or SymInt, got {type(x).__name__} {x!r}")


def _sympy_text(e) -> str:
    from torch.utils._sympy import functions as F

    if isinstance(e, sympy.Integer):
        return str(int(e))
    if isinstance(e, sympy.Symbol):
        return e.name
    if isinstance(e, sympy.Add):
        return "(" + " + ".join(_sympy_text(a) for a in e.args) + ")"
    if isinstance(e, sympy.Mul):
        return "(" + "*".join(_sympy_text(a) for a in e.args) + ")"
    if isinstance(e, sympy.Pow) and isinstance(e.exp, sympy.Integer) and int(e.exp) > 0:
        return "(" + "*".join([_sympy_text(e.base)] * int(e.exp)) + ")"
    if isinstance(e, (F.FloorDiv, F.CleanDiv)):
        return f"(({_sympy_text(e.args[0])}) // ({_sympy_text(e.args[1])}))"
    if isinstance(e, (F.Mod, F.PythonMod)):
        return f"(({_sympy_text(e.args[0])}) % ({_sympy_text(e.args[1])}))"
    if isinstance(e, F.ModularIndexing):
        a, b, c = (_sympy_text(x) for x in e.args)
        return f"((({a}) // ({b})) % ({c}))"
    if type(e).__name__ == "Max":
        return _nary("max", e.args)
    if type(e).__name__ == "Min":
        return _nary("min", e.args)
    if isinstance(e, F.CeilToInt) or isinstance(e, F.FloorToInt):
        raise Error(f"symbolic expression {e} uses float arithmetic, which ingot does not support")
    raise Error(f"symbolic expression {e} ({type(e).__name__}) is not supported by ingot")


def _nary(fn: str, args) -> str:
    texts = [_sympy_text(a) for a in args]
    out = texts[0]
    for t in texts[1:]:
        out = f"{fn}({out}, {t})"
    return out


# ---------------------------------------------------------------- graph building

def _source(node: torch.fx.Node) -> str:
    stack = node.meta.get("nn_module_stack")
    if stack:
        path = list(stack.values())[-1][0]
        return str(path)
    return ""


def _out_types(node: torch.fx.Node) -> List[Tuple[str, List[str]]]:
    val = node.meta.get("val")
    vals = list(val) if isinstance(val, (list, tuple)) else [val]
    out = []
    for v in vals:
        if v is None:
            # An output that is never materialized (e.g. an optional gradient slot): a scalar
            # placeholder keeps the output count; nothing may read it.
            out.append(("opaque", []))
            continue
        if not isinstance(v, torch.Tensor):
            raise Error(f"node %{node.name} ({node.target}) produces {type(v).__name__}, not a tensor")
        out.append((dtype_name(v.dtype), [sym_text(d) for d in v.shape]))
    return out


class GraphBuilder:
    def __init__(self, ep: ExportedProgram):
        self.ep = ep
        self.graph = _C.Graph()
        self.env: Dict[torch.fx.Node, Any] = {}
        self.keepalive: List[torch.Tensor] = []  # host copies of weights, alive while compiling
        self.constants: Dict[str, torch.Tensor] = {}  # IR constant name -> tensor (for PyTorch blocks)
        self.user_inputs: List[str] = []
        self.input_meta: List[torch.Tensor] = []

    def build(self):
        ep = self.ep
        for sym, vr in ep.range_constraints.items():
            upper = vr.upper
            hi = None if (upper is sympy.oo or upper == int_oo()) else int(upper)
            self.graph.add_symbol(str(sym), int(vr.lower), hi)
        sig = ep.graph_signature
        state = dict(ep.state_dict)
        state.update(ep.constants)
        to_state = {}
        to_state.update(sig.inputs_to_parameters)
        to_state.update(sig.inputs_to_buffers)
        to_state.update(sig.inputs_to_lifted_tensor_constants)
        for node in ep.graph.nodes:
            if node.op == "placeholder":
                if node.name in to_state:
                    self._constant(node, state[to_state[node.name]])
                else:
                    self._input(node)
            elif node.op == "call_function":
                self._call(node)
            elif node.op == "output":
                self._output(node)
            else:
                raise Error(f"node %{node.name}: FX op '{node.op}' ({node.target}) is not supported by ingot")
        return self.graph

    def _input(self, node):
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            raise Error(f"model input '{node.name}' is {type(val).__name__}; ingot compiles tensor inputs only")
        name = self.graph.add_input(node.name, dtype_name(val.dtype), [sym_text(d) for d in val.shape])
        self.env[node] = name
        self.user_inputs.append(name)
        self.input_meta.append(val)

    def _constant(self, node, tensor: torch.Tensor):
        if not isinstance(tensor, torch.Tensor):
            raise Error(f"constant '{node.name}' is a {type(tensor).__name__}, not a tensor")
        t = tensor.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        t = t.contiguous()
        self.keepalive.append(t)
        name = self.graph.add_constant(node.name, dtype_name(t.dtype), list(t.shape), t.data_ptr(), t)
        self.env[node] = name
        self.constants[name] = tensor

    def _call(self, node):
        target = node.target
        if target is operator.getitem:
            base = self.env[node.args[0]]
            if not isinstance(base, list):
                raise Error(f"node %{node.name}: getitem on a non-tuple value")
            self.env[node] = base[node.args[1]]
            return
        val = node.meta.get("val")
        if isinstance(val, (torch.SymInt, int)) and not isinstance(val, bool):
            # Integer arithmetic on shapes (sym_size, operator.mul, ...): its value is an expression.
            self.env[node] = ("symint", sym_text(val))
            return
        if isinstance(val, (torch.SymBool, bool)) and not isinstance(target, torch._ops.OpOverload):
            # A shape condition (operator.eq on sizes) that only a runtime assertion reads; the
            # assertions were checked over the dynamic ranges when exporting.
            self.env[node] = ("symbool", str(val))
            return
        if not isinstance(target, torch._ops.OpOverload):
            name = getattr(target, "__name__", str(target))
            raise Error(f"node %{node.name} calls {name}, which is not an ATen op; ingot cannot represent it")
        schema = target._schema
        op = schema.name + (f".{schema.overload_name}" if schema.overload_name else "")
        if op in _TRACE_ASSERTS:
            return
        if target is torch.ops.aten.as_strided.default and self._as_strided(node):
            return
        args = self._args(node, schema)
        names = self.graph.add_node(op, str(schema), args, _out_types(node), node.name, _source(node))
        multi = len(schema.returns) != 1 or str(schema.returns[0].type).startswith("List")
        self.env[node] = list(names) if multi else names[0]

    def _as_strided(self, node) -> bool:
        """as_strided reads the input's storage, which an engine does not keep in torch's layout:
        with static sizes and strides, the element each output reads is known at compile time,
        so the node becomes reshape(-1) -> index_select(constant indices) -> reshape. Returns
        False (the node stays as it is, and runs in PyTorch) when that is not possible."""
        x, size, stride = node.args[0], node.args[1], node.args[2]
        offset = node.args[3] if len(node.args) > 3 else node.kwargs.get("storage_offset")
        xv = x.meta.get("val") if isinstance(x, torch.fx.Node) else None
        static = lambda seq: all(isinstance(d, int) for d in seq)  # noqa: E731
        if not isinstance(xv, torch.Tensor) or not static(xv.shape) or not static(xv.stride()) \
                or not isinstance(xv.storage_offset(), int) or not static(size) or not static(stride) \
                or not (offset is None or isinstance(offset, int)) or xv.numel() == 0:
            return False
        offset = xv.storage_offset() if offset is None else offset
        # Storage positions -> the logical (row-major) index of the element of x stored there.
        def span(shape, strides, off):
            return off + sum((n - 1) * st for n, st in zip(shape, strides)) + 1
        storage = torch.full((max(span(xv.shape, xv.stride(), xv.storage_offset()), span(size, stride, offset)),), -1,
                             dtype=torch.int64)
        torch.as_strided(storage, xv.shape, xv.stride(), xv.storage_offset()).copy_(
            torch.arange(xv.numel(), dtype=torch.int64).reshape(xv.shape))
        index = torch.as_strided(storage, size, stride, offset).reshape(-1).clone()
        if index.numel() and int(index.min()) < 0:
            return False  # reads storage outside x's elements
        source = _source(node)
        dt = dtype_name(xv.dtype)
        index_name = self.graph.add_constant(node.name + "_source_index", dtype_name(torch.int64), [index.numel()],
                                             index.data_ptr(), index)
        self.keepalive.append(index)
        self.constants[index_name] = index
        aten = torch.ops.aten
        flat = self.graph.add_node("aten::reshape", str(aten.reshape.default._schema),
                                   [("tensor", self.env[x]), ("ints", [str(xv.numel())])],
                                   [(dt, [str(xv.numel())])], node.name + "_flat", source)[0]
        picked = self.graph.add_node("aten::index_select", str(aten.index_select.default._schema),
                                     [("tensor", flat), ("int", "0"), ("tensor", index_name)],
                                     [(dt, [str(index.numel())])], node.name + "_pick", source)[0]
        self.env[node] = self.graph.add_node("aten::reshape", str(aten.reshape.default._schema),
                                             [("tensor", picked), ("ints", [str(d) for d in size])],
                                             _out_types(node), node.name, source)[0]
        return True

    def _args(self, node, schema) -> list:
        out = []
        pos = 0
        for a in schema.arguments:
            if not a.kwarg_only and pos < len(node.args):
                v = node.args[pos]
                pos += 1
            elif a.name in node.kwargs:
                v = node.kwargs[a.name]
            elif a.has_default_value():
                v = a.default_value
            else:
                raise Error(f"node %{node.name} ({schema.name}): argument '{a.name}' is missing")
            out.append(self._arg(node, a, v))
        return out

    def _arg(self, node, a, v):
        t = str(a.type)
        if v is None:
            return ("none", None)
        if isinstance(v, torch.fx.Node):
            got = self.env[v]
            if isinstance(got, tuple) and got[0] == "symint":
                return ("int", got[1])
            if isinstance(got, list):
                raise Error(f"node %{node.name}: argument '{a.name}' takes a tuple of tensors")
            return ("tensor", got)
        if isinstance(v, torch.dtype):
            return ("dtype", dtype_name(v) if v in _DTYPE_NAMES else str(v).replace("torch.", ""))
        if isinstance(v, (torch.layout, torch.memory_format)):
            return ("enum", str(v))
        if isinstance(v, torch.device):
            return ("device", str(v))
        if isinstance(v, bool):
            return ("bool", v)
        if isinstance(v, (int, torch.SymInt)):
            if t in ("float", "Optional[float]"):
                return ("float", float(v))
            if t.startswith("List") or t.startswith("Optional[List"):
                return ("ints", [sym_text(v)])
            return ("int", sym_text(v))
        if isinstance(v, float):
            return ("float", v)
        if isinstance(v, str):
            return ("str", v)
        if isinstance(v, (list, tuple)):
            if "Tensor" in t:
                items = []
                for x in v:
                    if x is None:
                        items.append(None)
                    else:
                        got = self.env[x]
                        items.append(got)
                return ("tensors", items)
            if all(isinstance(x, bool) for x in v) and v:
                return ("bools", list(v))
            if all(isinstance(x, (int, torch.SymInt, torch.fx.Node)) and not isinstance(x, bool) for x in v):
                return ("ints", [self._int_text(node, x) for x in v])
            if all(isinstance(x, (int, float)) for x in v):
                return ("floats", [float(x) for x in v])
        if isinstance(v, torch.SymFloat) or isinstance(v, torch.SymBool):
            raise Error(f"node %{node.name}: symbolic {type(v).__name__} argument '{a.name}' is not supported")
        raise Error(f"node %{node.name}: cannot represent argument '{a.name}' = {v!r} ({type(v).__name__})")

    def _int_text(self, node, x) -> str:
        if isinstance(x, torch.fx.Node):
            got = self.env[x]
            if isinstance(got, tuple) and got[0] == "symint":
                return got[1]
            raise Error(f"node %{node.name}: a tensor appears in an int list")
        return sym_text(x)

    def _output(self, node):
        outs = node.args[0]
        flat = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        self.outputs = []
        for o in flat:
            if not isinstance(o, torch.fx.Node):
                raise Error(f"model output {o!r} is not a tensor; ingot compiles tensor outputs only")
            got = self.env[o]
            if not isinstance(got, str):
                raise Error(f"model output %{o.name} is not a tensor")
            self.graph.add_output(got)
            self.outputs.append(got)


def int_oo():
    try:
        from torch.utils._sympy.numbers import int_oo as _int_oo
        return _int_oo
    except ImportError:  # older torch
        return sympy.oo
