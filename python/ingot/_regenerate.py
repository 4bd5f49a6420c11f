"""ingot._C.CompileResult -> torch.fx.GraphModule.

The module's graph follows the lowered IR segment by segment: an engine segment becomes one
call of torch.ops.ingot.execute_engine (its plan a uint8 buffer of the module), a PyTorch
segment becomes its ATen calls again. The module takes and returns the same pytree structure
as the original model.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Dict, List

import torch
import torch.fx

from ingot import _runtime
from ingot._errors import Error


_VIEW_AS_RESHAPE = {"aten::view": "aten::reshape", "aten::_unsafe_view": "aten::reshape"}


def resolve_op(op: str) -> torch._ops.OpOverload:
    ns, _, rest = op.partition("::")
    name, _, overload = rest.partition(".")
    try:
        return getattr(getattr(getattr(torch.ops, ns), name), overload or "default")
    except AttributeError:
        raise Error(f"op {op} does not exist in this version of PyTorch") from None


def _attr_name(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^0-9a-zA-Z_]", "_", name)


class ModuleBuilder:
    def __init__(self, result, frontend, input_specs, device: torch.device, profile_dims=None):
        self.r = result
        self.fe = frontend
        self.input_specs = input_specs
        self.profile_dims = profile_dims
        self.device = device
        self.graph = torch.fx.Graph()
        self.root = torch.nn.Module()
        self.env: Dict[str, torch.fx.Node] = {}
        self.sym_nodes: Dict[str, object] = {}
        self.sym_sources: Dict[str, tuple] = {}

    def build(self, in_spec, out_spec, class_name="IngotModule") -> torch.fx.GraphModule:
        r = self.r
        placeholders = []
        for name in r.inputs:
            p = self.graph.placeholder(name)
            self.env[name] = p
            placeholders.append(p)
            for d, text in enumerate(r.value(name)["shape"]):
                if text.isidentifier():
                    self.sym_sources.setdefault(text, (name, d))
        self.graph.call_function(_runtime.check_inputs, (tuple(placeholders), self.input_specs, self.profile_dims))
        engines = r.engines
        for seg in r.segments:
            if seg["kind"] == "engine":
                self._engine(seg, engines[seg["engine"]])
            else:
                for node_name in seg["nodes"]:
                    self._torch_node(node_name)
        outs = tuple(self._value(o) for o in r.outputs)
        self.graph.output(outs)
        if in_spec is not None:
            self.graph._codegen = torch.fx.graph._PyTreeCodeGen(
                torch.fx.graph._PyTreeInfo([p.name for p in placeholders], in_spec, out_spec))
        gm = torch.fx.GraphModule(self.root, self.graph, class_name=class_name)
        gm.graph.lint()
        return gm

    # ------------------------------------------------------------ values

    def _value(self, name: str) -> torch.fx.Node:
        if name in self.env:
            return self.env[name]
        info = self.r.value(name)
        if info["kind"] != "constant":
            raise Error(f"internal: value %{name} is used before it is produced")
        tensor = self.fe.constants.get(name)
        if tensor is None:
            dtype = _runtime._TORCH_DTYPES[info["dtype"]]
            shape = [int(d) for d in info["shape"]]
            data = bytearray(self.r.constant_bytes(name))
            tensor = torch.frombuffer(data, dtype=torch.uint8).view(dtype).reshape(shape).clone() if data else \
                torch.empty(shape, dtype=dtype)
        attr = _attr_name("_ingot_const_", name)
        self.root.register_buffer(attr, tensor.to(self.device) if tensor.device != self.device else tensor)
        node = self.graph.get_attr(attr)
        self.env[name] = node
        return node

    def _sym(self, text: str):
        """An int, or an FX node computing a symbolic expression from the inputs' sizes."""
        try:
            return int(text)
        except ValueError:
            pass
        if text in self.sym_nodes:
            return self.sym_nodes[text]
        node = self._sym_ast(ast.parse(text, mode="eval").body, text)
        self.sym_nodes[text] = node
        return node

    def _sym_ast(self, e, text):
        if isinstance(e, ast.Constant):
            return int(e.value)
        if isinstance(e, ast.Name):
            if e.id not in self.sym_sources:
                raise Error(f"symbol {e.id} in {text} is not a dimension of any input")
            if e.id not in self.sym_nodes:
                src, dim = self.sym_sources[e.id]
                self.sym_nodes[e.id] = self.graph.call_function(torch.ops.aten.sym_size.int, (self.env[src], dim))
            return self.sym_nodes[e.id]
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            return self.graph.call_function(operator.neg, (self._sym_ast(e.operand, text),))
        if isinstance(e, ast.BinOp):
            ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                   ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
            fn = ops.get(type(e.op))
            if fn:
                return self.graph.call_function(fn, (self._sym_ast(e.left, text), self._sym_ast(e.right, text)))
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id in ("max", "min"):
            fn = torch.sym_max if e.func.id == "max" else torch.sym_min
            return self.graph.call_function(fn, tuple(self._sym_ast(a, text) for a in e.args))
        raise Error(f"cannot evaluate symbolic expression {text}")

    def _py_arg(self, tagged):
        kind, payload = tagged
        if kind == "none":
            return None
        if kind == "tensor":
            return self._value(payload)
        if kind == "tensors":
            return [None if p is None else self._value(p) for p in payload]
        if kind == "int":
            return self._sym(payload)
        if kind == "ints":
            return [self._sym(p) for p in payload]
        if kind in ("float", "bool", "str", "floats", "bools"):
            return list(payload) if isinstance(payload, list) else payload
        if kind == "dtype":
            return _runtime._TORCH_DTYPES[payload]
        if kind == "device":
            return torch.device(payload)
        if kind == "enum":
            return getattr(torch, payload.replace("torch.", ""))
        raise Error(f"internal: unknown argument kind {kind}")

    # ------------------------------------------------------------ segments

    def _engine(self, seg, engine):
        attr = _attr_name("_ingot_engine_", engine["name"])
        # The plan tensor itself, which owns the plan's bytes (no copy: 170 MB for ViT-B/16 in
        # fp16). Nothing writes into a plan: .to() / save / load make new tensors.
        plan = engine["plan"]
        self.root.register_buffer(attr, plan)
        plan_node = self.graph.get_attr(attr)
        inputs = [self._value(v) for v in seg["inputs"]]
        call = self.graph.call_function(torch.ops.ingot.execute_engine.default,
                                        (inputs, plan_node, engine["signature"]))
        for i, out in enumerate(seg["outputs"]):
            self.env[out] = self.graph.call_function(operator.getitem, (call, i))

    def _torch_node(self, node_name: str):
        info = self.r.node(node_name)
        # Lowering drops copies (clone, contiguous) that made a view's input contiguous; in
        # PyTorch the view must then be a reshape, which copies only when it has to.
        op = _VIEW_AS_RESHAPE.get(info["op"], info["op"])
        target = resolve_op(op)
        schema = target._schema
        args, kwargs = [], {}
        for a, tagged in zip(schema.arguments, info["args"]):
            v = self._py_arg(tagged)
            if a.kwarg_only:
                kwargs[a.name] = v
            else:
                args.append(v)
        call = self.graph.call_function(target, tuple(args), kwargs)
        outs = info["outputs"]
        multi = len(schema.returns) != 1 or str(schema.returns[0].type).startswith("List")
        if not multi:
            self.env[outs[0]] = call
            return
        for i, out in enumerate(outs):
            self.env[out] = self.graph.call_function(operator.getitem, (call, i))
